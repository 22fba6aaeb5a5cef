#include "agent/sbom/apk.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

std::string ApkFixture(const std::string& name) {
  std::ifstream in(std::string(VIGIL_SBOM_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ApkInstalled, ReadsNameVersionArchAndOrigin) {
  const ParsedPackages p = ParseApkInstalled(ApkFixture("apk_installed"), "/lib/apk/db/installed");
  EXPECT_TRUE(p.issues.empty()) << p.issues[0].ToString();
  ASSERT_EQ(p.packages.size(), 3u);
  EXPECT_EQ(p.packages[0].name, "musl");
  EXPECT_EQ(p.packages[0].version, "1.2.4_git20230717-r4");
  EXPECT_EQ(p.packages[0].arch, "x86_64");
  EXPECT_EQ(p.packages[0].format, PackageFormat::kApk);
  EXPECT_EQ(p.packages[1].name, "libcrypto3");
  EXPECT_EQ(p.packages[1].source_name, "openssl");
  EXPECT_EQ(p.packages[1].source_version, "3.1.4-r5");
  EXPECT_EQ(p.packages[2].name, "busybox");
}

TEST(ApkInstalled, MalformedStanzasAreReportedWithLinesAndTheRestKept) {
  const ParsedPackages p = ParseApkInstalled(ApkFixture("apk_installed_malformed"), "installed");
  ASSERT_EQ(p.packages.size(), 2u);
  EXPECT_EQ(p.packages[0].name, "zlib");
  EXPECT_EQ(p.packages[0].source_name, "zlib") << "no origin: its own name";
  EXPECT_EQ(p.packages[1].name, "ok-after");
  EXPECT_EQ(p.packages[1].version, "2.0-r1");
  ASSERT_EQ(p.issues.size(), 3u);
  EXPECT_EQ(p.issues[0].ToString(), "installed:5: package without a P: (name) line; skipped");
  EXPECT_EQ(p.issues[1].line, 8u);
  EXPECT_EQ(p.issues[2].line, 11u);
}

TEST(ApkInstalled, DuplicateKeyKeepsTheFirst) {
  const ParsedPackages p = ParseApkInstalled("P:a\nV:1\nV:2\n", "f");
  ASSERT_EQ(p.packages.size(), 1u);
  EXPECT_EQ(p.packages[0].version, "1");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].line, 3u);
}

}  // namespace
}  // namespace vigil::sbom
