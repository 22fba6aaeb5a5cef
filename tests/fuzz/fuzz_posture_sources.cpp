// Fuzzes the parsers of the system files posture rules read (agent/posture/sources.h): the
// mount table, /proc/modules, modprobe configuration, modules.dep and passwd/group. Any bytes
// parse without crashing; what they return keeps its invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/posture/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (const vigil::posture::MountEntry& m : vigil::posture::ParseMounts(text)) {
    if (m.line == 0 || m.line > lines || m.mount_point.empty()) std::abort();
  }
  for (const std::string& m : vigil::posture::ParseProcModules(text)) {
    if (m.empty() || m.find('-') != std::string::npos) std::abort();
  }
  vigil::posture::ModprobeConfig config;
  vigil::posture::ParseModprobeConf(text, &config);
  for (const auto& [mod, cmd] : config.install) {
    if (mod.empty() || cmd.empty()) std::abort();
  }
  for (const std::string& m : vigil::posture::ParseModuleList(text)) {
    if (m.empty()) std::abort();
  }
  for (const auto& [id, name] : vigil::posture::ParseIdNames(text)) {
    if (name.empty()) std::abort();
  }
  return 0;
}
