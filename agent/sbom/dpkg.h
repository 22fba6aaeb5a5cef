// The dpkg status database (/var/lib/dpkg/status) and opkg's (/usr/lib/opkg/status, OpenWrt),
// which has the same form.
//
// Format (deb822, as dpkg writes it; see deb-control(5) and dpkg's lib/dpkg/parse.c):
//   status    := stanza (blank-line+ stanza)*
//   stanza    := field+
//   field     := NAME ":" [" "] value "\n" continuation*
//   continuation := (" " | "\t") text "\n"      (a line " ." is an empty line of the value)
//   blank-line := a line that is empty or holds only spaces and tabs
// NAME is any run of characters but ":", spaces and control characters, not starting with "#"
// or "-". Field names compare ignoring case. The fields used:
//   Package       the binary package's name (required)
//   Version       its version (required for an installed package)
//   Architecture  "amd64", "all", ...; opkg may omit it
//   Source        "name" or "name (version)"; absent: the binary's own name and version
//   Status        "want flag state": only packages whose state is "installed" and whose flag
//                 is "ok" (dpkg) are kept; opkg writes flags such as "user" or "hold", and a
//                 package is kept unless its flags hold "reinstreq" (half-installed).
//                 Packages not installed (config-files, half-installed, not-installed) are
//                 skipped without a complaint.
// Malformed input is reported with its line and skipped, never the whole file:
//   - a line that is neither a field nor a continuation (no ":" in it, an empty name, a
//     continuation with no field before it): the line is reported and ignored;
//   - an installed stanza without Package or Version, or with a Package or Version that
//     holds spaces: the stanza is reported (its first line) and skipped.
// A field given twice in a stanza keeps the first value (reported).
#pragma once

#include <string_view>

#include "agent/sbom/package.h"

namespace vigil::sbom {

// `file` names the source in issues. Thread-safe (no state).
ParsedPackages ParseDpkgStatus(std::string_view text, std::string_view file);
// The same, for opkg (format kOpkg; its status flags as above).
ParsedPackages ParseOpkgStatus(std::string_view text, std::string_view file);

// Splits a `Source:` value, "name" or "name (version)"; false when malformed (empty name,
// unbalanced parenthesis, spaces in the name).
bool SplitSourceField(std::string_view value, std::string* name, std::string* version);

}  // namespace vigil::sbom
