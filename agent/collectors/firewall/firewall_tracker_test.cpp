#include "agent/collectors/firewall/firewall_tracker.h"

#include <gtest/gtest.h>

#include "agent/collectors/firewall/fake_firewall_source.h"
#include "agent/collectors/firewall/test_rulesets.h"

namespace vigil::firewall {
namespace {

constexpr char kOneTable[] = R"({"nftables":[{"table":{"family":"inet","name":"t","handle":1}},
  {"chain":{"family":"inet","table":"t","name":"in","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}},
  {"rule":{"family":"inet","table":"t","chain":"in","handle":2,"expr":[{"counter":{"packets":PACKETS,"bytes":9}},{"accept":null}]}}]})";

std::string OneTable(int packets) {
  std::string s = kOneTable;
  s.replace(s.find("PACKETS"), 7, std::to_string(packets));
  return s;
}

class FirewallTrackerTest : public ::testing::Test {
 protected:
  FakeRulesetReader reader_;
  CollectorStats stats_{"firewall"};
  FirewallTracker tracker_{reader_, stats_};
};

TEST_F(FirewallTrackerTest, SnapshotOfNftablesAloneWhenNoLegacyTables) {
  reader_.SetNftables(std::string(testdata::kNftJson));
  tracker_.ReadInitial();
  const Event e = tracker_.Snapshot();
  EXPECT_EQ(e.type, "firewall");
  EXPECT_EQ(e.action, "snapshot");
  ASSERT_EQ(e.data["backends"].size(), 1u);
  EXPECT_EQ(e.data["backends"][0]["name"], "nftables");
  EXPECT_EQ(e.data["chain_count"], 7);
  EXPECT_EQ(stats_.count("reads"), 1u);
}

TEST_F(FirewallTrackerTest, LegacyTablesAddTheirBackend) {
  reader_.SetLegacy("ip", std::string(testdata::kIptablesSave));
  tracker_.ReadInitial();
  const Event e = tracker_.Snapshot();
  ASSERT_EQ(e.data["backends"].size(), 2u);
  EXPECT_EQ(e.data["backends"][1]["name"], "iptables-legacy");
  EXPECT_EQ(e.data["backends"][1]["chains"], 8);
  EXPECT_EQ(stats_.count("reads"), 2u);
}

TEST_F(FirewallTrackerTest, NoEventWhenOnlyCountersMoved) {
  reader_.SetNftables(OneTable(0));
  tracker_.ReadInitial();
  reader_.SetNftables(OneTable(12345));
  EXPECT_FALSE(tracker_.Check().has_value());
}

TEST_F(FirewallTrackerTest, ChangedEventCarriesThePreviousDigestAndTheChanges) {
  reader_.SetNftables(OneTable(0));
  tracker_.ReadInitial();
  const std::string before = tracker_.view().digest;
  reader_.SetNftables(std::string(R"({"nftables":[]})"));  // nft flush ruleset
  std::optional<Event> e = tracker_.Check();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "changed");
  EXPECT_EQ(e->data["previous_digest"], before);
  EXPECT_NE(e->data["digest"], before);
  EXPECT_EQ(e->data["chain_count"], 0);
  ASSERT_EQ(e->data["changes"]["tables_removed"].size(), 1u);
  ASSERT_EQ(e->data["changes"]["chains_removed"].size(), 1u);
  EXPECT_EQ(e->data["changes"]["chains_removed"][0]["hook"], "input");
  EXPECT_FALSE(tracker_.Check().has_value());
}

TEST_F(FirewallTrackerTest, AFailedReadKeepsTheLastRulesetAndSaysNothing) {
  reader_.SetNftables(OneTable(0));
  tracker_.ReadInitial();
  reader_.SetNftables(Status::IoError("nft list ruleset: Connection reset"));
  EXPECT_FALSE(tracker_.Check().has_value());
  reader_.SetNftables(std::string("{broken"));
  EXPECT_FALSE(tracker_.Check().has_value());
  EXPECT_EQ(stats_.count("read_errors"), 2u);
  EXPECT_EQ(tracker_.Snapshot().data["chain_count"], 1);
}

TEST_F(FirewallTrackerTest, UnreadableFromTheStartIsReportedAsUnavailable) {
  reader_.SetNftables(Status::PermissionDenied("nft list ruleset: Operation not permitted"));
  tracker_.ReadInitial();
  const Event e = tracker_.Snapshot();
  ASSERT_EQ(e.data["backends"].size(), 1u);
  EXPECT_EQ(e.data["backends"][0]["available"], false);
  EXPECT_EQ(e.data["backends"][0]["error"], "nft list ruleset: Operation not permitted");
  EXPECT_EQ(stats_.count("read_errors"), 0u);
  reader_.SetNftables(OneTable(0));  // readable later: a change
  std::optional<Event> changed = tracker_.Check();
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->data["backends"][0]["available"], true);
}

TEST_F(FirewallTrackerTest, LegacyTablesVanishingIsAChange) {
  reader_.SetLegacy("ip", std::string(testdata::kIptablesSave));
  tracker_.ReadInitial();
  reader_.SetLegacy("ip", Status::NotFound("gone"));
  std::optional<Event> e = tracker_.Check();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->data["changes"]["chains_removed"].size(), 8u);
  ASSERT_EQ(e->data["backends"].size(), 2u);
  EXPECT_EQ(e->data["backends"][1]["chains"], 0);
}

TEST_F(FirewallTrackerTest, LegacyToolMissingIsShownAsTheBackendsError) {
  reader_.SetLegacy("ip6", Status::Unavailable("legacy ip6 tables exist (filter) but no legacy save tool"));
  tracker_.ReadInitial();
  const Event e = tracker_.Snapshot();
  ASSERT_EQ(e.data["backends"].size(), 2u);
  EXPECT_EQ(e.data["backends"][1]["available"], false);
  EXPECT_NE(e.data["backends"][1]["error"].get<std::string>().find("no legacy save tool"), std::string::npos);
}

TEST_F(FirewallTrackerTest, CountsParseProblems) {
  reader_.SetNftables(std::string(R"({"nftables":[1,2,{"table":{"family":"ip","name":"t"}}]})"));
  tracker_.ReadInitial();
  EXPECT_EQ(stats_.count("parse_problems"), 2u);
  EXPECT_EQ(tracker_.Snapshot().data["backends"][0]["problems"], 2);
  EXPECT_EQ(tracker_.Snapshot().data["table_count"], 1);
}

}  // namespace
}  // namespace vigil::firewall
