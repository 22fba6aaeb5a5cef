// One suite for both backends: every TEST_P runs on SQLite (a temporary file) and on
// PostgreSQL (a fresh database on a server started once for the run; see testing/pg_server.h).
#include "hub/store/store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "hub/query/filter.h"
#include "hub/query/filter_cases.h"
#include "hub/store/postgres/postgres_store.h"
#include "hub/store/sqlite/sqlite_store.h"
#include "hub/store/store_internal.h"
#include "hub/store/testing/pg_server.h"

namespace vigil::hub {
namespace {

enum class Backend { kSqlite, kPostgres };

// The PostgreSQL server: started on first use, stopped when the test program ends.
class PgEnvironment : public ::testing::Environment {
 public:
  static testing::PgServer* Server(std::string* error) {
    static std::once_flag once;
    std::call_once(once, [] {
      auto s = testing::PgServer::Start();
      if (s.ok()) {
        server_ = std::move(*s);
      } else {
        error_ = s.status().ToString();
      }
    });
    *error = error_;
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<testing::PgServer> server_;
  static inline std::string error_;
};
[[maybe_unused]] ::testing::Environment* const kPgEnvironment = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

std::string NewPostgresDatabase() {
  static std::atomic<int> counter{0};
  std::string error;
  testing::PgServer* server = PgEnvironment::Server(&error);
  if (server == nullptr) {
    ADD_FAILURE() << "PostgreSQL test server did not start: " << error;
    return "";
  }
  auto url = server->CreateDatabase("store_test_" + std::to_string(++counter));
  if (!url.ok()) {
    ADD_FAILURE() << url.status().ToString();
    return "";
  }
  return *url;
}

EventRow Ev(const std::string& device, uint64_t seq, int64_t ts, const std::string& type = "process",
            const std::string& action = "exec", Json data = Json::object()) {
  EventRow e;
  e.device = device;
  e.seq = seq;
  e.ts_ms = ts;
  e.type = type;
  e.action = action;
  e.priority = "medium";
  Json j = {{"v", 1}, {"device", device}, {"seq", seq}, {"ts", ts}, {"type", type}, {"priority", "medium"}};
  if (!action.empty()) j["action"] = action;
  j["data"] = std::move(data);
  e.json = j.dump();
  return e;
}

BatchRows Batch(const std::string& device, const std::vector<uint64_t>& seqs, int64_t ts_per_seq = 1000) {
  BatchRows b;
  b.device = device;
  for (uint64_t s : seqs) b.events.push_back(Ev(device, s, static_cast<int64_t>(s) * ts_per_seq));
  return b;
}

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> v;
  for (uint64_t s = first; s <= last; ++s) v.push_back(s);
  return v;
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kSqlite) {
      char tmpl[] = "/tmp/vigil-store-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url_ = "sqlite:" + dir_ + "/hub.db";
    } else {
      url_ = NewPostgresDatabase();
      ASSERT_FALSE(url_.empty());
    }
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = OpenStore(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  // A hand-written filter in this backend's dialect (until the filter compiler is used here).
  SqlFilter Filter(const std::string& sqlite_where, const std::string& pg_where, std::vector<SqlParam> params) const {
    return SqlFilter{GetParam() == Backend::kSqlite ? sqlite_where : pg_where, std::move(params)};
  }

  IngestResult MustIngest(std::vector<BatchRows> batches, int64_t now_ms = 1'000'000) {
    auto r = store_->Ingest(batches, now_ms);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : IngestResult{};
  }

  DeviceRow MustDevice(const std::string& id) {
    auto d = store_->Device(id);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(d.ok() && d->has_value()) << "no device " << id;
    return d.ok() && d->has_value() ? **d : DeviceRow{};
  }

  uint64_t CountAll() {
    auto n = store_->Count(EventQuery{});
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.value_or(0);
  }

  std::vector<uint64_t> SearchSeqs(const EventQuery& q) {
    auto rows = store_->Search(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<uint64_t> seqs;
    if (rows.ok()) {
      for (const EventRow& e : *rows) seqs.push_back(e.seq);
    }
    return seqs;
  }

  std::string dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, DialectMatchesBackend) {
  EXPECT_EQ(store_->dialect(), GetParam() == Backend::kSqlite ? SqlDialect::kSqlite : SqlDialect::kPostgres);
  EXPECT_EQ(store_->Describe(), url_);
}

TEST_P(StoreTest, SameBatchTwiceIsStoredOnceAndCountedAsDuplicates) {
  IngestResult first = MustIngest({Batch("dev-a", Range(1, 10))});
  EXPECT_EQ(first.inserted, 10u);
  EXPECT_EQ(first.duplicates, 0u);
  IngestResult again = MustIngest({Batch("dev-a", Range(1, 10))});
  EXPECT_EQ(again.inserted, 0u);
  EXPECT_EQ(again.duplicates, 10u);
  IngestResult overlap = MustIngest({Batch("dev-a", Range(5, 15))});
  EXPECT_EQ(overlap.inserted, 5u);
  EXPECT_EQ(overlap.duplicates, 6u);
  EXPECT_EQ(CountAll(), 15u);
  DeviceRow d = MustDevice("dev-a");
  EXPECT_EQ(d.events, 15u);
  EXPECT_EQ(d.min_seq, 1u);
  EXPECT_EQ(d.max_seq, 15u);
  EXPECT_EQ(d.missing, 0u);
}

TEST_P(StoreTest, DuplicateSeqWithinOneBatchIsStoredOnce) {
  IngestResult r = MustIngest({Batch("dev-a", {1, 2, 2, 3})});
  EXPECT_EQ(r.inserted, 3u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(MustDevice("dev-a").events, 3u);
}

TEST_P(StoreTest, IngestStoresNothingWhenTheDatabaseRejectsARowMidway) {
  BatchRows good = Batch("dev-a", Range(1, 10));
  BatchRows bad = Batch("dev-b", Range(1, 5));
  // A seq beyond 2^63-1 does not fit the column: the schema's CHECK rejects it after the rows
  // before it were inserted.
  bad.events.push_back(Ev("dev-b", uint64_t{1} << 63, 6000));
  bad.events.push_back(Ev("dev-b", 7, 7000));
  auto r = store_->Ingest(std::vector<BatchRows>{good, bad}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("dev-b"), std::string_view::npos) << r.status().ToString();
  EXPECT_EQ(CountAll(), 0u);
  auto devices = store_->Devices();
  ASSERT_TRUE(devices.ok());
  EXPECT_TRUE(devices->empty());
  // The store is usable afterwards, and the good batch alone goes in whole.
  EXPECT_EQ(MustIngest({good}).inserted, 10u);
  EXPECT_EQ(CountAll(), 10u);
}

TEST_P(StoreTest, IngestRejectsAnEventOfAnotherDeviceAndStoresNothing) {
  BatchRows bad = Batch("dev-a", Range(1, 3));
  bad.events[1].device = "dev-x";
  auto r = store_->Ingest(std::vector<BatchRows>{Batch("dev-b", {1}), bad}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(CountAll(), 0u);
}

TEST_P(StoreTest, GapsListTheMissingRunsAndMissingCountsThem) {
  MustIngest({Batch("dev-a", {1, 2, 3, 7, 9, 10})});
  auto gaps = store_->Gaps("dev-a", 100);
  ASSERT_TRUE(gaps.ok()) << gaps.status().ToString();
  EXPECT_EQ(*gaps, (std::vector<SeqGap>{{4, 6}, {8, 8}}));
  auto first = store_->Gaps("dev-a", 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, (std::vector<SeqGap>{{4, 6}}));
  DeviceRow d = MustDevice("dev-a");
  EXPECT_EQ(d.events, 6u);
  EXPECT_EQ(d.min_seq, 1u);
  EXPECT_EQ(d.max_seq, 10u);
  EXPECT_EQ(d.missing, 4u);
  // Filling a gap shrinks it.
  MustIngest({Batch("dev-a", {5, 8})});
  gaps = store_->Gaps("dev-a", 100);
  ASSERT_TRUE(gaps.ok());
  EXPECT_EQ(*gaps, (std::vector<SeqGap>{{4, 4}, {6, 6}}));
  EXPECT_EQ(MustDevice("dev-a").missing, 2u);
  auto none = store_->Gaps("dev-unknown", 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, DeviceStatesFollowStatusMessagesAndMarkSilent) {
  ASSERT_TRUE(store_->AddDevice("dev-d", "lab", 500).ok());
  EXPECT_EQ(MustDevice("dev-d").state, DeviceState::kNever);
  EXPECT_EQ(MustDevice("dev-d").group, "lab");
  ASSERT_TRUE(store_->SetDeviceState("dev-a", DeviceState::kOnline, "1.2.3", 1000).ok());
  ASSERT_TRUE(store_->SetDeviceState("dev-b", DeviceState::kOffline, "", 1000).ok());
  ASSERT_TRUE(store_->SetDeviceState("dev-c", DeviceState::kOnline, "1.2.3", 5000).ok());
  DeviceRow a = MustDevice("dev-a");
  EXPECT_EQ(a.state, DeviceState::kOnline);
  EXPECT_EQ(a.agent_version, "1.2.3");
  EXPECT_EQ(a.first_seen_ms, 1000);
  EXPECT_EQ(a.last_seen_ms, 1000);
  // The offline will keeps the version the online message gave.
  ASSERT_TRUE(store_->SetDeviceState("dev-c", DeviceState::kOffline, "9.9", 5000).ok());
  EXPECT_EQ(MustDevice("dev-c").agent_version, "1.2.3");

  auto silent = store_->MarkSilent(/*now_ms=*/7000, /*silent_after_ms=*/3000);
  ASSERT_TRUE(silent.ok()) << silent.status().ToString();
  EXPECT_EQ(*silent, (std::vector<std::string>{"dev-a", "dev-b"}));
  EXPECT_EQ(MustDevice("dev-a").state, DeviceState::kSilent);
  EXPECT_EQ(MustDevice("dev-b").state, DeviceState::kSilent);
  EXPECT_EQ(MustDevice("dev-c").state, DeviceState::kOffline);
  EXPECT_EQ(MustDevice("dev-d").state, DeviceState::kNever);
  // Already silent: not reported again.
  silent = store_->MarkSilent(7000, 3000);
  ASSERT_TRUE(silent.ok());
  EXPECT_TRUE(silent->empty());
  // Events from a silent device bring it back online.
  MustIngest({Batch("dev-a", {1})}, 8000);
  EXPECT_EQ(MustDevice("dev-a").state, DeviceState::kOnline);
  EXPECT_EQ(MustDevice("dev-a").last_seen_ms, 8000);
  EXPECT_EQ(MustDevice("dev-a").last_event_ms, 8000);
  EXPECT_EQ(MustDevice("dev-a").first_seen_ms, 1000);

  auto all = store_->Devices();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const DeviceRow& d : *all) ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"dev-a", "dev-b", "dev-c", "dev-d"}));
  EXPECT_EQ(DeviceStateName(DeviceState::kSilent), "silent");
  EXPECT_EQ(DeviceStateName(DeviceState::kNever), "never");
}

TEST_P(StoreTest, RevokedDeviceStaysRevokedWhenAddedAgain) {
  ASSERT_TRUE(store_->AddDevice("dev-a", "", 100).ok());
  ASSERT_TRUE(store_->SetRevoked("dev-a", true).ok());
  ASSERT_TRUE(store_->AddDevice("dev-a", "lab", 200).ok());
  DeviceRow d = MustDevice("dev-a");
  EXPECT_TRUE(d.revoked);
  EXPECT_EQ(d.group, "lab");
  ASSERT_TRUE(store_->SetRevoked("dev-a", false).ok());
  EXPECT_FALSE(MustDevice("dev-a").revoked);
  EXPECT_EQ(store_->SetRevoked("dev-nobody", true).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->SetDeviceGroup("dev-nobody", "lab").code(), Status::Code::kNotFound);
  auto none = store_->Device("dev-nobody");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreTest, EffectiveDesiredIsTheDevicesOwnElseItsGroups) {
  ASSERT_TRUE(store_->AddDevice("dev-a", "lab", 100).ok());
  ASSERT_TRUE(store_->AddDevice("dev-b", "", 100).ok());
  Json group_config = {{"collectors", {{"process", {{"enabled", true}}}}}};
  ASSERT_TRUE(store_->SetDesired({"group", "lab", "g1", group_config, 1000}).ok());
  auto eff = store_->EffectiveDesired("dev-a");
  ASSERT_TRUE(eff.ok()) << eff.status().ToString();
  ASSERT_TRUE(eff->has_value());
  EXPECT_EQ((*eff)->scope, "group");
  EXPECT_EQ((*eff)->version, "g1");
  EXPECT_EQ((*eff)->config, group_config);
  EXPECT_EQ((*eff)->updated_ms, 1000);

  Json own = {{"log_level", "debug"}};
  ASSERT_TRUE(store_->SetDesired({"device", "dev-a", "d1", own, 2000}).ok());
  eff = store_->EffectiveDesired("dev-a");
  ASSERT_TRUE(eff.ok() && eff->has_value());
  EXPECT_EQ((*eff)->scope, "device");
  EXPECT_EQ((*eff)->name, "dev-a");
  EXPECT_EQ((*eff)->config, own);

  auto none = store_->EffectiveDesired("dev-b");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_->SetDeviceGroup("dev-b", "lab").ok());
  eff = store_->EffectiveDesired("dev-b");
  ASSERT_TRUE(eff.ok() && eff->has_value());
  EXPECT_EQ((*eff)->version, "g1");

