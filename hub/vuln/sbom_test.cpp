#include "hub/vuln/sbom.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace vigil::hub::vuln {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(VIGIL_VULN_TESTDATA) + "/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Purl, PartsArePercentDecoded) {
  auto p = ParsePurl("pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&upstream=shadow%401");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->type, "deb");
  EXPECT_EQ(p->namespace_, "debian");
  EXPECT_EQ(p->name, "passwd");
  EXPECT_EQ(p->version, "1:4.13+dfsg1-1+b1");
  EXPECT_EQ(p->Qualifier("upstream"), "shadow@1");
  EXPECT_EQ(p->Qualifier("distro"), "debian-12");
  EXPECT_EQ(p->Qualifier("missing"), "");
  EXPECT_FALSE(ParsePurl("deb/debian/x@1").ok());
  EXPECT_FALSE(ParsePurl("pkg:deb").ok());
  EXPECT_FALSE(ParsePurl("pkg:deb/debian/x@1%G1").ok());
  EXPECT_FALSE(ParsePurl("pkg:deb/debian/x@1%2").ok());
}

TEST(CycloneDx, ReadsPackagesWithSourceFromQualifiersAndProperties) {
  auto sbom = ParseCycloneDx(Fixture("sbom-debian12.cdx.json"), "sbom.json");
  ASSERT_TRUE(sbom.ok()) << sbom.status().ToString();
  EXPECT_EQ(sbom->skipped, 2u);  // the pypi component and the file
  EXPECT_TRUE(sbom->warnings.empty());
  std::map<std::string, Package> by_name;
  for (const Package& p : sbom->packages) by_name[p.name] = p;
  ASSERT_EQ(by_name.size(), 9u);
  EXPECT_EQ(by_name["libssl3"].SourceName(), "openssl");
  EXPECT_EQ(by_name["libssl3"].ecosystem, "Debian:12");
  EXPECT_EQ(by_name["openssl"].SourceName(), "openssl");
  EXPECT_EQ(by_name["libc6"].SourceName(), "glibc");  // from the property
  EXPECT_EQ(by_name["libc6"].version, "2.36-9+deb12u9");
  EXPECT_EQ(by_name["bash"].SourceVersion(), "5.2.15-2");  // "bash (5.2.15-2)"
  EXPECT_EQ(by_name["bash"].version, "5.2.15-2+b2");
  EXPECT_EQ(by_name["passwd"].SourceName(), "shadow");
  EXPECT_EQ(by_name["passwd"].SourceVersion(), "1:4.13+dfsg1-1");
  EXPECT_EQ(by_name["zlib1g"].ecosystem, "Debian:12");  // no distro qualifier: the OS component
}

TEST(CycloneDx, AlpineAndBadComponents) {
  auto sbom = ParseCycloneDx(R"({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
      {"name": "busybox", "purl": "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=3.19.1"},
      {"name": "broken", "purl": "pkg:apk/alpine/broken@1%ZZ"},
      {"name": "nodistro", "purl": "pkg:deb/debian/nodistro@1.0"}]})",
                             "inline");
  ASSERT_TRUE(sbom.ok()) << sbom.status().ToString();
  ASSERT_EQ(sbom->packages.size(), 2u);
  EXPECT_EQ(sbom->packages[0].ecosystem, "Alpine:v3.19");
  EXPECT_EQ(sbom->packages[1].ecosystem, "");
  ASSERT_EQ(sbom->warnings.size(), 2u);
  EXPECT_NE(sbom->warnings[0].find("inline: components[1]"), std::string::npos) << sbom->warnings[0];
  EXPECT_NE(sbom->warnings[1].find("no distribution"), std::string::npos) << sbom->warnings[1];
}

TEST(CycloneDx, RejectsWhatIsNotABom) {
  EXPECT_FALSE(ParseCycloneDx("{", "x").ok());
  EXPECT_FALSE(ParseCycloneDx(R"({"bomFormat": "SPDX"})", "x").ok());
  EXPECT_FALSE(ParseCycloneDx(R"({"bomFormat": 5})", "x").ok());  // not a string: an error, not a throw
  auto odd = ParseCycloneDx(R"({"bomFormat": "CycloneDX", "metadata": {"component": {"type": 1}},
      "components": [{"name": 2, "version": [], "purl": "pkg:deb/debian/x@1?distro=debian-12"}]})",
                            "x");
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_EQ(odd->packages.size(), 1u);
  EXPECT_FALSE(ParseCycloneDx(R"({"bomFormat": "CycloneDX", "components": {}})", "x").ok());
  auto empty = ParseCycloneDx(R"({"bomFormat": "CycloneDX"})", "x");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->packages.empty());
}

}  // namespace
}  // namespace vigil::hub::vuln
