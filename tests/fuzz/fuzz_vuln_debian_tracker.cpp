// Fuzzes the Debian security tracker parser (hub/vuln/parse.h): any bytes yield advisories and
// errors or a Status, never a crash or exception. Every advisory comes from the tracker, has an
// id, and only Debian ecosystems with a release number.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "hub/vuln/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  auto advs = vigil::hub::vuln::ParseDebianTracker(text, "tracker.json", &errors);
  if (!advs.ok()) return 0;
  for (const std::string& e : errors) {
    if (e.rfind("tracker.json: ", 0) != 0) std::abort();
  }
  for (const auto& a : *advs) {
    if (a.id.empty() || a.source != "debian-tracker") std::abort();
    for (const auto& entry : a.affected) {
      if (entry.ecosystem.rfind("Debian:", 0) != 0) std::abort();
      (void)vigil::hub::vuln::Evaluate(entry, "1.0-1");
    }
  }
  return 0;
}