  // A new version replaces the old one.
  ASSERT_TRUE(store_->SetDesired({"group", "lab", "g2", group_config, 3000}).ok());
  auto all = store_->DesiredConfigs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].scope, "device");
  EXPECT_EQ((*all)[1].scope, "group");
  EXPECT_EQ((*all)[1].version, "g2");
  EXPECT_EQ(store_->SetDesired({"fleet", "x", "1", Json::object(), 0}).code(), Status::Code::kInvalidArgument);
}

TEST_P(StoreTest, ReportedIsKeptOnTheDeviceRow) {
  EXPECT_TRUE(MustIngest({Batch("dev-a", {1})}).inserted == 1);
  EXPECT_TRUE(MustDevice("dev-a").reported.is_null());
  Json reported = {{"version", "d1"}, {"applied", true}, {"errors", Json::array()}};
  ASSERT_TRUE(store_->SetReported("dev-a", reported, 2000).ok());
  EXPECT_EQ(MustDevice("dev-a").reported, reported);
  Json newer = {{"version", "d2"}, {"applied", false}, {"errors", {"bad key"}}};
  ASSERT_TRUE(store_->SetReported("dev-a", newer, 3000).ok());
  EXPECT_EQ(MustDevice("dev-a").reported, newer);
}

TEST_P(StoreTest, SystemInfoViewKeepsTheNewestByTs) {
  BatchRows b;
  b.device = "dev-a";
  b.events.push_back(Ev("dev-a", 1, 2000, "system_info", "", {{"hostname", "middle"}}));
  b.events.push_back(Ev("dev-a", 2, 1000, "system_info", "", {{"hostname", "oldest"}}));
  MustIngest({b});
  EXPECT_EQ(MustDevice("dev-a").system_info, (Json{{"hostname", "middle"}}));
  BatchRows older;
  older.device = "dev-a";
  older.events.push_back(Ev("dev-a", 3, 1500, "system_info", "", {{"hostname", "stale"}}));
  MustIngest({older});
  EXPECT_EQ(MustDevice("dev-a").system_info, (Json{{"hostname", "middle"}}));
  BatchRows newer;
  newer.device = "dev-a";
  newer.events.push_back(Ev("dev-a", 4, 3000, "system_info", "", {{"hostname", "newest"}, {"kernel", "6.1"}}));
  MustIngest({newer});
  EXPECT_EQ(MustDevice("dev-a").system_info, (Json{{"hostname", "newest"}, {"kernel", "6.1"}}));
  MustIngest({Batch("dev-b", {1})});
  EXPECT_TRUE(MustDevice("dev-b").system_info.is_null());
}

