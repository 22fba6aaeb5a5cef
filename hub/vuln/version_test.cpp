#include "hub/vuln/version.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace vigil::hub::vuln {
namespace {

struct Case {
  const char* a;
  const char* b;
  int want;  // sign of compare(a, b)
};

int SignOf(int v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

void CheckAll(VersionScheme scheme, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(SignOf(CompareVersions(scheme, c.a, c.b)), c.want)
        << VersionSchemeName(scheme) << ": " << c.a << " vs " << c.b;
    EXPECT_EQ(SignOf(CompareVersions(scheme, c.b, c.a)), -c.want)
        << VersionSchemeName(scheme) << ": " << c.b << " vs " << c.a << " (reversed)";
  }
}

TEST(DpkgVersion, OrdersTheHardCases) {
  CheckAll(VersionScheme::kDpkg, {
                                     {"1.0~rc1", "1.0", -1},
                                     {"1.0~rc1", "1.0~rc2", -1},
                                     {"1.0~~", "1.0~", -1},
                                     {"1.0~", "1.0", -1},
                                     {"1.0", "1.0+deb12u1", -1},
                                     {"1:0.9", "2.0", 1},
                                     {"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
                                     {"2.36-9+deb12u9", "2.36-9+deb12u10", -1},
                                     {"1.2.3+deb12u10", "1.2.3+deb12u9", 1},
                                     {"3.0.11-1~deb12u2", "3.0.11-1", -1},
                                     {"1.0-1~bpo1", "1.0-1", -1},
                                     {"1.0a", "1.0+", -1},
                                     {"1.0", "1.0.0", -1},
                                     {"1.0-0", "1.0", 0},
                                     {"0:1.0", "1.0", 0},
                                     {"1.0-1", "1.0-1", 0},
                                     {"1.01", "1.1", 0},
                                     {"1.10", "1.9", 1},
                                     {"2:1.0", "1:9.9", 1},
                                     {"1.0-1", "1.0-1.1", -1},
                                     {"1.0+dfsg-1", "1.0-1", 1},
                                     {"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
                                     {"1.2.3-1", "1.2.3-1+b1", -1},
                                     {"a", "b", -1},
                                     {"1.0-a", "1.0-A", 1},
                                 });
}

TEST(DpkgVersion, ParsesEpochUpstreamRevision) {
  auto v = ParseDpkgVersion("2:1.2-3-4");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->epoch, 2u);
  EXPECT_EQ(v->upstream, "1.2-3");
  EXPECT_EQ(v->revision, "4");
  auto plain = ParseDpkgVersion("1.0");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->epoch, 0u);
  EXPECT_EQ(plain->revision, "");
}

TEST(DpkgVersion, RejectsWhatDpkgRejects) {
  for (const char* bad : {"", "a:1.0", ":1.0", "1:", "1.0-", "1 0", "1.0_1", "99999999999:1"}) {
    auto v = ParseDpkgVersion(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
}

TEST(ApkVersion, OrdersSuffixesAndRevisions) {
  CheckAll(VersionScheme::kApk, {
                                    {"1.0_alpha", "1.0_beta", -1},
                                    {"1.0_beta", "1.0_pre", -1},
                                    {"1.0_pre", "1.0_rc", -1},
                                    {"1.0_rc1", "1.0", -1},
                                    {"1.0", "1.0_cvs", -1},
                                    {"1.0_cvs", "1.0_svn", -1},
                                    {"1.0_svn", "1.0_git", -1},
                                    {"1.0_git", "1.0_hg", -1},
                                    {"1.0_hg", "1.0_p", -1},
                                    {"1.0_p1", "1.0_p2", -1},
                                    {"1.0_rc1", "1.0_rc2", -1},
                                    {"1.0-r0", "1.0-r1", -1},
                                    {"1.0-r1", "1.0-r10", -1},
                                    {"1.0-r9", "1.0-r10", -1},
                                    {"1.0-r10", "1.1-r0", -1},
                                    {"1.2", "1.2a", -1},
                                    {"1.2a", "1.2b", -1},
                                    {"1.2b", "1.3", -1},
                                    {"1.01", "1.1", -1},
                                    {"1.0.05", "1.0.4", -1},
                                    {"3.1.4-r5", "3.1.4-r5", 0},
                                    {"2.10", "2.9", 1},
                                    {"1.36.1-r15", "1.36.1-r2", 1},
                                    {"1.0_alpha1", "1.0_alpha", 1},
                                });
}

TEST(ApkVersion, ValidatesTheGrammar) {
  for (const char* good : {"1.0", "1.2.3a_rc1-r4", "3.3.3_p1-r3", "1.0_git20240101-r0", "2"}) {
    EXPECT_TRUE(ValidateApkVersion(good).ok()) << good;
  }
  for (const char* bad : {"", "1.0-x", "1.0_unknown", "a1", "1.0..1", "1.0-r"}) {
    EXPECT_FALSE(ValidateApkVersion(bad).ok()) << bad;
  }
}

TEST(RpmVersion, OrdersAsRpmvercmp) {
  CheckAll(VersionScheme::kRpm, {
                                    {"1.0", "1.0", 0},
                                    {"1.0", "2.0", -1},
                                    {"2.0.1", "2.0", 1},
                                    {"1.0~rc1", "1.0", -1},
                                    {"1.0~rc1", "1.0~rc2", -1},
                                    {"1.0^git1", "1.0", 1},
                                    {"1.0^git1", "1.0.1", -1},
                                    {"1.0^", "1.0", 1},
                                    {"1.0a", "1.0", 1},
                                    {"1.0", "1.0b", -1},
                                    {"1.0.a", "1.0.1", -1},  // a number beats letters
                                    {"10", "9", 1},
                                    {"001", "1", 0},
                                    {"1_0", "1.0", 0},
                                    {"1:1.0-1", "2.0-1", 1},
                                    {"3.0.7-24.el9", "3.0.7-25.el9", -1},
                                    {"3.0.7-24.el9", "3.0.7-24.el9_2", -1},
                                    {"0:3.0.7-24.el9", "3.0.7-24.el9", 0},
                                });
}

TEST(RpmVersion, ParsesEpochVersionRelease) {
  auto v = ParseRpmVersion("1:3.0.7-24.el9");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->epoch, 1u);
  EXPECT_EQ(v->version, "3.0.7");
  EXPECT_EQ(v->release, "24.el9");
  EXPECT_FALSE(ParseRpmVersion("x:1.0").ok());
  EXPECT_FALSE(ParseRpmVersion("").ok());
}

TEST(Versions, CompareIsAntisymmetricOnOddInput) {
  std::vector<std::string> odd = {"", "~", "^", ":", "-", "0", "00", "1:", ":1", "~~1", "1.0-~", "_", "-r", "a.b.c",
                                  std::string("1\0", 2), std::string("\x01\0\0\0" "0.7-24Qel9.0", 16), "0_21a"};
  for (VersionScheme s : {VersionScheme::kDpkg, VersionScheme::kApk, VersionScheme::kRpm}) {
    for (const auto& a : odd) {
      EXPECT_EQ(CompareVersions(s, a, a), 0) << VersionSchemeName(s) << " '" << a << "'";
      for (const auto& b : odd) {
        EXPECT_EQ(SignOf(CompareVersions(s, a, b)), -SignOf(CompareVersions(s, b, a)))
            << VersionSchemeName(s) << " '" << a << "' '" << b << "'";
      }
    }
  }
}

}  // namespace
}  // namespace vigil::hub::vuln
