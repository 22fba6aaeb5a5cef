// /etc/os-release (falling back to /usr/lib/os-release), os-release(5):
//   line    := comment | blank | KEY "=" value
//   comment := "#" anything
//   KEY     := [A-Za-z_][A-Za-z0-9_]*
//   value   := a shell-style word: unquoted, "double-quoted" (\" \\ \$ \` escaped) or
//              'single-quoted' (no escapes); unquoted values may not hold spaces
// Keys read: ID, VERSION_ID, NAME, PRETTY_NAME, VERSION_CODENAME; others are ignored. A line
// that is not of that form (no "=", a bad key, an unterminated quote, an unquoted space) is
// reported with its line and ignored; a key given twice keeps the last value, as a shell would.
#pragma once

#include <string_view>
#include <vector>

#include "agent/sbom/package.h"

namespace vigil::sbom {

struct ParsedOsRelease {
  OsRelease os;
  std::vector<ParseIssue> issues;
};

ParsedOsRelease ParseOsRelease(std::string_view text, std::string_view file);

}  // namespace vigil::sbom