// A posture event's data as the agent sends it (schema/events.yml, posture), with `tag` as the
// policy version so that tests tell scans apart.
Json PostureData(const std::string& tag, int pass, int fail) {
  Json checks = Json::array();
  checks.push_back({{"id", "ssh-root-login"},
                    {"title", "SSH refuses root logins"},
                    {"group", "ssh"},
                    {"severity", "high"},
                    {"result", fail > 0 ? "fail" : "pass"},
                    {"references", Json::array({"CIS Debian Linux 12 v1.1.0 5.1.20"})},
                    {"evidence", "/etc/ssh/sshd_config:12: PermitRootLogin yes # caf\u00e9"},
                    {"remediation", "Set PermitRootLogin no"}});
  Json summary = {{"pass", pass}, {"fail", fail}, {"not_applicable", 1}, {"error", 0}};
  if (pass + fail > 0) summary["score"] = 100.0 * pass / (pass + fail);
  return {{"policy", {{"id", "vigil-linux-baseline"}, {"name", "Baseline"}, {"version", tag}}},
          {"summary", summary},
          {"duration_ms", 42},
          {"disabled", 0},
          {"checks", checks}};
}

std::vector<PostureRow> MustPostures(Store& store, std::optional<std::string_view> device = std::nullopt) {
  auto rows = store.Postures(device);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<PostureRow>{};
}

TEST_P(StoreTest, PostureViewKeepsTheNewestScanByTsThenSeq) {
  BatchRows b;
  b.device = "dev-a";
  b.events.push_back(Ev("dev-a", 1, 2000, "posture", "scan", PostureData("middle", 3, 1)));
  b.events.push_back(Ev("dev-a", 2, 1000, "posture", "scan", PostureData("oldest", 4, 0)));
  b.events.push_back(Ev("dev-a", 3, 2500, "process", "exec"));
  MustIngest({b});
  auto rows = MustPostures(*store_, "dev-a");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (PostureRow{"dev-a", 2000, 1, PostureData("middle", 3, 1)}));

  // An older scan arriving later is ignored; so is a resent (duplicate) seq with other data.
  BatchRows older;
  older.device = "dev-a";
  older.events.push_back(Ev("dev-a", 4, 1500, "posture", "scan", PostureData("stale", 1, 3)));
  older.events.push_back(Ev("dev-a", 1, 9000, "posture", "scan", PostureData("resent", 0, 4)));
  IngestResult r = MustIngest({older});
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(MustPostures(*store_, "dev-a")[0].data["policy"]["version"], "middle");

  // The same ts: the higher seq wins (a scan the device sent after).
  BatchRows same_ts;
  same_ts.device = "dev-a";
  same_ts.events.push_back(Ev("dev-a", 5, 2000, "posture", "scan", PostureData("same-ts", 2, 2)));
  MustIngest({same_ts});
  EXPECT_EQ(MustPostures(*store_, "dev-a")[0].data["policy"]["version"], "same-ts");

  BatchRows newer;
  newer.device = "dev-a";
  newer.events.push_back(Ev("dev-a", 6, 3000, "posture", "scan", PostureData("newest", 4, 0)));
  MustIngest({newer});
  rows = MustPostures(*store_, "dev-a");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (PostureRow{"dev-a", 3000, 6, PostureData("newest", 4, 0)}));
  EXPECT_EQ(rows[0].data["summary"]["score"], 100.0);
}

TEST_P(StoreTest, PosturesListEveryDeviceThatSentOneByDevice) {
  BatchRows c, a, b;
  c.device = "dev-c";
  c.events.push_back(Ev("dev-c", 1, 1000, "posture", "scan", PostureData("c", 1, 2)));
  a.device = "dev-a";
  a.events.push_back(Ev("dev-a", 1, 1000, "posture", "scan", PostureData("a", 2, 1)));
  b.device = "dev-b";
  b.events.push_back(Ev("dev-b", 1, 1000, "system_info", "", {{"hostname", "b"}}));
  MustIngest({c, a, b});
  auto rows = MustPostures(*store_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].device, "dev-a");
  EXPECT_EQ(rows[0].data, PostureData("a", 2, 1));
  EXPECT_EQ(rows[1].device, "dev-c");
  EXPECT_EQ(rows[1].data, PostureData("c", 1, 2));
  EXPECT_TRUE(MustPostures(*store_, "dev-b").empty());
  EXPECT_TRUE(MustPostures(*store_, "nobody").empty());
  // A posture event's data is kept apart from system_info.
  EXPECT_EQ(MustDevice("dev-b").system_info, (Json{{"hostname", "b"}}));
  EXPECT_TRUE(MustDevice("dev-a").system_info.is_null());
}

TEST_P(StoreTest, PostureRowOutlivesItsEventAndSurvivesReopening) {
  BatchRows b;
  b.device = "dev-a";
  b.events.push_back(Ev("dev-a", 1, 1000, "posture", "scan", PostureData("kept", 5, 1)));
  b.events.push_back(Ev("dev-a", 2, 50'000, "process", "exec"));
  MustIngest({b});
  auto retention = store_->ApplyRetention(60'000, 30'000, 0);
  ASSERT_TRUE(retention.ok()) << retention.status().ToString();
  EXPECT_EQ(retention->deleted_by_age, 1u);
  auto left = store_->Count(EventQuery{});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 1u);
  Reopen();
  auto rows = MustPostures(*store_, "dev-a");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (PostureRow{"dev-a", 1000, 1, PostureData("kept", 5, 1)}));
}

