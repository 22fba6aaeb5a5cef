// The apk installed database (/lib/apk/db/installed, Alpine and postmarketOS).
//
// Format (apk-tools src/database.c, apk_db_index_read): stanzas separated by blank lines;
// every other line is one letter, ":", and a value:
//   P:name   V:version   A:arch   o:origin (the source package)   and many others (C: checksum,
//   S: size, T: description, F: a directory, R: a file in it, Z: its checksum, ...), ignored.
// A stanza is one installed package: apk writes only installed packages into this file.
// Malformed input is reported with its line and skipped:
//   - a line that is not "<letter>:<value>": the line is reported and ignored;
//   - a stanza with no P: or no V:, or a name or version with spaces: reported (its first
//     line) and skipped.
// A key given twice in a stanza keeps the first value (F:/R:/Z: and the other file lines
// repeat by design and are not checked).
#pragma once

#include <string_view>

#include "agent/sbom/package.h"

namespace vigil::sbom {

// `file` names the source in issues. Thread-safe (no state).
ParsedPackages ParseApkInstalled(std::string_view text, std::string_view file);

}  // namespace vigil::sbom
