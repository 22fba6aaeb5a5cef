// The installed packages of a CycloneDX 1.5 JSON SBoM (what agents send in `sbom` events, and
// what `vigil-hub vuln scan --sbom` reads). OS-free.
//
// Each component with a purl of type deb, apk or rpm is a package:
//   pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl
//   pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1
//   pkg:rpm/redhat/openssl@3.0.7-24.el9?arch=x86_64&epoch=1&distro=rhel-9.3
// name and version from the purl (percent-decoded; the component's own name and version when
// the purl lacks them); the ecosystem from the distro qualifier (advisory.h
// EcosystemFromDistro), else from the SBoM's operating-system component (metadata.component or
// a component of type operating-system: name "debian", version "12"). The source package, read
// defensively from either place:
//   - the purl qualifier `upstream` ("openssl" or "openssl@3.0.11-1") or `source`;
//   - a component property whose name ends in "source" or "sourcepackage" (any prefix and case:
//     "vigil:source", "syft:metadata:source"), and one ending in "sourceversion" or
//     "source_version" for its version.
//   A source given as "name (version)", as dpkg's status file writes it, is split.
// Components without a purl of those types are skipped (counted in `skipped`); a purl that does
// not parse is a warning naming the component, and the component is skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/vuln/match.h"

namespace vigil::hub::vuln {

struct SbomPackages {
  std::vector<Package> packages;
  size_t skipped = 0;                 // components that are not distribution packages
  std::vector<std::string> warnings;  // components left out, and why
};

// InvalidArgument naming `origin` when the text is not JSON or not a CycloneDX BOM.
Result<SbomPackages> ParseCycloneDx(std::string_view text, std::string_view origin);
Result<SbomPackages> ParseCycloneDxJson(const Json& bom, std::string_view origin);

// A package URL's parts, percent-decoded.
struct Purl {
  std::string type, namespace_, name, version;
  std::vector<std::pair<std::string, std::string>> qualifiers;
  std::string Qualifier(std::string_view key) const;  // "" when absent
};
Result<Purl> ParsePurl(std::string_view text);
// The distribution release of a deb, apk or rpm purl's distro qualifier (advisory.h
// EcosystemFromDistro); nullopt without one, or for one the hub does not match.
std::optional<std::string> PurlEcosystem(const Purl& purl);

}  // namespace vigil::hub::vuln