TEST_P(StoreTest, APostureEventThatIsNotAnObjectFailsTheWholeIngest) {
  BatchRows b;
  b.device = "dev-a";
  b.events.push_back(Ev("dev-a", 1, 1000, "process", "exec"));
  EventRow bad = Ev("dev-a", 2, 2000, "posture", "scan");
  bad.json = "[1, 2]";
  b.events.push_back(bad);
  auto r = store_->Ingest(std::vector<BatchRows>{b}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("seq 2: posture event"), std::string_view::npos) << r.status().ToString();
  auto n = store_->Count(EventQuery{});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(MustPostures(*store_).empty());
}

// A store made by a hub that knew schema version 3 (no posture table) gains it on opening.
TEST_P(StoreTest, OpeningASchemaVersion3StoreAddsThePostureTable) {
  store_.reset();
  if (GetParam() == Backend::kSqlite) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/hub.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "DROP TABLE posture; PRAGMA user_version=3", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  } else {
    std::string error;
    testing::PgServer* server = PgEnvironment::Server(&error);
    ASSERT_NE(server, nullptr) << error;
    const std::string db = url_.substr(url_.rfind('/') + 1);
    Status st = server->Execute("DROP TABLE posture; UPDATE vigil_schema SET version = 3", db);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Reopen();
  ASSERT_TRUE(store_);
  BatchRows b;
  b.device = "dev-a";
  b.events.push_back(Ev("dev-a", 1, 1000, "posture", "scan", PostureData("migrated", 1, 0)));
  MustIngest({b});
  auto rows = MustPostures(*store_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].data["policy"]["version"], "migrated");
}

class SearchTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    // dev-a: seq 1..6 at ts 100..600, users alternate root/pi; dev-b: seq 1..3 at ts 200..400
    // (the same ts as dev-a's 2..4: ties ordered by device).
    BatchRows a, b;
    a.device = "dev-a";
    b.device = "dev-b";
    for (uint64_t s = 1; s <= 6; ++s) {
      a.events.push_back(Ev("dev-a", s, static_cast<int64_t>(s) * 100, "process", s % 2 ? "exec" : "exit",
                            {{"user", s % 2 ? "root" : "pi"}, {"pid", 1000 + s}}));
    }
    for (uint64_t s = 1; s <= 3; ++s) {
      b.events.push_back(
          Ev("dev-b", s, static_cast<int64_t>(s + 1) * 100, "network", "connect", {{"user", "root"}, {"port", 443}}));
    }
    MustIngest({a, b}, 5000);
  }
  static std::vector<std::string> Keys(const std::vector<EventRow>& rows) {
    std::vector<std::string> k;
    for (const EventRow& e : rows) k.push_back(e.device + "/" + std::to_string(e.seq));
    return k;
  }
};

TEST_P(SearchTest, NewestFirstThenDeviceThenSeq) {
  auto rows = store_->Search(EventQuery{});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Keys(*rows), (std::vector<std::string>{"dev-a/6", "dev-a/5", "dev-a/4", "dev-b/3", "dev-a/3", "dev-b/2",
                                                   "dev-a/2", "dev-b/1", "dev-a/1"}));
  EventQuery oldest;
  oldest.newest_first = false;
  oldest.limit = 4;
  rows = store_->Search(oldest);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Keys(*rows), (std::vector<std::string>{"dev-a/1", "dev-a/2", "dev-b/1", "dev-a/3"}));
}

TEST_P(SearchTest, ReturnsTheStoredColumnsAndTheSameJson) {
  EventQuery q;
  q.filter = Filter("device = ?1 AND seq = ?2", "device = $1 AND seq = $2", {std::string("dev-a"), int64_t{3}});
  auto rows = store_->Search(q);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  const EventRow& e = (*rows)[0];
  EventRow sent = Ev("dev-a", 3, 300, "process", "exec", {{"user", "root"}, {"pid", 1003}});
  EXPECT_EQ(e.device, "dev-a");
  EXPECT_EQ(e.seq, 3u);
  EXPECT_EQ(e.ts_ms, 300);
  EXPECT_EQ(e.type, "process");
  EXPECT_EQ(e.action, "exec");
  EXPECT_EQ(e.priority, "medium");
  EXPECT_EQ(e.count, 1u);
  EXPECT_EQ(e.received_ms, 5000);
  EXPECT_EQ(Json::parse(e.json), Json::parse(sent.json));
}

TEST_P(SearchTest, TimeRangeIsSinceInclusiveUntilExclusive) {
  EventQuery q;
  q.since_ms = 200;
  q.until_ms = 400;
  q.newest_first = false;
  auto rows = store_->Search(q);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(Keys(*rows), (std::vector<std::string>{"dev-a/2", "dev-b/1", "dev-a/3", "dev-b/2"}));
  auto n = store_->Count(q);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
}

TEST_P(SearchTest, FilterParamsAreNumberedBeforeTheRangeAndLimit) {
  EventQuery q;
  q.filter = Filter("device = ?1 AND json_extract(body, '$.data.user') = ?2",
                    "device = $1 AND body->'data'->>'user' = $2", {std::string("dev-a"), std::string("root")});
  q.since_ms = 100;
  q.until_ms = 600;
  q.limit = 2;
  EXPECT_EQ(SearchSeqs(q), (std::vector<uint64_t>{5, 3}));
  auto n = store_->Count(q);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);  // 1, 3, 5: Count ignores the limit
  EventQuery by_port;
  by_port.filter = Filter("CAST(json_extract(body, '$.data.port') AS INTEGER) = ?1",
                          "(body->'data'->>'port')::bigint = $1", {int64_t{443}});
  EXPECT_EQ(SearchSeqs(by_port), (std::vector<uint64_t>{3, 2, 1}));
  EventQuery none;
  none.filter = Filter("type = ?1", "type = $1", {std::string("nothing")});
  EXPECT_TRUE(SearchSeqs(none).empty());
}

TEST_P(SearchTest, ABadFilterIsAnErrorNotACrash) {
  EventQuery q;
  q.filter = SqlFilter{"no_such_column = 1", {}};
  EXPECT_FALSE(store_->Search(q).ok());
  EXPECT_FALSE(store_->Count(q).ok());
  EXPECT_EQ(CountAll(), 9u);  // and the store still answers
}

