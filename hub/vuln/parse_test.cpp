#include "hub/vuln/parse.h"

#include <gtest/gtest.h>

#include <fstream>
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

const Affected* Find(const Advisory& a, std::string_view ecosystem, std::string_view package) {
  for (const Affected& e : a.affected) {
    if (e.ecosystem == ecosystem && e.package == package) return &e;
  }
  return nullptr;
}

TEST(Osv, ReadsRangesSeverityAndAliases) {
  auto adv = ParseOsv(Fixture("osv/DEBIAN-CVE-2099-0001.json"), "0001.json");
  ASSERT_TRUE(adv.ok()) << adv.status().ToString();
  EXPECT_EQ(adv->id, "DEBIAN-CVE-2099-0001");
  EXPECT_EQ(adv->source, "osv");
  EXPECT_EQ(adv->modified, "2026-11-02T10:00:00Z");
  EXPECT_EQ(adv->aliases, std::vector<std::string>{"CVE-2099-0001"});
  EXPECT_DOUBLE_EQ(adv->score, 9.8);
  EXPECT_EQ(adv->severity, "critical");
  ASSERT_EQ(adv->affected.size(), 2u);
  const Affected* bookworm = Find(*adv, "Debian:12", "openssl");
  ASSERT_NE(bookworm, nullptr);
  ASSERT_EQ(bookworm->intervals.size(), 1u);
  EXPECT_EQ(bookworm->intervals[0], (Interval{"0", "3.0.13-1~deb12u1", ""}));
  EXPECT_NE(Find(*adv, "Debian:11", "openssl"), nullptr);
}

TEST(Osv, LastAffectedVersionsListsAndQualitativeSeverity) {
  auto zlib = ParseOsv(Fixture("osv/DEBIAN-CVE-2099-0002.json"), "0002.json");
  ASSERT_TRUE(zlib.ok());
  EXPECT_EQ(zlib->summary, "Fixture: zlib inflate overflow.");  // first line of details
  EXPECT_EQ(zlib->severity, "medium");                           // from ecosystem_specific.urgency
  EXPECT_EQ(zlib->affected.at(0).intervals.at(0), (Interval{"0", "", "1:1.2.13.dfsg-1"}));

  auto xml = ParseOsv(Fixture("osv/DEBIAN-CVE-2099-0003.json"), "0003.json");
  ASSERT_TRUE(xml.ok());
  EXPECT_EQ(xml->severity, "low");  // database_specific
  EXPECT_EQ(xml->affected.at(0).versions.size(), 2u);

  auto ubuntu = ParseOsv(Fixture("osv/UBUNTU-CVE-2099-0005.json"), "0005.json");
  ASSERT_TRUE(ubuntu.ok());
  EXPECT_EQ(ubuntu->severity, "high");
  EXPECT_NE(Find(*ubuntu, "Ubuntu:22.04", "openssl"), nullptr);

  auto alpine = ParseOsv(Fixture("osv/ALPINE-CVE-2099-0004.json"), "0004.json");
  ASSERT_TRUE(alpine.ok());
  EXPECT_NE(Find(*alpine, "Alpine:v3.19", "busybox"), nullptr);
  EXPECT_EQ(alpine->severity, "unknown");
}

TEST(Osv, SkipsOtherEcosystemsAndNonEcosystemRanges) {
  auto npm = ParseOsv(Fixture("osv/GHSA-fixture-npm.json"), "ghsa.json");
  ASSERT_TRUE(npm.ok());
  EXPECT_TRUE(npm->affected.empty());
  EXPECT_EQ(npm->severity, "high");
  auto shadow = ParseOsv(Fixture("osv/DEBIAN-CVE-2099-0006.json"), "0006.json");
  ASSERT_TRUE(shadow.ok());
  ASSERT_EQ(shadow->affected.size(), 1u);
  ASSERT_EQ(shadow->affected[0].intervals.size(), 1u);  // the GIT range is not read
  EXPECT_EQ(shadow->affected[0].intervals[0].fixed, "4.14");
}

