// Fuzzes the OSV record parser (hub/vuln/parse.h): any bytes yield an Advisory or a Status,
// never a crash, hang or exception. A record that parses keeps only normalised ecosystems, and
// each affected entry survives the store's JSON encoding unchanged and evaluates any version.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hub/vuln/advisory.h"
#include "hub/vuln/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto adv = vigil::hub::vuln::ParseOsv(text, "fuzz.json");
  if (!adv.ok()) {
    if (adv.status().message().find("fuzz.json") == std::string_view::npos) std::abort();  // errors name the file
    return 0;
  }
  if (adv->id.empty()) std::abort();
  for (const auto& a : adv->affected) {
    if (vigil::hub::vuln::Ecosystem(a.ecosystem) != a.ecosystem) std::abort();  // normalised, stays so
    auto back = vigil::hub::vuln::Affected::FromJson(a.ecosystem, a.package, a.ToJson());
    if (!back.ok() || !(*back == a)) std::abort();
    for (const auto& in : a.intervals) (void)vigil::hub::vuln::Evaluate(a, in.introduced);
    (void)vigil::hub::vuln::Evaluate(a, "1.0-1");
  }
  return 0;
}
