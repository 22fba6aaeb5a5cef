// Parsers of vulnerability data, from text already read (load.h reads files, directories and
// zips). OS-free. Every error names `origin` (the file, or "archive.zip:member") and what is
// wrong; nothing here throws.
//
// OSV (https://ossf.github.io/osv-schema/), one record:
//   id (string, required), modified (string, RFC 3339), aliases[], summary | details,
//   withdrawn (a withdrawn record is kept with no affected packages, so that it replaces what
//   was stored), severity[] {type, score}: CVSS_V3 vectors give the score, type "Ubuntu" a
//   qualitative severity; else database_specific.severity, else the affected entries'
//   ecosystem_specific.urgency (Debian) decide.
//   affected[] {package {ecosystem, name}, ranges[] {type, events[]}, versions[]}: only the
//   ecosystems the hub matches (advisory.h Ecosystem()) are kept, others skipped silently; only
//   ranges of type ECOSYSTEM are read (SEMVER and GIT name upstream code, not a distribution's
//   packages). Events {introduced | fixed | last_affected | limit: string}, evaluated in the
//   ecosystem's version order: each introduced opens an interval, the next fixed or
//   last_affected closes it (limit is ignored). Entries of one record for the same (ecosystem,
//   package) are merged.
//
// Debian security tracker (https://security-tracker.debian.org/tracker/data/json):
//   {source package: {CVE id: {description, scope, releases: {codename: {status,
//   fixed_version, urgency, repositories}}}}}. One advisory per CVE id (source
//   "debian-tracker", id the CVE or TEMP- id), one affected entry per (release, package):
//   status resolved with fixed_version "0" -> never affected; resolved with a version -> fixed
//   there; open or undetermined -> affected, no fix. Releases without a known number (sid,
//   experimental) are skipped. The tracker has no modification time: such advisories replace
//   what is stored whenever their content differs.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/vuln/advisory.h"

namespace vigil::hub::vuln {

// One OSV record (a JSON object).
Result<Advisory> ParseOsvRecord(const Json& record, std::string_view origin);
Result<Advisory> ParseOsv(std::string_view text, std::string_view origin);

// The whole tracker document. Entries that are malformed go to `errors` (each naming origin,
// package and CVE) and are skipped; the rest come back, in id order. A document that is not a
// JSON object is an error.
Result<std::vector<Advisory>> ParseDebianTrackerJson(const Json& doc, std::string_view origin,
                                                 std::vector<std::string>* errors);
Result<std::vector<Advisory>> ParseDebianTracker(std::string_view text, std::string_view origin,
                                                 std::vector<std::string>* errors);

enum class DataFormat { kOsv, kOsvList, kDebianTracker, kUnknown };
// Tells a document's format from its shape: an object with a string "id" is an OSV record, an
// array of objects a list of them, an object of objects of objects the tracker.
DataFormat DetectFormat(const Json& doc);

}  // namespace vigil::hub::vuln
