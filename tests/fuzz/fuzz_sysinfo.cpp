// Fuzzes the system_info parsers (agent/collectors/system_info/sysinfo_parse.h) with the same
// input: none may crash, and every string they return must serialise as JSON (valid UTF-8)
// and respect the length limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/collectors/system_info/sysinfo_parse.h"

namespace {

using namespace vigil::system_info;

void CheckString(const std::string& s) {
  if (s.size() > kMaxValueBytes) std::abort();
  (void)nlohmann::json(s).dump();  // throws, and so aborts, on invalid UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  CheckString(SanitizeText(in));
  const std::string small = SanitizeText(in, 7);
  if (small.size() > 7) std::abort();
  (void)nlohmann::json(small).dump();

  for (const auto& [key, value] : ParseOsRelease(in)) {
    (void)nlohmann::json(key).dump();
    CheckString(value);
  }

  const CpuInfo cpu = ParseCpuInfo(in);
  CheckString(cpu.model);
  CheckString(cpu.vendor);
  CheckString(cpu.hardware);
  CheckString(cpu.board_model);
  if (cpu.count < 0) std::abort();

  if (auto n = ParseCpuListCount(in); n && *n <= 0) std::abort();
  (void)ParseMemTotalBytes(in);
  if (auto b = ParseBootTime(in); b && *b < 0) std::abort();

  const auto list = ParseNulList(in, 16);
  if (list.size() > 16) std::abort();
  for (const std::string& s : list) {
    if (s.empty()) std::abort();
    CheckString(s);
    CheckString(CompatibleVendor(s));
  }

  const std::string mac = NormalizeMac(in);
  if (!mac.empty()) {
    if ((mac.size() + 1) % 3 != 0) std::abort();
    for (size_t i = 0; i < mac.size(); ++i) {
      const char c = mac[i];
      const bool ok = (i % 3 == 2) ? c == ':' : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
      if (!ok) std::abort();
    }
  }
  (void)ParseDecimal(in);
  return 0;
}