TEST(Osv, EventsAreOrderedByVersionIntoIntervals) {
  auto adv = ParseOsv(R"({"id": "X-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": "2.0-1"}, {"introduced": "1.5-1"}, {"fixed": "1.0-2"},
                 {"introduced": "0"}, {"limit": "9"}]}]}]})",
                      "inline");
  ASSERT_TRUE(adv.ok()) << adv.status().ToString();
  const auto& in = adv->affected.at(0).intervals;
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(in[0], (Interval{"0", "1.0-2", ""}));
  EXPECT_EQ(in[1], (Interval{"1.5-1", "2.0-1", ""}));
}

TEST(Osv, WithdrawnRecordKeepsNoAffectedPackages) {
  auto adv = ParseOsv(R"({"id": "X-2", "withdrawn": "2026-11-01T00:00:00Z", "affected": [{"package":
      {"ecosystem": "Debian:12", "name": "p"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]})",
                      "inline");
  ASSERT_TRUE(adv.ok());
  EXPECT_TRUE(adv->affected.empty());
}

TEST(Osv, MalformedRecordsSayWhereAndWhat) {
  struct Bad {
    const char* json;
    const char* want;
  } cases[] = {
      {R"([1])", "not a JSON object"},
      {R"({"modified": "x"})", "no \"id\""},
      {R"({"id": "A", "modified": 5})", "\"modified\" is not a string"},
      {R"({"id": "A", "affected": {}})", "\"affected\" is not an array"},
      {R"({"id": "A", "affected": [{"ranges": []}]})", "affected[0] has no package"},
      {R"({"id": "A", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"}, "ranges":
          [{"type": "ECOSYSTEM", "events": [{"fixed": 7}]}]}]})",
       "an event is not"},
      {R"({"id": "A", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"}, "ranges":
          [{"type": "ECOSYSTEM", "events": [{"bogus": "1"}]}]}]})",
       "unknown event 'bogus'"},
      {R"({"id": "A", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"}, "ranges":
          [{"type": "ECOSYSTEM"}]}]})",
       "no events array"},
  };
  for (const Bad& b : cases) {
    auto adv = ParseOsv(b.json, "some/file.json");
    ASSERT_FALSE(adv.ok()) << b.json;
    std::string msg(adv.status().message());
    EXPECT_NE(msg.find("some/file.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.want), std::string::npos) << msg;
  }
}

TEST(DebianTracker, OneAdvisoryPerCveWithReleaseStatuses) {
  std::vector<std::string> errors;
  auto advs = ParseDebianTracker(Fixture("debian-tracker.json"), "tracker.json", &errors);
  ASSERT_TRUE(advs.ok()) << advs.status().ToString();
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(advs->size(), 5u);
  std::map<std::string, Advisory> by_id;
  for (const Advisory& a : *advs) by_id[a.id] = a;

  const Advisory& bash = by_id.at("CVE-2099-1001");
  EXPECT_EQ(bash.source, "debian-tracker");
  ASSERT_EQ(bash.affected.size(), 1u);  // sid has no release number: skipped
  EXPECT_EQ(bash.affected[0].ecosystem, "Debian:12");
  EXPECT_EQ(bash.affected[0].intervals.at(0), (Interval{"0", "", ""}));  // open: no fix
  EXPECT_EQ(bash.severity, "low");

  const Advisory& systemd = by_id.at("CVE-2099-1002");
  EXPECT_TRUE(systemd.affected.at(0).never_affected);
  EXPECT_EQ(systemd.severity, "negligible");

  const Advisory& glibc = by_id.at("CVE-2099-1003");
  ASSERT_EQ(glibc.affected.size(), 2u);
  EXPECT_EQ(glibc.affected[0].ecosystem, "Debian:11");
  EXPECT_EQ(glibc.affected[1].intervals.at(0).fixed, "2.36-9+deb12u10");
  EXPECT_EQ(glibc.severity, "high");
}

TEST(DebianTracker, MalformedEntriesAreReportedAndSkipped) {
  std::vector<std::string> errors;
  auto advs = ParseDebianTracker(R"({
    "curl": {"CVE-2099-2001": {"releases": {"bookworm": {"status": "weird"}}},
             "CVE-2099-2002": {"releases": {"bookworm": {"status": "resolved"}}},
             "CVE-2099-2003": {"description": "no releases"},
             "CVE-2099-2004": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "7.88.1-10+deb12u6"}}}},
    "broken": 5})",
                                 "tracker.json", &errors);
  ASSERT_TRUE(advs.ok());
  ASSERT_EQ(advs->size(), 1u);
  EXPECT_EQ(advs->at(0).id, "CVE-2099-2004");
  ASSERT_EQ(errors.size(), 4u);
  std::string all;
  for (const auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("tracker.json: curl CVE-2099-2001: release bookworm: unknown status 'weird'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("curl CVE-2099-2002: release bookworm: resolved without fixed_version"), std::string::npos) << all;
  EXPECT_NE(all.find("curl CVE-2099-2003: no releases object"), std::string::npos) << all;
  EXPECT_NE(all.find("package broken: not an object"), std::string::npos) << all;
}

TEST(Formats, DetectedByShape) {
  EXPECT_EQ(DetectFormat(Json::parse(R"({"id": "A"})")), DataFormat::kOsv);
  EXPECT_EQ(DetectFormat(Json::parse(R"([{"id": "A"}])")), DataFormat::kOsvList);
  EXPECT_EQ(DetectFormat(Json::parse(R"({"bash": {"CVE-1": {}}})")), DataFormat::kDebianTracker);
  EXPECT_EQ(DetectFormat(Json::parse(R"({"a": 1})")), DataFormat::kUnknown);
  EXPECT_EQ(DetectFormat(Json::parse("3")), DataFormat::kUnknown);
}

TEST(Ecosystems, NormalisedFromOsvAndPurlSpellings) {
  EXPECT_EQ(Ecosystem("Debian:12"), "Debian:12");
  EXPECT_EQ(Ecosystem("Debian:12.5"), "Debian:12");
  EXPECT_EQ(Ecosystem("Debian:bookworm"), "Debian:12");
  EXPECT_EQ(Ecosystem("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
  EXPECT_EQ(Ecosystem("Ubuntu:Pro:18.04:LTS"), "Ubuntu:18.04");
  EXPECT_EQ(Ecosystem("Alpine:v3.19"), "Alpine:v3.19");
  EXPECT_EQ(Ecosystem("npm"), std::nullopt);
  EXPECT_EQ(Ecosystem("Debian"), std::nullopt);
  EXPECT_EQ(EcosystemFromDistro("debian", "debian-12"), "Debian:12");
  EXPECT_EQ(EcosystemFromDistro("debian", "bookworm"), "Debian:12");
  EXPECT_EQ(EcosystemFromDistro("alpine", "3.19.1"), "Alpine:v3.19");
  EXPECT_EQ(EcosystemFromDistro("ubuntu", "ubuntu-22.04"), "Ubuntu:22.04");
  EXPECT_EQ(SchemeOf("Alpine:v3.19"), VersionScheme::kApk);
  EXPECT_EQ(SchemeOf("Ubuntu:22.04"), VersionScheme::kDpkg);
  EXPECT_EQ(SchemeOf("Rocky Linux:9"), VersionScheme::kRpm);
}

TEST(Cvss, V3BaseScores) {
  EXPECT_EQ(CvssScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8);
  EXPECT_EQ(CvssScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0);
  EXPECT_EQ(CvssScore("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"), 5.5);
  EXPECT_EQ(CvssScore("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"), 3.1);
  EXPECT_EQ(CvssScore("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
  EXPECT_EQ(CvssScore("AV:N/AC:L/Au:N/C:P/I:P/A:P"), std::nullopt);  // v2
  EXPECT_EQ(CvssScore("CVSS:3.1/AV:X/AC:L"), std::nullopt);
}

}  // namespace
}  // namespace vigil::hub::vuln