TEST_P(StoreTest, RetentionByAgeDeletesOldEventsAndKeepsMissingRight) {
  MustIngest({Batch("dev-a", {1, 2, 3, 4, 6, 7, 9, 10}), Batch("dev-b", {1, 2})});
  // ts = seq * 1000; cutoff 6500 deletes dev-a 1, 2, 3, 4, 6 and dev-b 1, 2.
  auto r = store_->ApplyRetention(/*now_ms=*/10'000, /*max_age_ms=*/3500, /*max_bytes=*/0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted_by_age, 7u);
  EXPECT_EQ(r->deleted_by_size, 0u);
  DeviceRow a = MustDevice("dev-a");
  EXPECT_EQ(a.events, 3u);
  EXPECT_EQ(a.min_seq, 7u);
  EXPECT_EQ(a.max_seq, 10u);
  EXPECT_EQ(a.missing, 1u);
  auto gaps = store_->Gaps("dev-a", 10);
  ASSERT_TRUE(gaps.ok());
  EXPECT_EQ(*gaps, (std::vector<SeqGap>{{8, 8}}));
  DeviceRow b = MustDevice("dev-b");
  EXPECT_EQ(b.events, 0u);
  EXPECT_EQ(b.min_seq, 0u);
  EXPECT_EQ(b.max_seq, 0u);
  EXPECT_EQ(b.missing, 0u);
  EXPECT_EQ(CountAll(), 3u);
  // New events after everything was deleted start a new span.
  MustIngest({Batch("dev-b", {20, 21})});
  b = MustDevice("dev-b");
  EXPECT_EQ(b.min_seq, 20u);
  EXPECT_EQ(b.max_seq, 21u);
  EXPECT_EQ(b.missing, 0u);
}

TEST_P(StoreTest, RetentionBySizeDeletesTheOldestAcrossDevices) {
  // 50 events per device, all of one size; dev-a's ts are 10 ms apart, dev-b's between them.
  BatchRows a, b;
  a.device = "dev-a";
  b.device = "dev-b";
  for (uint64_t s = 100; s < 150; ++s) {
    a.events.push_back(Ev("dev-a", s, 1'000'000 + static_cast<int64_t>(s) * 10));
    b.events.push_back(Ev("dev-b", s, 1'000'005 + static_cast<int64_t>(s) * 10));
  }
  MustIngest({a, b});
  auto before = store_->Stats();
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->event_bytes % 100, 0u);
  uint64_t per_event = before->event_bytes / 100;
  ASSERT_GT(per_event, 100u);
  // Room for 40 and a half events: the 60 oldest go.
  auto r = store_->ApplyRetention(2'000'000, 0, 40 * per_event + per_event / 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted_by_age, 0u);
  EXPECT_EQ(r->deleted_by_size, 60u);
  auto after = store_->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->events, 40u);
  EXPECT_EQ(after->event_bytes, 40 * per_event);
  for (const char* id : {"dev-a", "dev-b"}) {
    DeviceRow d = MustDevice(id);
    EXPECT_EQ(d.events, 20u) << id;
    EXPECT_EQ(d.min_seq, 130u) << id;
    EXPECT_EQ(d.max_seq, 149u) << id;
    EXPECT_EQ(d.missing, 0u) << id;
  }
  // Within the limit: nothing more goes.
  r = store_->ApplyRetention(2'000'000, 0, 40 * per_event);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted_by_size, 0u);
  EXPECT_EQ(CountAll(), 40u);
}

TEST_P(StoreTest, RetentionDeletesMoreThanOneChunk) {
  constexpr uint64_t kEvents = store_internal::kRetentionChunk * 2 + 17;
  std::vector<BatchRows> batches;
  for (uint64_t s = 1; s <= kEvents; s += 500)
    batches.push_back(Batch("dev-a", Range(s, std::min(kEvents, s + 499)), 1));
  MustIngest(batches);
  auto r = store_->ApplyRetention(/*now_ms=*/kEvents + 1, /*max_age_ms=*/11, 0);  // keeps ts >= kEvents - 10
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted_by_age, kEvents - 11);
  EXPECT_EQ(CountAll(), 11u);
  EXPECT_EQ(MustDevice("dev-a").min_seq, kEvents - 10);
}

TEST_P(StoreTest, StatsCountEventsDevicesAndBytes) {
  MustIngest({Batch("dev-a", Range(1, 20)), Batch("dev-b", Range(1, 5))});
  ASSERT_TRUE(store_->AddDevice("dev-c", "", 0).ok());
  auto s = store_->Stats();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->events, 25u);
  EXPECT_EQ(s->devices, 3u);
  EXPECT_GT(s->bytes, 0u);
  EXPECT_GT(s->event_bytes, 25u * 50);
}

TEST_P(StoreTest, ReopeningKeepsEverything) {
  MustIngest({Batch("dev-a", {1, 2, 5})});
  ASSERT_TRUE(store_->SetDeviceState("dev-a", DeviceState::kOnline, "2.0", 1'000'000).ok());
  ASSERT_TRUE(store_->SetDesired({"device", "dev-a", "v7", {{"k", 1}}, 42}).ok());
  ASSERT_TRUE(store_->SetReported("dev-a", {{"version", "v7"}}, 43).ok());
  Reopen();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(CountAll(), 3u);
  DeviceRow d = MustDevice("dev-a");
  EXPECT_EQ(d.agent_version, "2.0");
  EXPECT_EQ(d.missing, 2u);
  EXPECT_EQ(d.reported, (Json{{"version", "v7"}}));
  auto eff = store_->EffectiveDesired("dev-a");
  ASSERT_TRUE(eff.ok() && eff->has_value());
  EXPECT_EQ((*eff)->version, "v7");
  // And it still ingests idempotently.
  EXPECT_EQ(MustIngest({Batch("dev-a", {1, 2, 3})}).inserted, 1u);
}

