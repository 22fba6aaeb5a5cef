#include "agent/sbom/package.h"

#include <algorithm>
#include <tuple>

namespace vigil::sbom {

std::string_view PackageFormatName(PackageFormat f) {
  switch (f) {
    case PackageFormat::kDeb: return "deb";
    case PackageFormat::kOpkg: return "opkg";
    case PackageFormat::kApk: return "apk";
    case PackageFormat::kRpm: return "rpm";
  }
  return "unknown";
}

std::string ParseIssue::ToString() const {
  return line == 0 ? file + ": " + reason : file + ":" + std::to_string(line) + ": " + reason;
}

void SortPackages(std::vector<Package>* packages) {
  std::stable_sort(packages->begin(), packages->end(), [](const Package& a, const Package& b) {
    return std::tie(a.format, a.name, a.arch, a.version) < std::tie(b.format, b.name, b.arch, b.version);
  });
}

}  // namespace vigil::sbom
