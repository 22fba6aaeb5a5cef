// The vulnerability service over both store backends: import of the fixtures (OSV and the
// Debian tracker), re-import, a device's SBoM matched, and incremental re-matching.
#include "hub/vuln/service.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "hub/store/testing/pg_server.h"
#include "hub/vuln/load.h"
#include "hub/vuln/sbom.h"

namespace vigil::hub::vuln {
namespace {

enum class Backend { kSqlite, kPostgres };
const std::string kData = VIGIL_VULN_TESTDATA;

std::string NewPostgresUrl() {
  static std::once_flag once;
  static std::unique_ptr<vigil::testing::PgServer> server;
  static std::string error;
  static std::atomic<int> counter{0};
  std::call_once(once, [] {
    auto s = vigil::testing::PgServer::Start();
    if (s.ok()) {
      server = std::move(*s);
    } else {
      error = s.status().ToString();
    }
  });
  if (!server) {
    ADD_FAILURE() << "PostgreSQL test server did not start: " << error;
    return "";
  }
  auto url = server->CreateDatabase("vuln_test_" + std::to_string(++counter));
  if (!url.ok()) {
    ADD_FAILURE() << url.status().ToString();
    return "";
  }
  return *url;
}

std::vector<Advisory> LoadAll(const std::vector<std::string>& paths) {
  std::vector<Advisory> out;
  LoadStats stats;
  for (const auto& p : paths) {
    EXPECT_TRUE(LoadPath(kData + "/" + p, [&](Advisory a) {
                  out.push_back(std::move(a));
                  return Status::Ok();
                }, &stats).ok());
  }
  EXPECT_TRUE(stats.errors.empty());
  return out;
}

std::vector<Package> SbomPackagesOf(const std::string& name) {
  std::ifstream in(kData + "/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  auto sbom = ParseCycloneDx(s.str(), name);
  EXPECT_TRUE(sbom.ok());
  return sbom.ok() ? sbom->packages : std::vector<Package>{};
}

// "package advisory status fixed_version", sorted: a readable summary to compare.
std::vector<std::string> Summary(const std::vector<VulnFindingRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.package + " " + r.advisory + " " + r.status + " " + r.fixed_version);
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string> kExpected = {
    "bash CVE-2099-1001 unfixed ",
    "libc6 CVE-2099-1003 fixed 2.36-9+deb12u10",
    "libssl3 DEBIAN-CVE-2099-0001 fixed 3.0.13-1~deb12u1",
    "libxml2 DEBIAN-CVE-2099-0003 unfixed ",
    "openssl DEBIAN-CVE-2099-0001 fixed 3.0.13-1~deb12u1",
    "passwd CVE-2099-1005 fixed 1:4.13+dfsg1-1+deb12u1",
    "zlib1g DEBIAN-CVE-2099-0002 unfixed ",
};

class VulnServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      char tmpl[] = "/tmp/vigil-vuln-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url_ = "sqlite:" + dir_ + "/hub.db";
    } else {
      url_ = NewPostgresUrl();
      ASSERT_FALSE(url_.empty());
    }
    auto s = OpenStore(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    service_ = std::make_unique<VulnService>(*store_, [this] { return ++now_; });
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::vector<VulnFindingRow> Findings(const std::string& device) {
    VulnFindingQuery q;
    q.device = device;
    auto rows = store_->VulnFindings(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<VulnFindingRow>{};
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<VulnService> service_;
  int64_t now_ = 1000;
};

TEST_P(VulnServiceTest, ImportThenDeviceGivesFixedAndUnfixedFindings) {
  auto counts = service_->Import(LoadAll({"osv", "debian-tracker.json"}));
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->inserted, 12u);
  EXPECT_EQ(counts->devices, 0u);  // no device yet
  auto dev = service_->UpdateDevice("dev-1", SbomPackagesOf("sbom-debian12.cdx.json"));
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ(dev->packages, 9u);
  EXPECT_EQ(dev->matched, 9u);
  EXPECT_EQ(dev->findings, 7u);
  auto rows = Findings("dev-1");
  EXPECT_EQ(Summary(rows), kExpected);
  for (const auto& r : rows) {
    if (r.advisory == "DEBIAN-CVE-2099-0001") {
      EXPECT_EQ(r.severity, "critical");
      EXPECT_DOUBLE_EQ(r.score, 9.8);
      EXPECT_EQ(r.ecosystem, "Debian:12");
    }
    if (r.package == "bash") {
      EXPECT_EQ(r.source_version, "5.2.15-2");
    }
  }
}

TEST_P(VulnServiceTest, DeviceFirstThenImportMatchesOnlyWhatTheDataNames) {
  auto dev = service_->UpdateDevice("dev-1", SbomPackagesOf("sbom-debian12.cdx.json"));
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->findings, 0u);
  auto counts = service_->Import(LoadAll({"osv"}));
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->devices, 1u);
  // openssl (2 binaries), zlib, libxml2, shadow: the keys the OSV fixtures name on Debian 12.
  EXPECT_EQ(counts->packages_matched, 5u);
  counts = service_->Import(LoadAll({"debian-tracker.json"}));
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->packages_matched, 4u);  // bash, libsystemd0, libc6, passwd
  EXPECT_EQ(Summary(Findings("dev-1")), kExpected);
}

