// Package: one installed package as the package databases describe it, and the inventory of a
// machine (or of an unpacked root file system): its packages, OS release and kernel.
//
// Plain values, OS-free. Parsers (dpkg.h, apk.h, rpm.h, os_release.h) fill them from text or
// bytes handed in; inventory.h reads the files over Env; export.h writes CycloneDX and SPDX.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::sbom {

// Which package database a package came from; it decides the purl type and the version order.
enum class PackageFormat { kDeb, kOpkg, kApk, kRpm };
std::string_view PackageFormatName(PackageFormat f);  // "deb", "opkg", "apk", "rpm"

struct Package {
  PackageFormat format = PackageFormat::kDeb;
  std::string name;
  // As the database writes it: deb and opkg "[epoch:]upstream[-revision]", apk "1.2.3-r0",
  // rpm "[epoch:]version-release" (the epoch only when the header has one).
  std::string version;
  std::string arch;  // "amd64", "x86_64", "noarch", "all"; may be empty (opkg, apk may omit it)
  // The source package it was built from (vulnerability data is keyed by it): dpkg's
  // `Source:` (default the binary's own name and version), apk's origin, rpm's SOURCERPM.
  std::string source_name;
  std::string source_version;

  bool operator==(const Package&) const = default;
};

// A problem with one stanza or line; the rest of the file is kept. `line` is 1-based (0 when
// the problem is not tied to a line, e.g. a whole rpm header).
struct ParseIssue {
  std::string file;
  size_t line = 0;
  std::string reason;
  std::string ToString() const;  // "file:line: reason" ("file: reason" without a line)
};

struct ParsedPackages {
  std::vector<Package> packages;  // in file order
  std::vector<ParseIssue> issues;
};

// /etc/os-release (os-release(5)); every field may be empty.
struct OsRelease {
  std::string id;          // "debian", "alpine", "openwrt", "fedora"
  std::string version_id;  // "12", "3.19.1", "23.05.2"
  std::string name;
  std::string pretty_name;
  std::string version_codename;
  bool operator==(const OsRelease&) const = default;
};

struct Inventory {
  OsRelease os;
  std::vector<std::string> kernels;      // kernel releases (uname -r, or /lib/modules of a root)
  std::vector<Package> packages;         // sorted by format, name, arch
  std::vector<std::string> databases;    // the database files read (absolute paths)
  std::vector<ParseIssue> issues;        // malformed stanzas and lines, unreadable headers
};

// Sorts by (format, name, arch, version), the order inventories and events use.
void SortPackages(std::vector<Package>* packages);

}  // namespace vigil::sbom
