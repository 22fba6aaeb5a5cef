#include "agent/posture/sources.h"

#include <charconv>

namespace vigil::posture {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string_view oct = s.substr(i + 1, 3);
      bool ok = oct.size() == 3;
      for (char c : oct) ok = ok && c >= '0' && c <= '7';
      if (ok) {
        out.push_back(static_cast<char>(((oct[0] - '0') << 6) | ((oct[1] - '0') << 3) | (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// The module name of a path in modules.dep / modules.builtin: the file name before ".ko".
std::string ModuleFromPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t ko = base.find(".ko");
  if (ko == std::string_view::npos || ko == 0) return "";
  return ModuleKey(base.substr(0, ko));
}

// The length of the well-formed UTF-8 sequence at text[i], or 0.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > text.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string ToValidUtf8(std::string_view text) {
  if (FirstInvalidUtf8(text) == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string ModuleKey(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

std::vector<MountEntry> ParseMounts(std::string_view text) {
  std::vector<MountEntry> out;
  ForEachLine(text, [&](std::string_view line, size_t number) {
    const auto f = Fields(line);
    if (f.size() < 4 || f[0].starts_with('#')) return;
    MountEntry e;
    e.device = Unescape(f[0]);
    e.mount_point = Unescape(f[1]);
    e.type = Unescape(f[2]);
    std::string_view opts = f[3];
    while (!opts.empty()) {
      const size_t comma = opts.find(',');
      if (comma != 0) e.options.push_back(Unescape(opts.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      opts.remove_prefix(comma + 1);
    }
    e.line = number;
    out.push_back(std::move(e));
  });
  return out;
}

std::set<std::string> ParseProcModules(std::string_view text) {
  std::set<std::string> out;
  ForEachLine(text, [&](std::string_view line, size_t) {
    const auto f = Fields(line);
    if (!f.empty()) out.insert(ModuleKey(f[0]));
  });
  return out;
}

void ParseModprobeConf(std::string_view text, ModprobeConfig* into) {
  // Lines ending in '\' continue on the next line (modprobe.d(5)).
  std::string joined;
  ForEachLine(text, [&](std::string_view line, size_t) {
    if (!line.empty() && line.back() == '\\') {
      joined.append(line.substr(0, line.size() - 1));
      joined.push_back(' ');
      return;
    }
    joined.append(line);
    const auto f = Fields(joined);
    if (f.size() >= 2 && !f[0].starts_with('#')) {
      if (f[0] == "blacklist") {
        into->blacklist.insert(ModuleKey(f[1]));
      } else if (f[0] == "install" && f.size() >= 3) {
        const size_t at = static_cast<size_t>(f[2].data() - joined.data());
        std::string cmd = joined.substr(at);
        while (!cmd.empty() && (cmd.back() == ' ' || cmd.back() == '\t')) cmd.pop_back();
        // The last `install` line for a module is the one modprobe uses.
        into->install[ModuleKey(f[1])] = std::move(cmd);
      }
    }
    joined.clear();
  });
}

std::set<std::string> ParseModuleList(std::string_view text) {
  std::set<std::string> out;
  ForEachLine(text, [&](std::string_view line, size_t) {
    const size_t colon = line.find(':');
    std::string_view path = line.substr(0, colon);
    while (!path.empty() && (path.back() == ' ' || path.back() == '\t')) path.remove_suffix(1);
    std::string name = ModuleFromPath(path);
    if (!name.empty()) out.insert(std::move(name));
  });
  return out;
}

std::map<uint32_t, std::string> ParseIdNames(std::string_view text) {
  std::map<uint32_t, std::string> out;
  ForEachLine(text, [&](std::string_view line, size_t) {
    std::string_view parts[3];
    std::string_view rest = line;
    for (int i = 0; i < 3; ++i) {
      const size_t colon = rest.find(':');
      if (colon == std::string_view::npos) {
        if (i < 2) return;
        parts[i] = rest;
        rest = {};
      } else {
        parts[i] = rest.substr(0, colon);
        rest.remove_prefix(colon + 1);
      }
    }
    if (parts[0].empty() || parts[0].starts_with('#') || parts[0].starts_with('+') || parts[0].starts_with('-')) return;
    uint32_t id = 0;
    auto [p, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), id);
    if (ec != std::errc() || p != parts[2].data() + parts[2].size() || parts[2].empty()) return;
    out.emplace(id, std::string(parts[0]));  // the first name for an id wins, as getpwuid does
  });
  return out;
}

}  // namespace vigil::posture
