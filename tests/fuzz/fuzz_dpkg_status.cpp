// Fuzzes the dpkg and opkg status parsers (agent/sbom/dpkg.h): none may crash; every package
// kept has a name and version without spaces; issues name lines inside the input;
// the packages' purls and the documents built from them serialise as JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/sbom/dpkg.h"
#include "agent/sbom/export.h"

namespace {

void CheckDpkgParsed(const vigil::sbom::ParsedPackages& p, std::string_view in) {
  size_t lines = 1;
  for (char c : in) lines += c == '\n';
  // Issues come as they are found: a bad line at once, a bad stanza at its end (naming its
  // first line), so they are not in line order; each names a line of the input.
  for (const vigil::sbom::ParseIssue& i : p.issues)
    if (i.line == 0 || i.line > lines || i.reason.empty()) std::abort();
  for (const vigil::sbom::Package& pkg : p.packages) {
    if (pkg.name.empty() || pkg.version.empty() || pkg.source_name.empty() || pkg.source_version.empty()) std::abort();
    if (pkg.name.find(' ') != std::string::npos || pkg.version.find(' ') != std::string::npos) std::abort();
    if (vigil::sbom::Purl(pkg, {}).rfind("pkg:", 0) != 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto dpkg = vigil::sbom::ParseDpkgStatus(in, "status");
  const auto opkg = vigil::sbom::ParseOpkgStatus(in, "status");
  CheckDpkgParsed(dpkg, in);
  CheckDpkgParsed(opkg, in);
  vigil::sbom::Inventory inv;
  inv.packages = dpkg.packages;
  const vigil::sbom::DocumentInfo info{"fuzz", "0", 0, "00000000-0000-4000-8000-000000000000"};
  (void)vigil::sbom::ToCycloneDx(inv, info).dump(-1, ' ', false, vigil::Json::error_handler_t::replace);
  (void)vigil::sbom::ToSpdx(inv, info).dump(-1, ' ', false, vigil::Json::error_handler_t::replace);
  return 0;
}
