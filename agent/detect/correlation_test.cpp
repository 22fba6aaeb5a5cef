#include <gtest/gtest.h>

#include "agent/detect/detect.h"
#include "agent/detect/test_util.h"
#include "schema/schema.h"

namespace vigil::detect {
namespace {

using testing::Connect;
using testing::Exec;
using testing::LoadText;
using testing::LoginFailure;
using testing::MustLoad;
using testing::RunEngine;

const std::string kFailedLogin =
    "title: Failed login\nname: failed_login\nid: 0b3c0c5e-0000-4000-8000-000000000001\n"
    "logsource: {product: vigil, category: login, service: failure}\n"
    "detection:\n  sel:\n    result: failed\n  condition: sel\n";

std::string BruteForce(const std::string& condition, const std::string& timespan = "10m",
                       const std::string& extra = "") {
  return kFailedLogin +
         "---\ntitle: SSH brute force\nid: bf-1\nlevel: high\ntags: [attack.t1110.001]\n"
         "correlation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [source_ip]\n"
         "  timespan: " +
         timespan + "\n  condition: " + condition + "\n" + extra;
}

EngineOptions NoSuppression() {
  EngineOptions o;
  o.suppress_ms = 0;
  return o;
}

TEST(Correlation, EventCountFiresAtTheThresholdPerGroup) {
  auto rules = MustLoad(BruteForce("{gte: 5}"));
  Engine engine(rules, NoSuppression());
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.7", 1000 + i * 1000)).empty());
  // Another source does not add to this group.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.8", 1500 + i * 1000)).empty());
  auto alerts = RunEngine(engine, LoginFailure("admin", "192.0.2.7", 6000));
  ASSERT_EQ(alerts.size(), 1u);  // the base rule is used by a correlation only: no alert of its own
  const Event& a = alerts[0];
  EXPECT_EQ(a.action, "correlation");
  EXPECT_EQ(a.data["rule_id"], "bf-1");
  EXPECT_EQ(a.data["correlation"], "event_count");
  EXPECT_EQ(a.data["group"], Json({{"source_ip", "192.0.2.7"}}));
  EXPECT_EQ(a.data["value"], 5);
  EXPECT_EQ(a.data["events_total"], 5);
  EXPECT_EQ(a.data["attack"], Json({"T1110.001"}));
  EXPECT_EQ(a.data["event_refs"].size(), 4u);
  EXPECT_EQ(a.data["event_refs"][0]["rule_id"], "0b3c0c5e-0000-4000-8000-000000000001");
  EXPECT_EQ(a.data["summary"], "SSH brute force: 5 events within 600 s for source_ip=192.0.2.7");
  Event stamped = a;
  stamped.seq = 9;
  Status st = schema::BuiltinSchema()->Validate(EventToJson(stamped));
  EXPECT_TRUE(st.ok()) << st.ToString();
  // The window starts again: four more are not enough.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.7", 7000 + i)).empty());
  EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 7010)).size(), 1u);
}

TEST(Correlation, TimespanEdgeIsInclusive) {
  auto rules = MustLoad(BruteForce("{gte: 3}", "10s"));
  {
    Engine engine(rules, NoSuppression());
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 5000));
    EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 10'000)).size(), 1u);  // exactly 10 s after the first
  }
  {
    Engine engine(rules, NoSuppression());
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 5000));
    EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.7", 10'001)).empty());  // the first fell out
    EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 10'002)).size(), 1u);
  }
}

TEST(Correlation, ComparisonsGtAndEq) {
  {
    Engine engine(MustLoad(BruteForce("{gt: 2}")), NoSuppression());
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
    EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.7", 1)).empty());
    EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 2)).size(), 1u);
  }
  {
    Engine engine(MustLoad(BruteForce("{eq: 2}")), NoSuppression());
    RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
    EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 1)).size(), 1u);
  }
}

TEST(Correlation, GenerateKeepsTheBaseRulesAlerts) {
  auto rules = MustLoad(BruteForce("{gte: 2}", "10m", "  generate: true\n"));
  Engine engine(rules, NoSuppression());
  auto first = RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].action, "match");
  auto second = RunEngine(engine, LoginFailure("root", "192.0.2.7", 1));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].action, "correlation");
}

