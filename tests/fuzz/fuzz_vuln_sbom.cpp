// Fuzzes the CycloneDX SBoM adapter (hub/vuln/sbom.h): any bytes yield packages or a Status,
// never a crash or exception; every package has a name and a version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hub/vuln/sbom.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sbom = vigil::hub::vuln::ParseCycloneDx(text, "sbom.json");
  if (!sbom.ok()) return 0;
  for (const auto& p : sbom->packages) {
    if (p.name.empty() || p.version.empty()) std::abort();
  }
  (void)vigil::hub::vuln::ParsePurl(text);
  return 0;
}
