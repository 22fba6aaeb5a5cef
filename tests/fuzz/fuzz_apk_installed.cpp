// Fuzzes the apk installed-database parser (agent/sbom/apk.h): none may crash; every package
// kept has a name and version without spaces; issues name lines inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/sbom/apk.h"
#include "agent/sbom/export.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto p = vigil::sbom::ParseApkInstalled(in, "installed");
  size_t lines = 1;
  for (char c : in) lines += c == '\n';
  // Issues come as they are found: a bad line at once, a bad stanza at its end (naming its
  // first line), so they are not in line order; each names a line of the input.
  for (const vigil::sbom::ParseIssue& i : p.issues)
    if (i.line == 0 || i.line > lines || i.reason.empty()) std::abort();
  for (const vigil::sbom::Package& pkg : p.packages) {
    if (pkg.name.empty() || pkg.version.empty() || pkg.name.find(' ') != std::string::npos) std::abort();
    (void)vigil::sbom::PackageJson(pkg, {}).dump(-1, ' ', false, vigil::Json::error_handler_t::replace);
  }
  return 0;
}
