// The SBoM feed over a real SQLite store: inventory chunks gathered across rounds (and across a
// restart of the feed), changes applied in seq order, findings following them, and malformed
// events counted without losing the good ones.
#include "hub/vuln/inventory_feed.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "hub/vuln/load.h"

namespace vigil::hub::vuln {
namespace {

using Json = nlohmann::json;
const std::string kData = VIGIL_VULN_TESTDATA;

Json Pkg(const std::string& name, const std::string& version, const std::string& source = "") {
  std::string src = source.empty() ? name : source;
  return Json{{"name", name},
              {"version", version},
              {"arch", "amd64"},
              {"format", "deb"},
              {"source_name", src},
              {"source_version", version},
              {"purl", "pkg:deb/debian/" + name + "@" + version + "?arch=amd64&distro=debian-12" +
                           (source.empty() ? "" : "&upstream=" + source)}};
}

EventRow Row(const std::string& device, uint64_t seq, const std::string& action, Json data) {
  Json event = {{"v", 1}, {"device", device}, {"seq", seq}, {"ts", 1000 + seq}, {"type", "sbom"},
                {"action", action}, {"priority", "low"}, {"data", std::move(data)}};
  return EventRow{device, seq, static_cast<int64_t>(1000 + seq), "sbom", action, "low", 1, 0, event.dump()};
}

Json Chunk(const std::string& id, int chunk, int chunks, const std::vector<Json>& packages) {
  return Json{{"inventory_id", id}, {"chunk", chunk},      {"chunks", chunks}, {"package_count", 3},
              {"packages", Json(packages)}, {"os", {{"id", "debian"}, {"version_id", "12"}}},
              {"kernels", {"6.1.0"}}, {"databases", {"/var/lib/dpkg/status"}}};
}

class InventoryFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-inventory-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = OpenStore("sqlite:" + dir_ + "/hub.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    std::vector<Advisory> advisories;
    LoadStats stats;
    ASSERT_TRUE(LoadPath(kData + "/osv", [&](Advisory a) {
                  advisories.push_back(std::move(a));
                  return Status::Ok();
                }, &stats).ok());
    VulnService service(*store_, [] { return int64_t{1}; });
    ASSERT_TRUE(service.Import(advisories).ok());
    StartFeed();
  }
  void TearDown() override {
    feed_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartFeed() {
    feed_ = std::make_unique<InventoryFeed>(*store_, [] { return int64_t{2}; });
    feed_->Start();
  }
  // Stores the rows as ingest does, then hands them to the feed and waits for it.
  void Deliver(std::vector<EventRow> rows) {
    std::vector<BatchRows> batches{BatchRows{rows.front().device, std::move(rows)}};
    ASSERT_TRUE(store_->Ingest(batches, 5000).ok());
    feed_->Enqueue(batches);
    ASSERT_TRUE(feed_->WaitIdle(10'000));
  }
  std::vector<std::string> Packages(const std::string& device) {
    auto rows = store_->VulnPackages(device, {});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    for (const auto& r : rows.value_or({})) out.push_back(r.name + "=" + r.version + " " + r.ecosystem);
    return out;
  }
  std::vector<std::string> Findings(const std::string& device) {
    VulnFindingQuery q;
    q.device = device;
    auto rows = store_->VulnFindings(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    for (const auto& r : rows.value_or({})) out.push_back(r.package + " " + r.advisory + " " + r.status);
    return out;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<InventoryFeed> feed_;
};

TEST(PackageFromSbomItem, ReadsTheFieldsAndTheEcosystemFromThePurl) {
  auto p = PackageFromSbomItem(Pkg("libssl3", "3.0.11-1~deb12u2", "openssl"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "libssl3");
  EXPECT_EQ(p->source, "openssl");
  EXPECT_EQ(p->source_version, "");  // the same as the version
  EXPECT_EQ(p->ecosystem, "Debian:12");
  Json no_distro = Pkg("busybox", "1.36.1-r15");
  no_distro["purl"] = "pkg:opkg/openwrt/busybox@1.36.1-r15";
  auto q = PackageFromSbomItem(no_distro);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->ecosystem, "");
}

TEST(PackageFromSbomItem, NamesTheFieldThatIsWrong) {
  Json item = Pkg("bash", "5.2");
  item.erase("source_version");
  auto p = PackageFromSbomItem(item);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("source_version"), std::string::npos) << p.status().ToString();
  item = Pkg("bash", "5.2");
  item["purl"] = "not a purl";
  p = PackageFromSbomItem(item);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("purl"), std::string::npos) << p.status().ToString();
  EXPECT_FALSE(PackageFromSbomItem(Json::array()).ok());
}

TEST_F(InventoryFeedTest, AnInventoryCountsOnlyOnceAllItsChunksAreStoredEvenAcrossARestart) {
  Deliver({Row("dev-1", 1, "inventory",
               Chunk("inv-a", 1, 2, {Pkg("libssl3", "3.0.11-1~deb12u2", "openssl"), Pkg("openssl", "3.0.11-1~deb12u2")}))});
  EXPECT_TRUE(Packages("dev-1").empty());
  StartFeed();  // a restarted hub holds nothing in memory: the first chunk is read back from the store
  Deliver({Row("dev-1", 2, "inventory", Chunk("inv-a", 2, 2, {Pkg("bash", "5.2.15-2+b2")}))});
  EXPECT_EQ(Packages("dev-1"), (std::vector<std::string>{"bash=5.2.15-2+b2 Debian:12",
                                                         "libssl3=3.0.11-1~deb12u2 Debian:12",
                                                         "openssl=3.0.11-1~deb12u2 Debian:12"}));
  EXPECT_EQ(Findings("dev-1"), (std::vector<std::string>{"libssl3 DEBIAN-CVE-2099-0001 fixed",
                                                         "openssl DEBIAN-CVE-2099-0001 fixed"}));
  EXPECT_EQ(feed_->Stats()["inventories"], 1);
}

TEST_F(InventoryFeedTest, ChangesFollowTheInventoryInSeqOrderAndFindingsFollowThem) {
  Deliver({Row("dev-1", 1, "inventory",
               Chunk("inv-a", 1, 1, {Pkg("libssl3", "3.0.11-1~deb12u2", "openssl"), Pkg("openssl", "3.0.11-1~deb12u2")}))});
  ASSERT_EQ(Findings("dev-1").size(), 2u);
  // Upgrading openssl to the fixed version clears its finding; libssl3 removed clears the other.
  Json up = Pkg("openssl", "3.0.13-1~deb12u1");
  up["previous_version"] = "3.0.11-1~deb12u2";
  up["previous_source_version"] = "3.0.11-1~deb12u2";
  // Delivered out of order within one round: applied by seq (added, then removed).
  Deliver({Row("dev-1", 4, "removed", Pkg("curl", "7.88.1-10+deb12u5")),
           Row("dev-1", 2, "upgraded", up),
           Row("dev-1", 3, "added", Pkg("curl", "7.88.1-10+deb12u5")),
           Row("dev-1", 5, "removed", Pkg("libssl3", "3.0.11-1~deb12u2", "openssl"))});
  EXPECT_EQ(Packages("dev-1"), (std::vector<std::string>{"openssl=3.0.13-1~deb12u1 Debian:12"}));
  EXPECT_TRUE(Findings("dev-1").empty());
  EXPECT_EQ(feed_->Stats()["changes"], 4);
  // A new inventory replaces the list whole.
  Deliver({Row("dev-1", 6, "inventory", Chunk("inv-b", 1, 1, {Pkg("openssl", "3.0.11-1~deb12u2")}))});
  EXPECT_EQ(Packages("dev-1"), (std::vector<std::string>{"openssl=3.0.11-1~deb12u2 Debian:12"}));
  EXPECT_EQ(Findings("dev-1"), (std::vector<std::string>{"openssl DEBIAN-CVE-2099-0001 fixed"}));
}

TEST_F(InventoryFeedTest, MalformedEventsAreCountedAndTheRestApplied) {
  Json bad_pkg = Pkg("bash", "5.2.15-2+b2");
  bad_pkg.erase("purl");
  Json no_previous = Pkg("openssl", "3.0.13-1~deb12u1");
  Deliver({Row("dev-2", 1, "inventory", Chunk("inv", 1, 1, {Pkg("openssl", "3.0.11-1~deb12u2"), bad_pkg})),
           Row("dev-2", 2, "upgraded", no_previous),
           Row("dev-2", 3, "added", Pkg("zlib1g", "1:1.2.13.dfsg-1", "zlib"))});
  EXPECT_EQ(Packages("dev-2"), (std::vector<std::string>{"openssl=3.0.11-1~deb12u2 Debian:12",
                                                         "zlib1g=1:1.2.13.dfsg-1 Debian:12"}));
  Json stats = feed_->Stats();
  EXPECT_EQ(stats["malformed"], 2);
  EXPECT_EQ(stats["store_errors"], 0);
  EXPECT_EQ(Findings("dev-2"), (std::vector<std::string>{"openssl DEBIAN-CVE-2099-0001 fixed",
                                                         "zlib1g DEBIAN-CVE-2099-0002 unfixed"}));
}

TEST_F(InventoryFeedTest, OtherEventTypesAreNotQueued) {
  EventRow process = Row("dev-3", 1, "exec", Json::object());
  process.type = "process";
  Deliver({process});
  EXPECT_EQ(feed_->Stats()["queued"], 0);
  EXPECT_TRUE(Packages("dev-3").empty());
}

}  // namespace
}  // namespace vigil::hub::vuln
