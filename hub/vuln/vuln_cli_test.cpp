// `vuln import` and `vuln scan` as the CLI runs them, on a SQLite store in a temporary directory.
#include "hub/vuln/vuln_cli.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "hub/store/store.h"

namespace vigil::hub::vuln {
namespace {

const std::string kData = VIGIL_VULN_TESTDATA;

class VulnCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-vuln-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    url_ = "sqlite:" + dir_ + "/hub.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  int Import(std::vector<std::string> paths, std::string* out, std::string* err) {
    CliArgs args;
    args.paths = std::move(paths);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = RunVulnImport(url_, args);
    *out = ::testing::internal::GetCapturedStdout();
    *err = ::testing::internal::GetCapturedStderr();
    return rc;
  }
  int Scan(const std::string& format, bool all, std::string* out) {
    CliArgs args;
    args.sbom = kData + "/sbom-debian12.cdx.json";
    args.format = format;
    args.all = all;
    ::testing::internal::CaptureStdout();
    int rc = RunVulnScan(url_, args);
    *out = ::testing::internal::GetCapturedStdout();
    return rc;
  }
  std::string dir_, url_;
};

TEST_F(VulnCliTest, ImportPrintsASummaryAndReimportChangesNothing) {
  std::string out, err;
  EXPECT_EQ(Import({kData + "/osv", kData + "/debian-tracker.json"}, &out, &err), 0) << err;
  EXPECT_EQ(out,
            "imported 12 records from 8 files: 12 new, 0 updated, 0 unchanged, 0 older than stored; 0 errors; "
            "0 packages on 0 devices matched again\n");
  EXPECT_EQ(err, "");  // not a terminal: no progress line
  EXPECT_EQ(Import({kData + "/osv", kData + "/debian-tracker.json"}, &out, &err), 0);
  EXPECT_NE(out.find("0 new, 0 updated, 12 unchanged"), std::string::npos) << out;
}

TEST_F(VulnCliTest, ImportReportsMalformedFilesAndExitsOne) {
  std::string out, err;
  EXPECT_EQ(Import({kData + "/bad", dir_ + "/missing.json"}, &out, &err), 1);
  EXPECT_NE(out.find("imported 1 records from 4 files: 1 new"), std::string::npos) << out;
  EXPECT_NE(out.find("; 4 errors;"), std::string::npos) << out;
  EXPECT_NE(err.find("error: " + kData + "/bad/bad-event.json (DEBIAN-CVE-2099-0999)"), std::string::npos) << err;
  EXPECT_NE(err.find("missing.json: no such file or directory"), std::string::npos) << err;
}

TEST_F(VulnCliTest, ScanPrintsFindingsAsTableAndJson) {
  std::string out, err;
  ASSERT_EQ(Import({kData + "/osv", kData + "/debian-tracker.json"}, &out, &err), 0) << err;
  ASSERT_EQ(Scan("table", false, &out), 0);
  EXPECT_NE(out.find("9 packages, 7 vulnerable findings (4 with a fix, 3 without)"), std::string::npos) << out;
  EXPECT_NE(out.find("libc6"), std::string::npos);
  EXPECT_EQ(out.find("libsystemd0"), std::string::npos);  // never affected: not listed
  ASSERT_EQ(Scan("json", true, &out), 0);
  Json doc = Json::parse(out);
  EXPECT_EQ(doc["packages"], 9);
  EXPECT_EQ(doc["fixed"], 4);
  EXPECT_EQ(doc["unfixed"], 3);
  size_t not_affected = 0;
  for (const Json& f : doc["findings"]) {
    if (f["status"] == "not_affected") ++not_affected;
  }
  EXPECT_EQ(not_affected, 3u);  // systemd (never), glibc fixed earlier, shadow 4.14 below the epoch
}

TEST_F(VulnCliTest, ScanOfAMissingOrBadSbomFails) {
  CliArgs args;
  args.sbom = dir_ + "/nope.json";
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunVulnScan(url_, args), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("nope.json: cannot be read"), std::string::npos);
  args.sbom = kData + "/debian-tracker.json";  // JSON, but not a BOM
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunVulnScan(url_, args), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("not a CycloneDX BOM"), std::string::npos);
}

}  // namespace
}  // namespace vigil::hub::vuln
