// Advisories: what the hub knows about vulnerable package versions, in one form whatever the
// source (OSV records, the Debian security tracker), and how a version is tested against them.
//
// An advisory names affected packages per (ecosystem, source package). The ecosystem is the
// distribution release in OSV's spelling, normalised (Ecosystem() below): "Debian:12",
// "Alpine:v3.19", "Ubuntu:22.04" (OSV's ":LTS" and ":Pro" qualifiers dropped). Each affected
// package holds intervals [introduced, fixed) or [introduced, last_affected] and a list of
// affected versions; the version order is the ecosystem's (version.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/vuln/version.h"

namespace vigil::hub::vuln {

using Json = nlohmann::json;

// One interval of affected versions. `introduced` "0" (or "") is the beginning of time. At most
// one of `fixed` (first version not affected) and `last_affected` (last version affected) is
// set; neither: every version from `introduced` on is affected, no fix yet.
struct Interval {
  std::string introduced = "0";
  std::string fixed;
  std::string last_affected;
  bool operator==(const Interval&) const = default;
};

struct Affected {
  std::string ecosystem;  // normalised: "Debian:12"
  std::string package;    // the source package
  std::vector<Interval> intervals;
  std::vector<std::string> versions;  // affected versions, listed one by one
  // The source says this release was never affected (Debian tracker: resolved with fixed
  // version "0"). Kept so that a scan can say "not affected" with a reason.
  bool never_affected = false;
  std::string urgency;  // Debian tracker's urgency ("" when none)
  bool operator==(const Affected&) const = default;

  Json ToJson() const;  // intervals, versions, never_affected, urgency: the store's `data`
  static Result<Affected> FromJson(std::string_view ecosystem, std::string_view package, const Json& data);
};

struct Advisory {
  std::string id;      // OSV id, or the CVE id for a Debian tracker entry
  std::string source;  // "osv" or "debian-tracker"
  std::string modified;  // RFC 3339, UTC ("" when the source gives none): newer replaces older
  std::vector<std::string> aliases;
  std::string summary;
  std::string severity;  // critical, high, medium, low, negligible, unknown
  double score = -1;     // CVSS base score (0-10); -1 when none
  std::vector<Affected> affected;
  bool operator==(const Advisory&) const = default;
};

// The distribution release an OSV ecosystem or a purl distro names, normalised; nullopt when it
// is none the hub matches (npm, PyPI, ...):
//   "Debian:12", "Debian:12.5", "debian-12", "debian-bookworm", "bookworm" -> "Debian:12"
//   "Alpine:v3.19", "alpine-3.19.1", "3.19.1" with family alpine -> "Alpine:v3.19"
//   "Ubuntu:22.04:LTS", "ubuntu-22.04" -> "Ubuntu:22.04"
//   "Red Hat:...", "Rocky Linux:9", "AlmaLinux:9", "openSUSE...", "SUSE..." -> kept as given
std::optional<std::string> Ecosystem(std::string_view text);
// For a purl's distro qualifier, whose family comes from the purl type (deb: debian or ubuntu by
// namespace, apk: alpine, rpm: the namespace).
std::optional<std::string> EcosystemFromDistro(std::string_view family, std::string_view distro);
// The version order of a normalised ecosystem (Debian, Ubuntu: dpkg; Alpine: apk; others: rpm).
VersionScheme SchemeOf(std::string_view ecosystem);
// Debian release codename -> number ("bookworm" -> "12"); "" when unknown.
std::string_view DebianReleaseNumber(std::string_view codename);

enum class MatchStatus {
  kNotAffected,  // the advisory names the package, but not this version
  kFixed,        // affected; a fixed version exists (upgrade)
  kUnfixed,      // affected; no fix yet
};
std::string_view MatchStatusName(MatchStatus s);  // "not_affected", "fixed", "unfixed"

struct Verdict {
  MatchStatus status = MatchStatus::kNotAffected;
  std::string fixed_version;  // for kFixed: the fix of the interval the version is in
};

// Tests one installed version against one affected entry, in its ecosystem's order.
Verdict Evaluate(const Affected& affected, std::string_view version);

// CVSS v3.0/v3.1 vector -> base score, computed as the specification defines it; nullopt for
// anything else (v2, v4: the severity then comes from the record's qualitative fields). And the
// qualitative rating of a score.
std::optional<double> CvssScore(std::string_view vector);
std::string SeverityOfScore(double score);  // critical >= 9, high >= 7, medium >= 4, low > 0, else none

}  // namespace vigil::hub::vuln
