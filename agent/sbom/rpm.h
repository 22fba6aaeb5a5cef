// rpm packages: the header structure (one per installed package in the rpm database) and the
// SQLite rpmdb that holds them (/var/lib/rpm/rpmdb.sqlite, rpm 4.16 and later).
//
// Header structure (rpm's file format specification, "Header Structure"; all integers are
// big-endian, unsigned 32-bit unless said):
//   [magic]  8 bytes 8E AD E8 01 00 00 00 00: present in a package file, absent from the blob
//            the database stores; accepted either way
//   il       number of index entries (signed 32-bit, 1 .. kRpmMaxIndexEntries)
//   dl       bytes in the data store (signed 32-bit, 0 .. kRpmMaxDataBytes)
//   il index entries of 16 bytes: tag, type, offset (into the data store), count
//   the data store, dl bytes
// The bytes after the data store are not read. Types: 0 NULL, 1 CHAR, 2 INT8, 3 INT16,
// 4 INT32, 5 INT64, 6 STRING, 7 BIN, 8 STRING_ARRAY, 9 I18NSTRING. A STRING is NUL-terminated
// in the data store; STRING_ARRAY and I18NSTRING are `count` of them one after the other (the
// first I18NSTRING is used). INT32 values are 4-byte aligned big-endian integers.
// Tags read: NAME 1000, VERSION 1001, RELEASE 1002, EPOCH 1003 (INT32), ARCH 1022,
// SOURCERPM 1044 ("name-version-release.src.rpm"; absent on gpg-pubkey pseudo-packages).
// Region tags (62, 63, ...) and every other tag are skipped. A header is refused (Corruption,
// saying why) when the counts are out of range, an entry points outside the data store, a
// string is not NUL-terminated inside it, or NAME, VERSION or RELEASE is missing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "agent/sbom/package.h"

namespace vigil::sbom {

inline constexpr int32_t kRpmMaxIndexEntries = 0x10000;  // as rpm's hdrchkTags
inline constexpr int32_t kRpmMaxDataBytes = 256 << 20;   // as rpm's hdrchkData

inline constexpr uint32_t kRpmTagName = 1000;
inline constexpr uint32_t kRpmTagVersion = 1001;
inline constexpr uint32_t kRpmTagRelease = 1002;
inline constexpr uint32_t kRpmTagEpoch = 1003;
inline constexpr uint32_t kRpmTagArch = 1022;
inline constexpr uint32_t kRpmTagSourceRpm = 1044;

inline constexpr uint32_t kRpmTypeInt32 = 4;
inline constexpr uint32_t kRpmTypeString = 6;
inline constexpr uint32_t kRpmTypeStringArray = 8;
inline constexpr uint32_t kRpmTypeI18nString = 9;

// Reads one header. The package's version is "[epoch:]version-release"; its source is the
// SOURCERPM's name and "version-release" (the binary's own when absent or unparsable).
Result<Package> ParseRpmHeader(std::span<const uint8_t> blob);

// Splits "name-version-release.src.rpm" (also ".nosrc.rpm"); false when it is not that form.
bool SplitSourceRpm(std::string_view file, std::string* name, std::string* version_release);

// Builds a header blob (without the magic), for tests and fuzz seeds: each entry's data is
// laid out in order, INT32 entries 4-byte aligned.
struct RpmHeaderEntry {
  uint32_t tag;
  uint32_t type;
  std::vector<std::string> strings;  // STRING (one), STRING_ARRAY, I18NSTRING
  std::vector<int32_t> ints;         // INT32
};
std::vector<uint8_t> BuildRpmHeader(const std::vector<RpmHeaderEntry>& entries);
// A header with NAME, VERSION, RELEASE, ARCH, and EPOCH (when >= 0) and SOURCERPM (when not
// empty).
std::vector<uint8_t> BuildRpmPackageHeader(const std::string& name, const std::string& version,
                                           const std::string& release, const std::string& arch, int32_t epoch,
                                           const std::string& source_rpm);

// Reads every header blob from the SQLite rpmdb at `path` (table Packages, column blob),
// read-only. Errors: NotFound when the file is absent, IoError/Corruption from SQLite with
// its message. Not OS-free (SQLite opens the file itself), but no Env either: SQLite needs a
// real file.
Result<std::vector<std::vector<uint8_t>>> ReadRpmdbSqlite(const std::string& path);

// Parses every blob; a blob that is refused is an issue "<file>: header #N (hnum): why".
ParsedPackages ParseRpmHeaders(const std::vector<std::vector<uint8_t>>& blobs, std::string_view file);

}  // namespace vigil::sbom
