// Fuzzes one version order (hub/vuln/version.h), chosen at build time by VIGIL_FUZZ_SCHEME
// (kDpkg, kApk, kRpm: fuzz_vuln_dpkg_version, fuzz_vuln_apk_version, fuzz_vuln_rpm_version).
// The input is up to three versions separated by newlines. Any input: no crash; compare(a, a)
// is 0; compare(a, b) == -compare(b, a); and for dpkg and apk, on versions that validate,
// a <= b and b <= c imply a <= c.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "hub/vuln/version.h"

using vigil::hub::vuln::CompareVersions;
using vigil::hub::vuln::VersionScheme;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr VersionScheme kScheme = VersionScheme::VIGIL_FUZZ_SCHEME;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> v;
  while (v.size() < 2) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    v.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  v.push_back(text);
  bool all_valid = true;
  for (std::string_view a : v) {
    all_valid = vigil::hub::vuln::ValidateVersion(kScheme, a).ok() && all_valid;
    if (CompareVersions(kScheme, a, a) != 0) std::abort();
    for (std::string_view b : v) {
      int ab = CompareVersions(kScheme, a, b), ba = CompareVersions(kScheme, b, a);
      if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0)) std::abort();
    }
  }
  if (kScheme != VersionScheme::kRpm && all_valid && v.size() == 3) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 3; ++k) {
          if (CompareVersions(kScheme, v[i], v[j]) <= 0 && CompareVersions(kScheme, v[j], v[k]) <= 0 &&
              CompareVersions(kScheme, v[i], v[k]) > 0) {
            std::abort();
          }
        }
      }
    }
  }
  return 0;
}
