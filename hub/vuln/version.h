// Version orders of the package ecosystems the hub matches vulnerabilities in. OS-free: pure
// string functions, no locale (every character class is ASCII).
//
// dpkg (Debian, Ubuntu; opkg follows it) - deb-version(5), Debian Policy 5.6.12:
//   [epoch:]upstream[-revision]. The epoch is the digits before the first ':' (0 when absent);
//   the revision is what follows the last '-' ("" when absent, which compares equal to "0").
//   Epochs compare as integers, then upstream, then revision, each as alternating runs: a
//   non-digit run compared character by character where '~' sorts before everything (even the
//   end of the string), letters before non-letters, the end before any non-'~' character; then
//   a digit run compared as a number (leading zeros ignored).
//   1.0~rc1 < 1.0 < 1.0+deb12u1 < 1.0+deb12u10; 1:0.9 > 2.0; 1.0-0 == 1.0.
//
// apk (Alpine) - apk-tools' version rules:
//   number{.number}...{letter}{_suffix{number}}...{-rN}. Numbers compare numerically, except
//   that a component after '.' with leading zeros sorts below the number it spells, more zeros
//   lower (1.01 < 1.1, 1.005 < 1.05, 1.00 < 1.0); one
//   lower-case letter may follow the numbers (1.2a > 1.2); suffixes _alpha < _beta < _pre < _rc
//   < (none) < _cvs < _svn < _git < _hg < _p, each with an optional number; -rN is the package
//   revision (1.0-r1 > 1.0-r0 == 1.0). A version that leaves this grammar is invalid; compared
//   anyway (as apk does) up to the first invalid token.
//
// rpm (Red Hat, Rocky, Alma, SUSE) - rpmvercmp and epoch:version-release:
//   the epoch (digits before ':', 0 when absent) compares as an integer, then version, then
//   release (only when both sides have one). Each compares by segments: separators (anything
//   not alphanumeric, '~' or '^') are skipped; '~' sorts before everything, even the end;
//   '^' sorts after the end but before anything else; a numeric segment beats an alphabetic
//   one; numeric segments compare as numbers, alphabetic ones as bytes; when one side runs
//   out, the longer wins.
//
// Every Compare* returns -1, 0 or 1 for any input, valid or not (fuzzed): compare(a, b) ==
// -compare(b, a), and equal strings compare equal. dpkg and apk orders are total; rpm's is not
// quite (a version without release equals every release of it, as rpm has it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil::hub::vuln {

enum class VersionScheme { kDpkg, kApk, kRpm };
std::string_view VersionSchemeName(VersionScheme s);  // "dpkg", "apk", "rpm"

// dpkg.
struct DpkgVersion {
  uint64_t epoch = 0;
  std::string_view upstream;
  std::string_view revision;  // "" when absent
};
// Splits a version the way dpkg does; InvalidArgument (saying what is wrong) for an empty
// version, an epoch that is not a number, an empty upstream or revision after its separator,
// or a character dpkg refuses. Views into `text`.
Result<DpkgVersion> ParseDpkgVersion(std::string_view text);
int CompareDpkgParts(const DpkgVersion& a, const DpkgVersion& b);
// Compares two versions; one that does not parse compares by the fallback split (epoch 0 when
// not numeric) so that the order stays total.
int CompareDpkg(std::string_view a, std::string_view b);

// apk.
Status ValidateApkVersion(std::string_view text);  // InvalidArgument naming the offset
int CompareApk(std::string_view a, std::string_view b);

// rpm.
struct RpmVersion {
  uint64_t epoch = 0;
  std::string_view version;
  std::string_view release;  // "" when absent
};
Result<RpmVersion> ParseRpmVersion(std::string_view text);  // InvalidArgument for "" or a bad epoch
int RpmVerCmp(std::string_view a, std::string_view b);       // one version or release string
int CompareRpm(std::string_view a, std::string_view b);

int CompareVersions(VersionScheme scheme, std::string_view a, std::string_view b);
Status ValidateVersion(VersionScheme scheme, std::string_view text);

}  // namespace vigil::hub::vuln
