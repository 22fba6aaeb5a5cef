#include "agent/sbom/export.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

OsRelease Os(std::string id, std::string version_id) {
  OsRelease os;
  os.id = std::move(id);
  os.version_id = std::move(version_id);
  return os;
}

Package Deb(std::string name, std::string version, std::string arch, std::string src = "", std::string src_v = "") {
  Package p;
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = std::move(arch);
  p.source_name = src.empty() ? p.name : src;
  p.source_version = src_v.empty() ? p.version : src_v;
  return p;
}

OsRelease Debian12() {
  OsRelease os;
  os.id = "debian";
  os.version_id = "12";
  os.pretty_name = "Debian GNU/Linux 12 (bookworm)";
  return os;
}

// purl syntax (purl-spec): pkg:type/namespace/name@version?qualifiers, each part encoded.
const std::regex kPurl(R"(^pkg:[a-z][a-z0-9.+-]*(/[A-Za-z0-9.\-_~%]+)+(@[A-Za-z0-9.\-_~%]+)?(\?[a-z][a-z0-9.\-_]*=[A-Za-z0-9.\-_~%]+(&[a-z][a-z0-9.\-_]*=[A-Za-z0-9.\-_~%]+)*)?$)");

TEST(Purl, DebWithDistroArchAndUpstream) {
  EXPECT_EQ(Purl(Deb("libc6", "2.36-9+deb12u4", "amd64", "glibc"), Debian12()),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
  EXPECT_EQ(Purl(Deb("bash", "5.2.15-2+b2", "amd64", "bash", "5.2.15-2"), Debian12()),
            "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2");
  EXPECT_EQ(Purl(Deb("tzdata", "2024a-0+deb12u1", "all"), Debian12()),
            "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12");
  EXPECT_EQ(Purl(Deb("e2fsprogs", "1:1.47.0-2", "amd64"), OsRelease{}),
            "pkg:deb/debian/e2fsprogs@1%3A1.47.0-2?arch=amd64") << "the epoch's ':' is encoded";
}

TEST(Purl, ApkRpmAndOpkg) {
  Package apk = Deb("libcrypto3", "3.1.4-r5", "x86_64", "openssl");
  apk.format = PackageFormat::kApk;
  EXPECT_EQ(Purl(apk, Os("alpine", "3.19.1")),
            "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl");
  Package rpm = Deb("bash", "1:5.2.26-3.fc40", "x86_64", "bash", "5.2.26-3.fc40");
  rpm.format = PackageFormat::kRpm;
  EXPECT_EQ(Purl(rpm, Os("fedora", "40")),
            "pkg:rpm/fedora/bash@5.2.26-3.fc40?arch=x86_64&distro=fedora-40&epoch=1");
  Package opkg = Deb("busybox", "1.36.1-1", "mips_24kc");
  opkg.format = PackageFormat::kOpkg;
  EXPECT_EQ(Purl(opkg, Os("openwrt", "23.05.2")),
            "pkg:generic/openwrt/busybox@1.36.1-1?arch=mips_24kc&distro=openwrt-23.05.2");
  for (const Package* p : {&apk, &rpm, &opkg}) EXPECT_TRUE(std::regex_match(Purl(*p, Debian12()), kPurl)) << Purl(*p, Debian12());
}

Inventory Sample() {
  Inventory inv;
  inv.os = Debian12();
  inv.kernels = {"6.1.0-18-amd64"};
  inv.packages = {Deb("bash", "5.2.15-2+b2", "amd64", "bash", "5.2.15-2"), Deb("libc6", "2.36-9+deb12u4", "amd64", "glibc"),
                  Deb("weird name/+", "1.0~rc1", "amd64")};
  inv.databases = {"/var/lib/dpkg/status"};
  return inv;
}

DocumentInfo Info() { return DocumentInfo{"host-1", "0.1.0", 1765049400000, NewUuid()}; }

TEST(CycloneDx, HasTheRequiredFieldsAndAComponentPerPackage) {
  const Json bom = ToCycloneDx(Sample(), Info());
  EXPECT_EQ(bom["bomFormat"], "CycloneDX");
  EXPECT_EQ(bom["specVersion"], "1.5");
  EXPECT_EQ(bom["version"], 1);
  EXPECT_TRUE(std::regex_match(bom["serialNumber"].get<std::string>(),
                               std::regex("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")))
      << bom["serialNumber"];
  EXPECT_EQ(bom["metadata"]["timestamp"], "2025-12-06T19:30:00Z");
  EXPECT_EQ(bom["metadata"]["tools"]["components"][0]["name"], "vigil-agent");
  ASSERT_TRUE(bom["components"].is_array());
  ASSERT_EQ(bom["components"].size(), 5u) << "OS, kernel, three packages";
  std::set<std::string> refs;
  int libraries = 0;
  for (const Json& c : bom["components"]) {
    ASSERT_TRUE(c.contains("type") && c.contains("name") && c.contains("bom-ref")) << c.dump();
    EXPECT_TRUE(refs.insert(c["bom-ref"].get<std::string>()).second) << "bom-ref repeated: " << c.dump();
    if (c["type"] == "library") {
      ++libraries;
      ASSERT_TRUE(c.contains("purl") && c.contains("version")) << c.dump();
      EXPECT_TRUE(std::regex_match(c["purl"].get<std::string>(), kPurl)) << c["purl"];
      bool source = false;
      for (const Json& p : c["properties"]) source |= p["name"] == "vigil:package:source_name";
      EXPECT_TRUE(source) << c.dump();
    }
  }
  EXPECT_EQ(libraries, 3);
  EXPECT_EQ(bom["components"][0]["type"], "operating-system");
  EXPECT_EQ(bom["components"][1]["cpe"], "cpe:2.3:o:linux:linux_kernel:6.1.0:*:*:*:*:*:*:*");
}

TEST(Spdx, HasTheRequiredFieldsAndValidIds) {
  const Json doc = ToSpdx(Sample(), Info());
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["dataLicense"], "CC0-1.0");
  EXPECT_EQ(doc["SPDXID"], "SPDXRef-DOCUMENT");
  EXPECT_TRUE(doc["name"].is_string());
  EXPECT_TRUE(doc["documentNamespace"].get<std::string>().starts_with("https://"));
  EXPECT_EQ(doc["creationInfo"]["created"], "2025-12-06T19:30:00Z");
  EXPECT_EQ(doc["creationInfo"]["creators"][0], "Tool: vigil-agent-0.1.0");
  ASSERT_EQ(doc["packages"].size(), 5u);
  std::set<std::string> ids;
  const std::regex id_re("^SPDXRef-[A-Za-z0-9.-]+$");
  for (const Json& p : doc["packages"]) {
    for (const char* k : {"SPDXID", "name", "downloadLocation", "filesAnalyzed"}) EXPECT_TRUE(p.contains(k)) << k << p.dump();
    const std::string id = p["SPDXID"];
    EXPECT_TRUE(std::regex_match(id, id_re)) << id;
    EXPECT_TRUE(ids.insert(id).second) << id;
    if (p["primaryPackagePurpose"] == "LIBRARY") {
      ASSERT_EQ(p["externalRefs"][0]["referenceType"], "purl");
      EXPECT_TRUE(std::regex_match(p["externalRefs"][0]["referenceLocator"].get<std::string>(), kPurl));
    }
  }
  size_t describes = 0;
  for (const Json& r : doc["relationships"]) {
    EXPECT_TRUE(r["spdxElementId"] == "SPDXRef-DOCUMENT" || ids.count(r["spdxElementId"].get<std::string>()) > 0);
    EXPECT_EQ(ids.count(r["relatedSpdxElement"].get<std::string>()), 1u) << r.dump();
    describes += r["relationshipType"] == "DESCRIBES";
  }
  EXPECT_EQ(describes, 1u);
  EXPECT_EQ(doc["relationships"].size(), 5u);
}

TEST(VigilJson, ListsPackagesWithSourceAndPurl) {
  const Json j = ToVigilJson(Sample());
  ASSERT_EQ(j["packages"].size(), 3u);
  EXPECT_EQ(j["packages"][1]["source_name"], "glibc");
  EXPECT_EQ(j["packages"][1]["format"], "deb");
  EXPECT_EQ(j["os"]["id"], "debian");
  EXPECT_EQ(j["kernels"][0], "6.1.0-18-amd64");
}

TEST(IsoTime, FormatsUtc) {
  EXPECT_EQ(IsoTimeUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(IsoTimeUtc(951782400000), "2000-02-29T00:00:00Z");
}

}  // namespace
}  // namespace vigil::sbom
