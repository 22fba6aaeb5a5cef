// Parsers of the system files posture rules read: the mount table, /proc/modules, modprobe
// configuration, modules.dep and modules.builtin, and the names in /etc/passwd and
// /etc/group. Pure functions over text (no file access), so that they are tested and fuzzed
// alone (tests/fuzz/fuzz_posture_sources.cpp). Lines that do not have the expected form are
// skipped; nothing here fails.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vigil::posture {

// Calls fn(line, number) for every line of `text` (without its '\n' or a '\r' before it),
// numbered from 1. An fn returning bool stops the walk by returning false; ForEachLine then
// returns false.
template <typename Fn>
bool ForEachLine(std::string_view text, Fn&& fn) {
  size_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if constexpr (std::is_void_v<std::invoke_result_t<Fn&, std::string_view, size_t>>) {
      fn(line, number);
    } else if (!fn(line, number)) {
      return false;
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return true;
}

// One line of /proc/self/mounts (fstab(5) form: device mountpoint type options dump pass),
// octal escapes (\040 for a space) decoded.
struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string type;
  std::vector<std::string> options;
  size_t line = 0;
};
std::vector<MountEntry> ParseMounts(std::string_view text);

// The module names of /proc/modules (first column), '-' written as '_'.
std::set<std::string> ParseProcModules(std::string_view text);

// modprobe.d(5): what the configuration says about modules ('-' written as '_').
struct ModprobeConfig {
  std::map<std::string, std::string> install;  // module -> command of its `install` line
  std::set<std::string> blacklist;
};
void ParseModprobeConf(std::string_view text, ModprobeConfig* into);

// Module names ('-' written as '_') of modules.dep ("kernel/fs/udf/udf.ko.xz: deps") or
// modules.builtin ("kernel/fs/udf/udf.ko") lines.
std::set<std::string> ParseModuleList(std::string_view text);

// The name for each id in a passwd(5) or group(5) file (first and third fields).
std::map<uint32_t, std::string> ParseIdNames(std::string_view text);

// The offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF included), or npos when the text is valid.
size_t FirstInvalidUtf8(std::string_view text);
// The text with every ill-formed byte replaced by U+FFFD, so that it can go into JSON.
std::string ToValidUtf8(std::string_view text);

// Normalises a module name: '-' becomes '_' (the kernel treats them alike).
std::string ModuleKey(std::string_view name);

}  // namespace vigil::posture
