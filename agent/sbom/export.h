// SBoM documents from an Inventory: CycloneDX 1.5 JSON, SPDX 2.3 JSON, and Vigil's own JSON
// (the shape of the sbom events' packages), with a package URL (purl) for every package.
//
// purls (github.com/package-url/purl-spec, PURL-TYPES): the namespace is the OS's ID from
// os-release, the `distro` qualifier is "ID-VERSION_ID", and the source package is the
// `upstream` qualifier ("name", or "name@version" when its version differs from the
// binary's), so the hub can match vulnerability data by source package:
//   deb   pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc
//   apk   pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1
//   rpm   pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora-40&epoch=1
//   opkg  pkg:generic/openwrt/busybox@1.36.1-1?arch=mips_24kc&distro=openwrt-23.05.2 (the spec
//         has no opkg type; the namespace is the OS's ID, "openwrt" when unknown)
// Name and version are percent-encoded except for A-Z a-z 0-9 . - _ ~ (so an epoch's ":" is
// %3A and "+" is %2B); qualifiers are sorted by key and empty ones left out. Without an OS
// ID the deb namespace is "debian", the apk one "alpine", and rpm has none.
//
// The OS and each kernel are components too (CycloneDX type operating-system; SPDX purpose
// OPERATING-SYSTEM), the kernel with the CPE cpe:2.3:o:linux:linux_kernel:<version>.
#pragma once

#include <cstdint>
#include <string>

#include "agent/core/event.h"
#include "agent/sbom/package.h"

namespace vigil::sbom {

std::string Purl(const Package& p, const OsRelease& os);

// What a document says about itself.
struct DocumentInfo {
  std::string subject;       // what the SBoM describes: the host name, or the root directory
  std::string tool_version;  // vigil-agent's version
  int64_t now_ms = 0;        // creation time, UTC ms
  std::string uuid;          // a random UUID (NewUuid()); serial number and SPDX namespace
};

std::string NewUuid();                  // version 4, lower-case, from std::random_device
std::string IsoTimeUtc(int64_t ms);     // "2026-12-06T19:30:00Z"

Json ToCycloneDx(const Inventory& inv, const DocumentInfo& info);
Json ToSpdx(const Inventory& inv, const DocumentInfo& info);
// {"os":{...},"kernels":[...],"databases":[...],"packages":[PackageJson...],"issues":[...]}
Json ToVigilJson(const Inventory& inv);

// One package as the sbom events and ToVigilJson write it: name, version, arch (absent when
// empty), format, source_name, source_version, purl.
Json PackageJson(const Package& p, const OsRelease& os);
Json OsReleaseJson(const OsRelease& os);  // the non-empty fields: id, version_id, name, pretty_name, version_codename

}  // namespace vigil::sbom
