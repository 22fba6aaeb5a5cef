// Fuzzes the os-release parser (agent/sbom/os_release.h): none may crash; issues name lines
// in order, inside the input; the result serialises as JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/sbom/export.h"
#include "agent/sbom/os_release.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = vigil::sbom::ParseOsRelease(in, "os-release");
  size_t lines = 1;
  for (char c : in) lines += c == '\n';
  size_t last = 0;
  for (const vigil::sbom::ParseIssue& i : r.issues) {
    if (i.line == 0 || i.line > lines || i.line <= last || i.reason.empty()) std::abort();
    last = i.line;
  }
  (void)vigil::sbom::OsReleaseJson(r.os).dump(-1, ' ', false, vigil::Json::error_handler_t::replace);
  return 0;
}