TEST(Correlation, ValueCountCountsDistinctValuesInTheWindow) {
  auto rules = MustLoad(
      "title: conn\nname: outbound\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    Initiated: 'true'\n  condition: sel\n"
      "---\ntitle: Port scan\nid: scan\ncorrelation:\n  type: value_count\n  rules: outbound\n"
      "  group-by: [DestinationIp]\n  timespan: 5m\n  condition: {gte: 15, field: DestinationPort}\n");
  Engine engine(rules, NoSuppression());
  for (int port = 1; port <= 14; ++port) {
    EXPECT_TRUE(RunEngine(engine, Connect("192.0.2.50", port, "/usr/bin/nc", port * 100)).empty());
    // Repeats of a port seen already do not count.
    EXPECT_TRUE(RunEngine(engine, Connect("192.0.2.50", 1, "/usr/bin/nc", port * 100 + 1)).empty());
  }
  auto alerts = RunEngine(engine, Connect("192.0.2.50", 15, "/usr/bin/nc", 2000));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].data["value"], 15);
  EXPECT_EQ(alerts[0].data["group"]["DestinationIp"], "192.0.2.50");
  EXPECT_EQ(alerts[0].data["event_refs"].size(), 10u);  // bounded by max_event_refs
  EXPECT_EQ(alerts[0].data["events_total"], 29);
}