TEST_P(StoreTest, ConcurrentIngestFromFourThreadsLosesNothing) {
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 1000;
  std::atomic<uint64_t> inserted{0}, duplicates{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string own = "dev-" + std::to_string(t);
      for (uint64_t s = 1; s <= kPerThread; s += 50) {
        // Each call: 50 of its own device's events, and 10 of a device every thread sends.
        std::vector<BatchRows> batches{Batch(own, Range(s, s + 49)), Batch("dev-shared", Range(s / 5, s / 5 + 9))};
        auto r = store_->Ingest(batches, 1000);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        inserted += r->inserted;
        duplicates += r->duplicates;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0u);
  auto shared = store_->Device("dev-shared");
  ASSERT_TRUE(shared.ok() && shared->has_value());
  uint64_t shared_events = (*shared)->events;
  EXPECT_EQ(inserted.load(), kThreads * kPerThread + shared_events);
  EXPECT_EQ(inserted.load() + duplicates.load(), kThreads * (kPerThread + kPerThread / 50 * 10));
  EXPECT_EQ(CountAll(), kThreads * kPerThread + shared_events);
  for (int t = 0; t < kThreads; ++t) {
    DeviceRow d = MustDevice("dev-" + std::to_string(t));
    EXPECT_EQ(d.events, kPerThread);
    EXPECT_EQ(d.missing, 0u);
  }
}

// Every case of the filter language's shared table (hub/query/filter_cases.h), compiled for
// this backend's dialect, matches exactly the expected seqs: both backends give the same
// answers as the compiler's own tests.
TEST_P(StoreTest, EveryFilterCaseMatchesItsExpectedSeqs) {
  namespace fc = filter_cases;
  for (const fc::FixtureEvent& f : fc::Events()) {
    EventRow e{f.device, f.seq, f.ts_ms, f.type, f.action, f.priority, f.count, f.received_ms, f.json};
    auto r = store_->Ingest(std::vector<BatchRows>{BatchRows{f.device, {e}}}, f.received_ms);
    ASSERT_TRUE(r.ok()) << "seq " << f.seq << ": " << r.status().ToString();
    ASSERT_EQ(r->inserted, 1u);
  }
  ASSERT_FALSE(fc::Cases().empty());
  for (const fc::FilterCase& c : fc::Cases()) {
    auto parsed = ParseFilter(c.filter);
    ASSERT_TRUE(parsed.ok()) << c.filter << ": " << parsed.status().ToString();
    auto sql = CompileFilter(*parsed, store_->dialect());
    ASSERT_TRUE(sql.ok()) << c.filter << ": " << sql.status().ToString();
    EventQuery q;
    q.filter = *sql;
    q.limit = 0;
    q.newest_first = false;
    std::vector<uint64_t> seqs = SearchSeqs(q);
    std::sort(seqs.begin(), seqs.end());
    EXPECT_EQ(seqs, c.seqs) << c.filter << "\n  where: " << sql->where;
    auto n = store_->Count(q);
    ASSERT_TRUE(n.ok()) << c.filter << ": " << n.status().ToString();
    EXPECT_EQ(*n, c.seqs.size()) << c.filter;
  }
}

// Alerts.

EventRow AlertEv(const std::string& device, uint64_t seq, int64_t ts, const std::string& rule,
                 const std::string& level = "high") {
  return Ev(device, seq, ts, "alert", "match",
            Json{{"rule_id", rule},
                 {"title", "Title of " + rule},
                 {"level", level},
                 {"attack", Json::array()},
                 {"summary", "s"}});
}

AlertRow HubAlert(const std::string& device, int64_t ts, const std::string& rule, const std::string& level = "medium") {
  AlertRow a;
  a.device = device;
  a.origin = "hub";
  a.ts_ms = ts;
  a.rule_id = rule;
  a.title = "Title of " + rule;
  a.level = level;
  a.json = Json{{"type", "alert"}, {"device", device}, {"data", {{"rule_id", rule}}}}.dump();
  return a;
}

TEST_P(StoreTest, DeviceAlertEventsBecomeAlertRowsOncePerDeviceAndSeq) {
  BatchRows b;
  b.device = "d1";
  b.events = {Ev("d1", 1, 1000), AlertEv("d1", 2, 2000, "rule_a")};
  MustIngest({b});
  MustIngest({b});  // sent again: duplicates, no second alert
  auto alerts = store_->Alerts(AlertQuery{});
  ASSERT_TRUE(alerts.ok()) << alerts.status().ToString();
  ASSERT_EQ(alerts->size(), 1u);
  const AlertRow& a = alerts->front();
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.device, "d1");
  EXPECT_EQ(a.seq, std::optional<uint64_t>(2));
  EXPECT_EQ(a.origin, "device");
  EXPECT_EQ(a.ts_ms, 2000);
  EXPECT_EQ(a.rule_id, "rule_a");
  EXPECT_EQ(a.title, "Title of rule_a");
  EXPECT_EQ(a.level, "high");
  EXPECT_EQ(a.status, "new");
  EXPECT_EQ(a.status_ms, 1'000'000);
  EXPECT_EQ(Json::parse(a.json), Json::parse(b.events[1].json));
}

TEST_P(StoreTest, AnAlertEventWithoutRuleIdFailsTheWholeIngest) {
  BatchRows b;
  b.device = "d1";
  b.events = {Ev("d1", 1, 1000), Ev("d1", 2, 2000, "alert", "match", Json{{"title", "t"}, {"level", "low"}})};
  auto r = store_->Ingest(std::vector<BatchRows>{b}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rule_id"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(CountAll(), 0u);
}

TEST_P(StoreTest, HubAlertsAreStoredWithIdsAndListedNewestFirst) {
  auto ids =
      store_->AddAlerts(std::vector<AlertRow>{HubAlert("d1", 5000, "fleet"), HubAlert("d2", 7000, "fleet")}, 9000);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_NE((*ids)[0], (*ids)[1]);
  auto all = store_->Alerts(AlertQuery{});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, (*ids)[1]);
  EXPECT_EQ((*all)[0].ts_ms, 7000);
  EXPECT_EQ((*all)[0].origin, "hub");
  EXPECT_FALSE((*all)[0].seq.has_value());
  EXPECT_EQ((*all)[1].device, "d1");
  auto one = store_->Alert((*ids)[0]);
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ(**one, (*all)[1]);
  auto none = store_->Alert(999999);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreTest, AddAlertsRejectsAnUnknownLevelAndStoresNothing) {
  auto r = store_->AddAlerts(std::vector<AlertRow>{HubAlert("d1", 1, "a"), HubAlert("d1", 2, "b", "severe")}, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("level"), std::string::npos);
  auto all = store_->Alerts(AlertQuery{});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_P(StoreTest, AlertFiltersCombineAndLimitKeepsTheNewest) {
  BatchRows b;
  b.device = "d1";
  b.events = {AlertEv("d1", 1, 1000, "r1", "low"), AlertEv("d1", 2, 2000, "r2", "high")};
  MustIngest({b});
  ASSERT_TRUE(
      store_
          ->AddAlerts(std::vector<AlertRow>{HubAlert("d2", 3000, "r1", "high"), HubAlert("d2", 4000, "r2", "critical")},
                      5000)
          .ok());
  auto rules = [&](AlertQuery q) {
    auto rows = store_->Alerts(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> out;
    for (const AlertRow& a : rows.value_or(std::vector<AlertRow>{})) out.push_back(a.device + "/" + a.rule_id);
    return out;
  };
  using V = std::vector<std::string>;
  AlertQuery q;
  EXPECT_EQ(rules(q), (V{"d2/r2", "d2/r1", "d1/r2", "d1/r1"}));
  q = {};
  q.device = "d1";
  EXPECT_EQ(rules(q), (V{"d1/r2", "d1/r1"}));
  q = {};
  q.level = "high";
  EXPECT_EQ(rules(q), (V{"d2/r1", "d1/r2"}));
  q = {};
  q.rule = "r1";
  EXPECT_EQ(rules(q), (V{"d2/r1", "d1/r1"}));
  q = {};
  q.origin = "hub";
  EXPECT_EQ(rules(q), (V{"d2/r2", "d2/r1"}));
  q = {};
  q.since_ms = 2000;
  q.until_ms = 4000;
  EXPECT_EQ(rules(q), (V{"d2/r1", "d1/r2"}));
  q = {};
  q.device = "d2";
  q.rule = "r2";
  EXPECT_EQ(rules(q), (V{"d2/r2"}));
  q = {};
  q.limit = 1;
  EXPECT_EQ(rules(q), (V{"d2/r2"}));
  q = {};
  q.status = "resolved";
  EXPECT_EQ(rules(q), V{});
}

TEST_P(StoreTest, AlertStatusMovesBetweenAnyStatesAndRecordsWhoWhenAndNote) {
  auto ids = store_->AddAlerts(std::vector<AlertRow>{HubAlert("d1", 1000, "r")}, 2000);
  ASSERT_TRUE(ids.ok());
  int64_t id = ids->front();
  ASSERT_TRUE(store_->SetAlertStatus(id, "acknowledged", "alice", "looking", 3000).ok());
  auto a = store_->Alert(id);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->status, "acknowledged");
  EXPECT_EQ((*a)->status_by, "alice");
  EXPECT_EQ((*a)->status_ms, 3000);
  EXPECT_EQ((*a)->note, "looking");
  ASSERT_TRUE(store_->SetAlertStatus(id, "resolved", "bob", "", 4000).ok());
  ASSERT_TRUE(store_->SetAlertStatus(id, "new", "bob", "reopened", 5000).ok());
  a = store_->Alert(id);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->status, "new");
  EXPECT_EQ((*a)->note, "reopened");
  AlertQuery new_ones;
  new_ones.status = "new";
  auto by_status = store_->Alerts(new_ones);
  ASSERT_TRUE(by_status.ok());
  EXPECT_EQ(by_status->size(), 1u);

  Status bad = store_->SetAlertStatus(id, "closed", "bob", "", 6000);
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("status"), std::string::npos) << bad.ToString();
  EXPECT_EQ(store_->SetAlertStatus(id + 1000, "resolved", "bob", "", 6000).code(), Status::Code::kNotFound);
}