TEST_P(VulnServiceTest, ReimportIsIdempotentAndNewerModifiedReplaces) {
  auto all = LoadAll({"osv", "debian-tracker.json"});
  ASSERT_TRUE(service_->Import(all).ok());
  ASSERT_TRUE(service_->UpdateDevice("dev-1", SbomPackagesOf("sbom-debian12.cdx.json")).ok());
  auto again = service_->Import(all);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->inserted, 0u);
  EXPECT_EQ(again->updated, 0u);
  EXPECT_EQ(again->unchanged, 12u);
  EXPECT_EQ(again->packages_matched, 0u);  // nothing changed: nothing matched again
  EXPECT_EQ(Summary(Findings("dev-1")), kExpected);

  // openssl fixed earlier in a newer record: no longer affected; an older record is ignored.
  Advisory newer;
  for (const Advisory& a : all) {
    if (a.id == "DEBIAN-CVE-2099-0001") newer = a;
  }
  Advisory older = newer;
  newer.modified = "2026-12-01T00:00:00Z";
  newer.affected.at(0).intervals.at(0).fixed = "3.0.11-1~deb12u1";
  older.modified = "2026-01-01T00:00:00Z";
  older.affected.at(0).intervals.at(0).fixed = "9.9";
  auto changed = service_->Import(std::vector<Advisory>{newer});
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->updated, 1u);
  EXPECT_EQ(changed->packages_matched, 2u);  // libssl3 and openssl
  auto ignored = service_->Import(std::vector<Advisory>{older});
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(ignored->older, 1u);
  auto rows = Summary(Findings("dev-1"));
  EXPECT_EQ(rows.size(), kExpected.size() - 2);
  for (const auto& r : rows) EXPECT_EQ(r.find("DEBIAN-CVE-2099-0001"), std::string::npos) << r;
}

TEST_P(VulnServiceTest, ANewSbomRematchesOnlyChangedPackages) {
  ASSERT_TRUE(service_->Import(LoadAll({"osv", "debian-tracker.json"})).ok());
  std::vector<Package> pkgs = SbomPackagesOf("sbom-debian12.cdx.json");
  ASSERT_TRUE(service_->UpdateDevice("dev-1", pkgs).ok());
  // The same list again: nothing to match.
  auto same = service_->UpdateDevice("dev-1", pkgs);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->matched, 0u);
  // glibc upgraded to the fix, zlib1g removed.
  for (Package& p : pkgs) {
    if (p.name == "libc6") p.version = "2.36-9+deb12u10";
  }
  std::erase_if(pkgs, [](const Package& p) { return p.name == "zlib1g"; });
  auto upgraded = service_->UpdateDevice("dev-1", pkgs);
  ASSERT_TRUE(upgraded.ok());
  EXPECT_EQ(upgraded->matched, 1u);  // libc6 only
  EXPECT_EQ(upgraded->removed, 2u);  // the old libc6 row and zlib1g
  EXPECT_EQ(upgraded->findings, 0u);
  auto rows = Summary(Findings("dev-1"));
  EXPECT_EQ(rows.size(), kExpected.size() - 2);
  for (const auto& r : rows) {
    EXPECT_NE(r.rfind("libc6", 0), 0u) << r;
    EXPECT_NE(r.rfind("zlib1g", 0), 0u) << r;
  }
  // Another device is untouched by dev-1's changes.
  ASSERT_TRUE(service_->UpdateDevice("dev-2", SbomPackagesOf("sbom-debian12.cdx.json")).ok());
  EXPECT_EQ(Summary(Findings("dev-2")), kExpected);
  auto fleet = store_->VulnFindings({});
  ASSERT_TRUE(fleet.ok());
  EXPECT_EQ(fleet->size(), kExpected.size() * 2 - 2);
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}
INSTANTIATE_TEST_SUITE_P(Sqlite, VulnServiceTest, ::testing::Values(Backend::kSqlite), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, VulnServiceTest, ::testing::Values(Backend::kPostgres), BackendName);

}  // namespace
}  // namespace vigil::hub::vuln
