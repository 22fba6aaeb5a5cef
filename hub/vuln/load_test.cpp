#include "hub/vuln/load.h"

#include <zip.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace vigil::hub::vuln {
namespace {

const std::string kData = VIGIL_VULN_TESTDATA;

struct Collected {
  std::vector<Advisory> advisories;
  LoadStats stats;
  AdvisorySink Sink() {
    return [this](Advisory a) {
      advisories.push_back(std::move(a));
      return Status::Ok();
    };
  }
};

std::string AllErrors(const LoadStats& s) {
  std::string out;
  for (const auto& e : s.errors) out += e + "\n";
  return out;
}

// Writes a zip archive of `members` (name, text) into a new temporary directory.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& members) {
  char tmpl[] = "/tmp/vigil-vuln-zip-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/Debian.zip";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  EXPECT_NE(z, nullptr);
  for (const auto& [name, text] : members) {
    zip_source_t* src = zip_source_buffer(z, text.data(), text.size(), 0);
    EXPECT_GE(zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE), 0);
  }
  EXPECT_EQ(zip_close(z), 0);  // the buffers are read here, while `members` lives
  return path;
}

TEST(Load, ADirectoryOfOsvRecords) {
  Collected c;
  ASSERT_TRUE(LoadPath(kData + "/osv", c.Sink(), &c.stats).ok());
  EXPECT_EQ(c.stats.files, 7u);
  EXPECT_EQ(c.stats.records, 7u);
  EXPECT_TRUE(c.stats.errors.empty()) << AllErrors(c.stats);
  ASSERT_EQ(c.advisories.size(), 7u);
  EXPECT_EQ(c.advisories[0].id, "ALPINE-CVE-2099-0004");  // name order
}

TEST(Load, MalformedFilesAreNamedAndTheRestLoaded) {
  Collected c;
  ASSERT_TRUE(LoadPath(kData + "/bad", c.Sink(), &c.stats).ok());
  ASSERT_EQ(c.advisories.size(), 1u);
  EXPECT_EQ(c.advisories[0].id, "DEBIAN-CVE-2099-0001");
  ASSERT_EQ(c.stats.errors.size(), 3u) << AllErrors(c.stats);
  std::string all = AllErrors(c.stats);
  EXPECT_NE(all.find("bad/bad-event.json (DEBIAN-CVE-2099-0999): affected[0]: an event is not"), std::string::npos)
      << all;
  EXPECT_NE(all.find("bad/no-id.json: neither an OSV record nor"), std::string::npos) << all;
  EXPECT_NE(all.find("bad/not-json.json: not valid JSON (at byte"), std::string::npos) << all;
}

TEST(Load, TheDebianTrackerDocument) {
  Collected c;
  ASSERT_TRUE(LoadPath(kData + "/debian-tracker.json", c.Sink(), &c.stats).ok());
  EXPECT_EQ(c.stats.records, 5u);
  EXPECT_TRUE(c.stats.errors.empty()) << AllErrors(c.stats);
}

TEST(Load, AZipOfOsvRecordsNamesTheBadMember) {
  std::string good = R"({"id": "DEBIAN-CVE-2099-0100", "modified": "2026-01-01T00:00:00Z", "affected": [
      {"package": {"ecosystem": "Debian:12", "name": "curl"},
       "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "7.88.1-10+deb12u8"}]}]}]})";
  std::string zip = MakeZip({{"DEBIAN-CVE-2099-0100.json", good},
                             {"DEBIAN-CVE-2099-0101.json", R"({"id": "X", "affected": 5})"},
                             {"README.txt", "not a record"}});
  Collected c;
  ASSERT_TRUE(LoadPath(zip, c.Sink(), &c.stats).ok());
  ASSERT_EQ(c.advisories.size(), 1u);
  EXPECT_EQ(c.advisories[0].affected.at(0).intervals.at(0).fixed, "7.88.1-10+deb12u8");
  ASSERT_EQ(c.stats.errors.size(), 1u);
  EXPECT_NE(c.stats.errors[0].find("Debian.zip:DEBIAN-CVE-2099-0101.json (X): \"affected\" is not an array"),
            std::string::npos)
      << c.stats.errors[0];
  std::filesystem::remove_all(std::filesystem::path(zip).parent_path());
}

TEST(Load, ACorruptZipAndAMissingPath) {
  char tmpl[] = "/tmp/vigil-vuln-zip-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/broken.zip";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("PK\x03\x04 this is not a zip", f);
  std::fclose(f);
  Collected c;
  EXPECT_TRUE(LoadPath(path, c.Sink(), &c.stats).ok());
  ASSERT_EQ(c.stats.errors.size(), 1u);
  EXPECT_NE(c.stats.errors[0].find("broken.zip: cannot open the zip archive"), std::string::npos)
      << c.stats.errors[0];
  Status missing = LoadPath(std::string(tmpl) + "/nope", c.Sink(), &c.stats);
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  std::filesystem::remove_all(tmpl);
}

TEST(Load, ASinkErrorStopsTheLoad) {
  LoadStats stats;
  size_t calls = 0;
  Status s = LoadPath(
      kData + "/osv",
      [&](Advisory) {
        ++calls;
        return Status::IoError("store is gone");
      },
      &stats);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(calls, 1u);
}

}  // namespace
}  // namespace vigil::hub::vuln