TEST(Correlation, ValueCountForgetsValuesOutsideTheWindow) {
  auto rules = MustLoad(
      "title: conn\nname: outbound\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    Initiated: 'true'\n  condition: sel\n"
      "---\ntitle: Port scan\ncorrelation:\n  type: value_count\n  rules: outbound\n"
      "  group-by: [DestinationIp]\n  timespan: 10s\n  condition: {gte: 3, field: DestinationPort}\n");
  Engine engine(rules, NoSuppression());
  RunEngine(engine, Connect("192.0.2.50", 1, "/bin/nc", 0));
  RunEngine(engine, Connect("192.0.2.50", 2, "/bin/nc", 1000));
  EXPECT_TRUE(RunEngine(engine, Connect("192.0.2.50", 3, "/bin/nc", 10'001)).empty());
  EXPECT_EQ(RunEngine(engine, Connect("192.0.2.50", 4, "/bin/nc", 10'500)).size(), 1u);
}

const std::string kTwoRules =
    "title: Download\nname: download\nlogsource: {category: process_creation, product: linux}\n"
    "detection:\n  sel:\n    Image|endswith: [/wget, /curl]\n  condition: sel\n"
    "---\ntitle: Chmod\nname: chmod_x\nlogsource: {category: process_creation, product: linux}\n"
    "detection:\n  sel:\n    Image|endswith: /chmod\n    CommandLine|contains: '+x'\n  condition: sel\n";

TEST(Correlation, TemporalNeedsEveryRuleWithinTheTimespanInAnyOrder) {
  auto rules = MustLoad(kTwoRules +
                        "---\ntitle: Download and chmod\ncorrelation:\n  type: temporal\n  rules: [download, chmod_x]\n"
                        "  group-by: [User]\n  timespan: 1m\n");
  Engine engine(rules, NoSuppression());
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/chmod", "chmod +x /tmp/a", "alice", 1000)).empty());
  EXPECT_TRUE(RunEngine(engine, Exec("/usr/bin/wget", "wget x", "bob", 2000)).empty());  // another user
  auto alerts = RunEngine(engine, Exec("/usr/bin/wget", "wget x", "alice", 3000));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].data["correlation"], "temporal");
  EXPECT_EQ(alerts[0].data["value"], 2);
  // Too far apart: no alert.
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/chmod", "chmod +x /tmp/a", "carol", 10'000)).empty());
  EXPECT_TRUE(RunEngine(engine, Exec("/usr/bin/curl", "curl x", "carol", 70'001)).empty());
}

TEST(Correlation, TemporalOrderedNeedsTheOrder) {
  auto rules = MustLoad(kTwoRules +
                        "---\ntitle: Download then chmod\ncorrelation:\n  type: temporal_ordered\n"
                        "  rules: [download, chmod_x]\n  group-by: [User]\n  timespan: 1m\n");
  Engine engine(rules, NoSuppression());
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/chmod", "chmod +x /tmp/a", "alice", 1000)).empty());
  EXPECT_TRUE(RunEngine(engine, Exec("/usr/bin/wget", "wget x", "alice", 2000)).empty());  // wrong order so far
  auto alerts = RunEngine(engine, Exec("/bin/chmod", "chmod +x /tmp/a", "alice", 3000));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].data["correlation"], "temporal_ordered");
  // The chain must stay within the timespan from its first step.
  EXPECT_TRUE(RunEngine(engine, Exec("/usr/bin/wget", "wget x", "bob", 10'000)).empty());
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/chmod", "chmod +x /tmp/a", "bob", 70'001)).empty());
}

TEST(Correlation, GroupsAreBoundedWithLeastRecentlyUsedEviction) {
  auto rules = MustLoad(BruteForce("{gte: 2}"));
  EngineOptions o = NoSuppression();
  o.max_groups = 3;
  Engine engine(rules, o);
  RunEngine(engine, LoginFailure("root", "192.0.2.1", 0));
  RunEngine(engine, LoginFailure("root", "192.0.2.2", 1));
  RunEngine(engine, LoginFailure("root", "192.0.2.3", 2));
  EXPECT_EQ(engine.stats().groups, 3u);
  // .1 fires (its window starts again) and becomes the most recently used; .2 is now the oldest.
  EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.1", 3)).size(), 1u);
  RunEngine(engine, LoginFailure("root", "192.0.2.4", 4));  // evicts .2
  EXPECT_EQ(engine.stats().groups_evicted, 1u);
  EXPECT_EQ(engine.stats().groups, 3u);
  // .2 was forgotten: one more failure is its first again (and evicts .3).
  EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.2", 5)).empty());
  EXPECT_EQ(engine.stats().groups_evicted, 2u);
  // .4 is still held: its second failure fires.
  EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.4", 6)).size(), 1u);
  EXPECT_EQ(engine.stats().groups_evicted, 2u);
  EXPECT_GT(engine.StateBytes(), 0u);
}

TEST(Correlation, SuppressionPerGroup) {
  auto rules = MustLoad(BruteForce("{gte: 2}"));
  EngineOptions o;
  o.suppress_ms = 60'000;
  Engine engine(rules, o);
  RunEngine(engine, LoginFailure("root", "192.0.2.7", 0));
  EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.7", 1)).size(), 1u);
  RunEngine(engine, LoginFailure("root", "192.0.2.7", 2));
  EXPECT_TRUE(RunEngine(engine, LoginFailure("root", "192.0.2.7", 3)).empty());  // suppressed
  RunEngine(engine, LoginFailure("root", "192.0.2.8", 4));
  EXPECT_EQ(RunEngine(engine, LoginFailure("root", "192.0.2.8", 5)).size(), 1u);  // another group
  RunEngine(engine, LoginFailure("root", "192.0.2.7", 70'000));
  auto later = RunEngine(engine, LoginFailure("root", "192.0.2.7", 70'001));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].data["suppressed"], 1);
}

TEST(Correlation, LoadErrorsNameTheLine) {
  struct Case {
    std::string corr;
    int line;  // within the correlation document (after kFailedLogin, 8 lines, and '---')
    const char* message;
  };
  std::vector<Case> cases = {
      {"title: c\ncorrelation:\n  type: event_count\n  rules: [nosuch]\n  timespan: 5m\n  condition: {gte: 2}\n", 4,
       "unknown rule 'nosuch'"},
      {"title: c\ncorrelation:\n  type: sometimes\n  rules: [failed_login]\n  timespan: 5m\n", 3,
       "correlation type 'sometimes'"},
      {"title: c\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 5x\n  condition: {gte: 2}\n",
       5, "unit must be"},
      {"title: c\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 5m\n", 3, "need a condition"},
      {"title: c\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  timespan: 5m\n  condition: {gte: 2}\n",
       6, "needs 'field'"},
      {"title: c\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [Image]\n  timespan: 5m\n"
       "  condition: {gte: 2}\n",
       5, "group-by field 'Image'"},
      {"title: c\ncorrelation:\n  type: temporal\n  rules: [failed_login]\n  timespan: 5m\n", 4, "two or more rules"},
      {"title: c\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 5m\n  condition: {above: "
       "2}\n",
       6, "expected gt, gte"},
  };
  for (const auto& c : cases) {
    auto r = LoadText(kFailedLogin + "---\n" + c.corr, nullptr, "c.yml");
    ASSERT_EQ(r.errors.size(), 1u) << c.corr;
    EXPECT_EQ(r.errors[0].line, 9 + c.line) << r.errors[0].ToString();
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << r.errors[0].ToString();
    EXPECT_EQ(r.loaded, 1u);  // the base rule
  }
}

}  // namespace
}  // namespace vigil::detect