TEST_P(StoreTest, AlertsSurviveReopening) {
  ASSERT_TRUE(store_->AddAlerts(std::vector<AlertRow>{HubAlert("d1", 1000, "r")}, 2000).ok());
  Reopen();
  auto all = store_->Alerts(AlertQuery{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().rule_id, "r");
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

AdvisoryRow Advisory(const std::string& id, const std::string& modified, std::vector<VulnKey> keys,
                     const std::string& body_note = "") {
  Json body = {{"id", id}, {"note", body_note}};
  return AdvisoryRow{id, "osv", modified, body.dump(), std::move(keys)};
}

TEST_P(StoreTest, AdvisoriesAreInsertedUpdatedWhenNewerAndKeptWhenOlder) {
  VulnKey openssl{"Debian:12", "openssl"}, curl{"Debian:12", "curl"}, zlib{"Debian:12", "zlib"};
  std::vector<AdvisoryRow> first = {Advisory("A-1", "2026-01-01T00:00:00Z", {openssl}),
                                    Advisory("A-2", "2026-01-01T00:00:00Z", {curl, zlib})};
  auto put = store_->PutAdvisories(first);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->inserted, 2u);
  EXPECT_EQ(put->changed_keys, (std::vector<VulnKey>{curl, openssl, zlib}));

  // The same again: nothing changes.
  put = store_->PutAdvisories(first);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->inserted, 0u);
  EXPECT_EQ(put->unchanged, 2u);
  EXPECT_TRUE(put->changed_keys.empty());

  // A-2 newer, now naming only curl (zlib's key goes); A-1 older than stored: kept.
  std::vector<AdvisoryRow> second = {Advisory("A-1", "2025-06-01T00:00:00Z", {curl}, "older"),
                                     Advisory("A-2", "2026-02-01T00:00:00Z", {curl}, "newer")};
  put = store_->PutAdvisories(second);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->updated, 1u);
  EXPECT_EQ(put->older, 1u);
  EXPECT_EQ(put->changed_keys, (std::vector<VulnKey>{curl, zlib}));

  auto for_zlib = store_->AdvisoriesFor(std::vector<VulnKey>{zlib});
  ASSERT_TRUE(for_zlib.ok());
  EXPECT_TRUE(for_zlib->empty());
  auto for_both = store_->AdvisoriesFor(std::vector<VulnKey>{openssl, curl});
  ASSERT_TRUE(for_both.ok());
  ASSERT_EQ(for_both->size(), 2u);
  EXPECT_EQ((*for_both)[0].id, "A-1");
  EXPECT_EQ((*for_both)[0].body, first[0].body);  // the older A-1 did not replace it
  EXPECT_EQ((*for_both)[1].modified, "2026-02-01T00:00:00Z");
  EXPECT_EQ((*for_both)[1].body, second[1].body);
}

TEST_P(StoreTest, VulnPackagesAndFindingsArePerDeviceAndReplacedByName) {
  VulnUpdate u;
  u.device = "dev-1";
  u.replace_packages = true;
  u.packages = {{"dev-1", "libssl3", "3.0.11-1", "openssl", "3.0.11-1", "Debian:12"},
                {"dev-1", "curl", "7.88.1-10", "curl", "7.88.1-10", "Debian:12"}};
  u.rematched = {"libssl3", "curl"};
  VulnFindingRow f{"dev-1", "libssl3", "3.0.11-1", "openssl", "3.0.11-1", "Debian:12", "A-1", "fixed",
                   "3.0.13-1", "critical", 9.8, 1000};
  u.findings = {f};
  ASSERT_TRUE(store_->UpdateVulns(u).ok());
  VulnUpdate other;
  other.device = "dev-2";
  other.replace_packages = true;
  other.packages = {{"dev-2", "libssl3", "3.0.13-1", "openssl", "3.0.13-1", "Debian:12"}};
  ASSERT_TRUE(store_->UpdateVulns(other).ok());

  auto all = store_->VulnPackages("", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto with_openssl = store_->VulnPackages("", std::vector<VulnKey>{{"Debian:12", "openssl"}});
  ASSERT_TRUE(with_openssl.ok());
  ASSERT_EQ(with_openssl->size(), 2u);
  EXPECT_EQ((*with_openssl)[0].device, "dev-1");
  EXPECT_EQ((*with_openssl)[1].device, "dev-2");
  auto mine = store_->VulnPackages("dev-1", std::vector<VulnKey>{{"Debian:12", "openssl"}});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->size(), 1u);

  auto findings = store_->VulnFindings({});
  ASSERT_TRUE(findings.ok());
  ASSERT_EQ(findings->size(), 1u);
  EXPECT_EQ((*findings)[0], f);

  // Re-matching libssl3 with no findings clears its finding, packages untouched.
  VulnUpdate rematch;
  rematch.device = "dev-1";
  rematch.rematched = {"libssl3"};
  ASSERT_TRUE(store_->UpdateVulns(rematch).ok());
  VulnFindingQuery of_dev1;
  of_dev1.device = "dev-1";
  findings = store_->VulnFindings(of_dev1);
  ASSERT_TRUE(findings.ok());
  EXPECT_TRUE(findings->empty());
  auto still = store_->VulnPackages("dev-1", {});
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->size(), 2u);
}

