#include "agent/sbom/dpkg.h"

#include <stdio.h>

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(VIGIL_SBOM_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Package* Find(const ParsedPackages& p, const std::string& name) {
  for (const Package& pkg : p.packages)
    if (pkg.name == name) return &pkg;
  return nullptr;
}

TEST(DpkgStatus, ReadsInstalledPackagesWithSourceAndMultiLineFields) {
  const ParsedPackages p = ParseDpkgStatus(Fixture("dpkg_status"), "status");
  EXPECT_TRUE(p.issues.empty()) << p.issues[0].ToString();
  ASSERT_EQ(p.packages.size(), 4u);
  const Package* libc = Find(p, "libc6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->version, "2.36-9+deb12u4");
  EXPECT_EQ(libc->arch, "amd64");
  EXPECT_EQ(libc->format, PackageFormat::kDeb);
  EXPECT_EQ(libc->source_name, "glibc");
  EXPECT_EQ(libc->source_version, "2.36-9+deb12u4") << "Source without a version: the binary's version";
  const Package* bash = Find(p, "bash");
  ASSERT_NE(bash, nullptr);
  EXPECT_EQ(bash->version, "5.2.15-2+b2");
  EXPECT_EQ(bash->source_name, "bash");
  EXPECT_EQ(bash->source_version, "5.2.15-2") << "a binNMU's source keeps its own version";
  const Package* tz = Find(p, "tzdata");
  ASSERT_NE(tz, nullptr);
  EXPECT_EQ(tz->source_name, "tzdata");
  EXPECT_EQ(tz->source_version, "2024a-0+deb12u1");
  EXPECT_EQ(tz->arch, "all");
  EXPECT_EQ(Find(p, "libssl3")->source_version, "3.0.11-1~deb12u2");
  EXPECT_EQ(Find(p, "old-removed"), nullptr) << "config-files only: not installed";
  EXPECT_EQ(Find(p, "broken-half"), nullptr) << "half-installed: not installed";
}

TEST(DpkgStatus, MalformedStanzasAreReportedWithLinesAndTheRestKept) {
  const ParsedPackages p = ParseDpkgStatus(Fixture("dpkg_status_malformed"), "/var/lib/dpkg/status");
  ASSERT_EQ(p.packages.size(), 3u);
  EXPECT_EQ(p.packages[0].name, "good-one");
  EXPECT_EQ(p.packages[1].name, "good-two");
  EXPECT_EQ(p.packages[1].version, "1:3.2-4");
  EXPECT_EQ(p.packages[1].arch, "arm64") << "a bad line inside a stanza loses only that line";
  EXPECT_EQ(p.packages[1].source_name, "good-two") << "a malformed Source falls back to the binary";
  EXPECT_EQ(p.packages[2].name, "good-three") << "a held package is installed";
  ASSERT_EQ(p.issues.size(), 4u);
  std::vector<size_t> lines;
  for (const ParseIssue& i : p.issues) {
    EXPECT_EQ(i.file, "/var/lib/dpkg/status");
    lines.push_back(i.line);
  }
  EXPECT_EQ(lines, (std::vector<size_t>{6, 10, 16, 19}));
  EXPECT_EQ(p.issues[0].ToString(), "/var/lib/dpkg/status:6: installed package stanza without a Package field; skipped");
  EXPECT_NE(p.issues[1].reason.find("no-version"), std::string::npos) << p.issues[1].reason;
}

TEST(DpkgStatus, ToleratesCrLfNoFinalNewlineAndContinuationFirst) {
  const ParsedPackages p =
      ParseDpkgStatus(" stray continuation\r\nPackage: a\r\nStatus: install ok installed\r\nVersion: 1\r\n"
                      "Description: x\r\n more\r\n\r\n\t\r\nPackage: b\nStatus: install ok installed\nVersion: 2",
                      "f");
  ASSERT_EQ(p.packages.size(), 2u);
  EXPECT_EQ(p.packages[0].version, "1");
  EXPECT_EQ(p.packages[1].version, "2");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].line, 1u);
}

TEST(DpkgStatus, DuplicateFieldKeepsTheFirst) {
  const ParsedPackages p = ParseDpkgStatus("Package: a\nVersion: 1\nVersion: 2\nStatus: install ok installed\n", "f");
  ASSERT_EQ(p.packages.size(), 1u);
  EXPECT_EQ(p.packages[0].version, "1");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].line, 3u);
}

TEST(SourceField, SplitsNameAndVersion) {
  std::string n, v;
  ASSERT_TRUE(SplitSourceField("glibc", &n, &v));
  EXPECT_EQ(n, "glibc");
  EXPECT_EQ(v, "");
  ASSERT_TRUE(SplitSourceField(" openssl (3.0.11-1~deb12u2) ", &n, &v));
  EXPECT_EQ(n, "openssl");
  EXPECT_EQ(v, "3.0.11-1~deb12u2");
  EXPECT_FALSE(SplitSourceField("bad (", &n, &v));
  EXPECT_FALSE(SplitSourceField("(1.0)", &n, &v));
  EXPECT_FALSE(SplitSourceField("two words", &n, &v));
  EXPECT_FALSE(SplitSourceField("x (1) trailing", &n, &v));
}

TEST(OpkgStatus, ReadsInstalledPackagesWithUserFlag) {
  const ParsedPackages p = ParseOpkgStatus(Fixture("opkg_status"), "/usr/lib/opkg/status");
  EXPECT_TRUE(p.issues.empty());
  ASSERT_EQ(p.packages.size(), 2u);
  EXPECT_EQ(p.packages[0].name, "busybox");
  EXPECT_EQ(p.packages[0].version, "1.36.1-1");
  EXPECT_EQ(p.packages[0].arch, "mips_24kc");
  EXPECT_EQ(p.packages[0].format, PackageFormat::kOpkg);
  EXPECT_EQ(p.packages[1].name, "dropbear");
}

// This machine's own database: every installed package dpkg-query lists is found, with the
// same version, architecture and source.
TEST(DpkgStatus, ThisMachinesDatabaseMatchesDpkgQuery) {
  std::ifstream in("/var/lib/dpkg/status");
  if (!in) GTEST_SKIP() << "no /var/lib/dpkg/status here";
  std::stringstream ss;
  ss << in.rdbuf();
  const ParsedPackages parsed = ParseDpkgStatus(ss.str(), "/var/lib/dpkg/status");
  EXPECT_TRUE(parsed.issues.empty()) << parsed.issues[0].ToString();
  std::map<std::string, const Package*> by_key;
  for (const Package& p : parsed.packages) by_key[p.name + ":" + p.arch] = &p;

  FILE* f = popen(
      "dpkg-query -W -f='${db:Status-Status}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t"
      "${source:Version}\\n' 2>&1",
      "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), f)) out.append(buf, n);
  ASSERT_EQ(pclose(f), 0) << out;
  size_t installed = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cols;
    std::istringstream cs(line);
    for (std::string c; std::getline(cs, c, '\t');) cols.push_back(c);
    ASSERT_EQ(cols.size(), 6u) << line;
    if (cols[0] != "installed") continue;
    ++installed;
    auto it = by_key.find(cols[1] + ":" + cols[2]);
    ASSERT_NE(it, by_key.end()) << "not found: " << line;
    EXPECT_EQ(it->second->version, cols[3]) << line;
    EXPECT_EQ(it->second->source_name, cols[4]) << line;
    EXPECT_EQ(it->second->source_version, cols[5]) << line;
  }
  EXPECT_GT(installed, 0u);
  EXPECT_EQ(parsed.packages.size(), installed);
}

}  // namespace
}  // namespace vigil::sbom
