#include "hub/vuln/match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil::hub::vuln {
namespace {

Advisory Adv(const std::string& id, Affected affected) {
  Advisory a;
  a.id = id;
  a.source = "osv";
  a.severity = "high";
  a.affected.push_back(std::move(affected));
  return a;
}

Affected Range(const std::string& ecosystem, const std::string& package, std::vector<Interval> intervals,
               std::vector<std::string> versions = {}) {
  Affected a;
  a.ecosystem = ecosystem;
  a.package = package;
  a.intervals = std::move(intervals);
  a.versions = std::move(versions);
  return a;
}

TEST(Evaluate, StatusesAcrossIntervalsAndLists) {
  Affected fixed = Range("Debian:12", "glibc", {{"0", "2.36-9+deb12u10", ""}});
  EXPECT_EQ(Evaluate(fixed, "2.36-9+deb12u9").status, MatchStatus::kFixed);
  EXPECT_EQ(Evaluate(fixed, "2.36-9+deb12u9").fixed_version, "2.36-9+deb12u10");
  EXPECT_EQ(Evaluate(fixed, "2.36-9+deb12u10").status, MatchStatus::kNotAffected);
  EXPECT_EQ(Evaluate(fixed, "2.36-9+deb12u11").status, MatchStatus::kNotAffected);

  Affected tilde = Range("Debian:12", "p", {{"0", "1.0", ""}});
  EXPECT_EQ(Evaluate(tilde, "1.0~rc1").status, MatchStatus::kFixed);  // 1.0~rc1 < 1.0

  Affected epoch = Range("Debian:12", "shadow", {{"0", "4.14", ""}});
  EXPECT_EQ(Evaluate(epoch, "1:4.13+dfsg1-1").status, MatchStatus::kNotAffected);

  Affected introduced = Range("Debian:12", "p", {{"2.0-1", "2.5-1", ""}});
  EXPECT_EQ(Evaluate(introduced, "1.9-1").status, MatchStatus::kNotAffected);
  EXPECT_EQ(Evaluate(introduced, "2.0-1").status, MatchStatus::kFixed);

  Affected last = Range("Debian:12", "zlib", {{"0", "", "1:1.2.13.dfsg-1"}});
  EXPECT_EQ(Evaluate(last, "1:1.2.13.dfsg-1").status, MatchStatus::kUnfixed);
  EXPECT_EQ(Evaluate(last, "1:1.2.13.dfsg-2").status, MatchStatus::kNotAffected);

  Affected open = Range("Debian:12", "bash", {{"0", "", ""}});
  EXPECT_EQ(Evaluate(open, "5.2.15-2").status, MatchStatus::kUnfixed);

  Affected listed = Range("Debian:12", "libxml2", {{"3.0-1", "3.0-2", ""}}, {"2.9.14+dfsg-1.3~deb12u1"});
  EXPECT_EQ(Evaluate(listed, "2.9.14+dfsg-1.3~deb12u1").status, MatchStatus::kFixed);  // a fix above it exists
  EXPECT_EQ(Evaluate(listed, "2.9.14+dfsg-1.3~deb12u1").fixed_version, "3.0-2");
  EXPECT_EQ(Evaluate(listed, "2.9.14+dfsg-1.3").status, MatchStatus::kNotAffected);

  Affected never = Range("Debian:12", "systemd", {});
  never.never_affected = true;
  EXPECT_EQ(Evaluate(never, "252.22-1~deb12u1").status, MatchStatus::kNotAffected);

  Affected alpine = Range("Alpine:v3.19", "busybox", {{"0", "1.36.1-r16", ""}});
  EXPECT_EQ(Evaluate(alpine, "1.36.1-r15").status, MatchStatus::kFixed);
  EXPECT_EQ(Evaluate(alpine, "1.36.1-r16").status, MatchStatus::kNotAffected);
  EXPECT_EQ(Evaluate(alpine, "1.36.1-r9").status, MatchStatus::kFixed);  // r9 < r16 numerically
}

TEST(AdvisoryIndex, MatchesBySourcePackageAndEcosystemOnly) {
  AdvisoryIndex index;
  index.Add(Adv("A-1", Range("Debian:12", "openssl", {{"0", "3.0.13-1~deb12u1", ""}})));
  index.Add(Adv("A-2", Range("Debian:11", "openssl", {{"0", "9", ""}})));
  index.Add(Adv("A-3", Range("Debian:12", "libssl3", {{"0", "9", ""}})));  // a binary name: never matched
  std::vector<Package> pkgs = {
      {"libssl3", "3.0.11-1~deb12u2", "openssl", "", "Debian:12"},
      {"openssl", "3.0.11-1~deb12u2", "", "", "Debian:12"},
      {"curl", "7.88.1-10", "", "", "Debian:12"},
      {"nolabel", "1", "openssl", "", ""},  // no ecosystem: not matched
  };
  auto findings = index.Match(pkgs, false);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].package, "libssl3");
  EXPECT_EQ(findings[0].advisory, "A-1");
  EXPECT_EQ(findings[1].package, "openssl");
  EXPECT_EQ(findings[1].advisory, "A-1");
  EXPECT_EQ(findings[1].source, "openssl");
  EXPECT_EQ(findings[1].fixed_version, "3.0.13-1~deb12u1");
}

TEST(AdvisoryIndex, ComparesTheSourceVersionNotTheBinaryVersion) {
  AdvisoryIndex index;
  index.Add(Adv("A-1", Range("Debian:12", "bash", {{"0", "5.2.15-2+b1", ""}})));
  // binNMU: binary 5.2.15-2+b2, source 5.2.15-2 (older than the fix)
  std::vector<Package> pkgs = {{"bash", "5.2.15-2+b2", "bash", "5.2.15-2", "Debian:12"}};
  auto findings = index.Match(pkgs, false);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].status, MatchStatus::kFixed);
  EXPECT_EQ(findings[0].version, "5.2.15-2+b2");
  EXPECT_EQ(findings[0].source_version, "5.2.15-2");
}

TEST(AdvisoryIndex, ReplacingAnAdvisoryUnindexesItsOldPackages) {
  AdvisoryIndex index;
  index.Add(Adv("A-1", Range("Debian:12", "openssl", {{"0", "", ""}})));
  index.Add(Adv("A-1", Range("Debian:12", "curl", {{"0", "", ""}})));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.entries(), 1u);
  std::vector<Package> pkgs = {{"openssl", "1", "", "", "Debian:12"}, {"curl", "1", "", "", "Debian:12"}};
  auto findings = index.Match(pkgs, false);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].package, "curl");
}

TEST(AdvisoryIndex, NotAffectedOnlyWhenAsked) {
  AdvisoryIndex index;
  index.Add(Adv("A-1", Range("Debian:12", "glibc", {{"0", "2.36-9+deb12u4", ""}})));
  std::vector<Package> pkgs = {{"libc6", "2.36-9+deb12u9", "glibc", "", "Debian:12"}};
  EXPECT_TRUE(index.Match(pkgs, false).empty());
  auto all = index.Match(pkgs, true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status, MatchStatus::kNotAffected);
}

}  // namespace
}  // namespace vigil::hub::vuln