TEST_P(StoreTest, VulnFindingFiltersCombine) {
  VulnUpdate u;
  u.device = "dev-1";
  u.findings = {{"dev-1", "a", "1", "a", "1", "Debian:12", "A-1", "fixed", "2", "high", 7.5, 1},
                {"dev-1", "b", "1", "b", "1", "Debian:12", "A-2", "unfixed", "", "low", -1, 1}};
  ASSERT_TRUE(store_->UpdateVulns(u).ok());
  u.device = "dev-2";
  u.findings = {{"dev-2", "a", "1", "a", "1", "Debian:12", "A-1", "fixed", "2", "high", 7.5, 1}};
  ASSERT_TRUE(store_->UpdateVulns(u).ok());
  VulnFindingQuery q;
  q.status = "unfixed";
  auto unfixed = store_->VulnFindings(q);
  ASSERT_TRUE(unfixed.ok());
  ASSERT_EQ(unfixed->size(), 1u);
  EXPECT_EQ((*unfixed)[0].package, "b");
  EXPECT_EQ((*unfixed)[0].score, -1);
  q = VulnFindingQuery();
  q.advisory = "A-1";
  auto a1 = store_->VulnFindings(q);
  ASSERT_TRUE(a1.ok());
  EXPECT_EQ(a1->size(), 2u);
  q.device = "dev-1";
  auto one = store_->VulnFindings(q);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  q = VulnFindingQuery();
  q.limit = 2;
  auto limited = store_->VulnFindings(q);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, ::testing::Values(Backend::kSqlite), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::Values(Backend::kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Sqlite, SearchTest, ::testing::Values(Backend::kSqlite), BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, SearchTest, ::testing::Values(Backend::kPostgres), BackendName);

TEST(OpenStore, UnknownSchemeIsAnError) {
  auto s = OpenStore("mysql://root:secret@db/hub");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.status().message().find("secret"), std::string_view::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("mysql://root@db/hub"), std::string_view::npos) << s.status().ToString();
}

TEST(OpenStore, UnopenableSqliteFileNamesTheUrl) {
  auto s = OpenStore("sqlite:/nonexistent-dir/vigil/hub.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("sqlite:/nonexistent-dir/vigil/hub.db"), std::string_view::npos)
      << s.status().ToString();
}

TEST(OpenStore, RefusedPostgresIsAnErrorWithoutThePassword) {
  // Port 1 on localhost: nothing listens there.
  auto s = OpenStore("postgresql://vigil:hunter2@127.0.0.1:1/hub?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find("hunter2"), std::string_view::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("postgresql://vigil@127.0.0.1:1/hub"), std::string_view::npos)
      << s.status().ToString();
}

// The WAL stays bounded while one writer ingests without a pause: the checkpoint thread keeps
// it short, and should that thread be starved, the writer restarts the log at limit_pages, so
// the bound holds on any machine. Closing the store leaves no WAL behind.
TEST(SqliteStore, TheCheckpointThreadKeepsTheWalBoundedUnderNonStopIngest) {
  char tmpl[] = "/tmp/vigil-store-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string path = dir + "/hub.db";
  SqliteStore::Options options;
  options.checkpoint_pages = 64;
  options.restart_pages = 256;  // 1 MiB of 4 KiB pages
  options.limit_pages = 512;    // 2 MiB
  auto store = SqliteStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  constexpr uint64_t kBatches = 200, kPerBatch = 50;  // 10 MB of event JSON
  const Json pad = {{"pad", std::string(1000, 'x')}};
  std::uintmax_t max_wal = 0;
  for (uint64_t b = 0; b < kBatches; ++b) {
    BatchRows batch;
    batch.device = "dev-a";
    for (uint64_t i = 1; i <= kPerBatch; ++i) {
      uint64_t seq = b * kPerBatch + i;
      batch.events.push_back(Ev("dev-a", seq, static_cast<int64_t>(seq), "process", "exec", pad));
    }
    auto r = (*store)->Ingest(std::vector<BatchRows>{batch}, 1000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::error_code ec;
    max_wal = std::max(max_wal, std::filesystem::file_size(path + "-wal", ec));
  }
  auto stats = (*store)->checkpoint_stats();
  EXPECT_GT(stats.passive + stats.restart + stats.forced, 0u);
  // The limit plus one batch (50 events of 1 KB with their index pages) and the WAL header.
  EXPECT_LE(max_wal, std::uintmax_t{3} << 20) << "checkpoints: " << stats.passive << " passive, " << stats.restart
                                              << " restart, " << stats.forced << " forced";
  store->reset();
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  auto reopened = SqliteStore::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto count = (*reopened)->Count(EventQuery{});
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, kBatches * kPerBatch);
  reopened->reset();
  std::filesystem::remove_all(dir);
}

// The same events give the same posture rows on both backends (the data compared as JSON
// values: PostgreSQL's JSONB renders them with other spacing and key order).
TEST(PostureView, BothBackendsKeepTheSameRows) {
  char tmpl[] = "/tmp/vigil-store-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string pg_url = NewPostgresDatabase();
  ASSERT_FALSE(pg_url.empty());
  std::vector<std::vector<PostureRow>> results;
  for (const std::string& url : {"sqlite:" + dir + "/hub.db", pg_url}) {
    auto store = OpenStore(url);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (int round = 0; round < 2; ++round) {  // the second round: duplicates and older scans
      std::vector<BatchRows> batches(3);
      for (int d = 0; d < 3; ++d) {
        batches[d].device = "dev-" + std::to_string(d);
        for (uint64_t s = 1; s <= 4; ++s) {
          // Round 0: scans at seq 1 and 3; round 1: seq 1..4 again (other data) and 11..14, older.
          for (uint64_t seq : round == 0 ? std::vector<uint64_t>{s} : std::vector<uint64_t>{s, s + 10}) {
            int64_t ts = round == 0 ? static_cast<int64_t>(s) * 1000 : 500;
            batches[d].events.push_back(Ev(batches[d].device, seq, ts, s % 2 ? "posture" : "process",
                                           s % 2 ? "scan" : "exec", PostureData(std::to_string(seq), d, 3 - d)));
          }
        }
      }
      ASSERT_TRUE((*store)->Ingest(batches, 1000).ok());
    }
    results.push_back(MustPostures(**store));
  }
  ASSERT_EQ(results[0].size(), 3u);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0][2], (PostureRow{"dev-2", 3000, 3, PostureData("3", 2, 1)}));
  std::filesystem::remove_all(dir);
}

TEST(RedactUrl, LeavesOutPasswords) {
  using store_internal::RedactUrl;
  EXPECT_EQ(RedactUrl("postgresql://u:p@h:5432/db"), "postgresql://u@h:5432/db");
  EXPECT_EQ(RedactUrl("postgres://u@h/db?sslmode=require&password=x"), "postgres://u@h/db?sslmode=require");
  EXPECT_EQ(RedactUrl("postgresql://h/db?password=x&user=u"), "postgresql://h/db?user=u");
  EXPECT_EQ(RedactUrl("postgresql://u:p%40ss@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactUrl("sqlite:/var/lib/hub.db"), "sqlite:/var/lib/hub.db");
}

TEST(PostgresStore, ReconnectsOnceWhenTheConnectionIsTerminated) {
  std::string url = NewPostgresDatabase();
  ASSERT_FALSE(url.empty());
  auto store = PostgresStore::Open(url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Ingest(std::vector<BatchRows>{Batch("dev-a", Range(1, 5))}, 1000).ok());
  int pid = (*store)->BackendPid();
  std::string error;
  testing::PgServer* server = PgEnvironment::Server(&error);
  ASSERT_NE(server, nullptr) << error;
  ASSERT_TRUE(server->Execute("SELECT pg_terminate_backend(" + std::to_string(pid) + ")").ok());
  auto r = (*store)->Ingest(std::vector<BatchRows>{Batch("dev-a", Range(4, 8))}, 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 3u);
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_NE((*store)->BackendPid(), pid);
}

}  // namespace
}  // namespace vigil::hub
