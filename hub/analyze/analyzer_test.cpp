#include "hub/analyze/analyzer.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/detect/builtin.h"

namespace vigil::hub {
namespace {

constexpr int64_t kT0 = 1796544000000;
constexpr const char* kFleetRuleId = "883d8267-41fa-44b2-af96-9d21750ae6b9";  // login_failures_across_devices

EventRow Row(const std::string& device, uint64_t seq, int64_t ts, const std::string& type, const std::string& action,
             Json data) {
  EventRow e;
  e.device = device;
  e.seq = seq;
  e.ts_ms = ts;
  e.type = type;
  e.action = action;
  e.priority = "high";
  e.json = Json{{"v", 1},       {"device", device}, {"seq", seq},         {"ts", ts},
                {"type", type}, {"action", action}, {"priority", "high"}, {"data", std::move(data)}}
               .dump();
  return e;
}

EventRow LoginFailure(const std::string& device, uint64_t seq, int64_t ts, const std::string& source) {
  return Row(device, seq, ts, "login", "failure",
             {{"user", "root"},
              {"source_ip", source},
              {"source_port", 40000},
              {"method", "password"},
              {"service", "sshd"},
              {"result", "failed"},
              {"pid", 600},
              {"source", "auth_log"},
              {"message", "Failed password for root from " + source}});
}

EventRow Connect(const std::string& device, uint64_t seq, int64_t ts, const std::string& remote) {
  return Row(device, seq, ts, "network", "connect",
             {{"pid", 5100},
              {"exe", "/usr/bin/wget"},
              {"uid", 0},
              {"user", "root"},
              {"protocol", "tcp"},
              {"family", "ipv4"},
              {"local_ip", "192.168.1.20"},
              {"local_port", 41152},
              {"remote_ip", remote},
              {"remote_port", 80},
              {"direction", "outbound"},
              {"initiated", true}});
}

std::vector<BatchRows> Batches(std::vector<EventRow> rows) {
  std::vector<BatchRows> out;
  for (EventRow& r : rows) {
    BatchRows b;
    b.device = r.device;
    b.events.push_back(std::move(r));
    out.push_back(std::move(b));
  }
  return out;
}

class AnalyzerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-analyze-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = OpenStore("sqlite:" + dir_ + "/hub.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    analyzer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartAnalyzer(AnalyzerOptions o) {
    analyzer_ = std::make_unique<Analyzer>(*store_, std::move(o), [] { return int64_t{5000}; });
    Status s = analyzer_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Enqueues as the ingest hook does, after storing, and waits for the analyzer.
  void Feed(std::vector<EventRow> rows) {
    auto batches = Batches(std::move(rows));
    ASSERT_TRUE(store_->Ingest(batches, 1000).ok());
    analyzer_->Enqueue(batches);
    ASSERT_TRUE(analyzer_->WaitIdle(10'000));
  }
  std::vector<AlertRow> HubAlerts() {
    AlertQuery q;
    q.origin = "hub";
    auto rows = store_->Alerts(q);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.value_or(std::vector<AlertRow>{});
  }
  void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Analyzer> analyzer_;
};

AnalyzerOptions Defaults() {
  AnalyzerOptions o;
  std::string names(kDefaultHubRules);
  size_t pos = 0;
  while (pos <= names.size()) {
    size_t comma = names.find(',', pos);
    if (comma == std::string::npos) comma = names.size();
    o.alert_rules.push_back(names.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return o;
}

TEST_F(AnalyzerTest, BuiltinRulesLoadWithoutErrorsAndTheFleetRuleRaisesHubAlerts) {
  StartAnalyzer(Defaults());
  RulesReport report = analyzer_->Report();
  EXPECT_TRUE(report.errors.empty()) << report.errors.front();
  int hub = 0;
  for (const auto& r : report.rules) hub += r.hub ? 1 : 0;
  EXPECT_EQ(hub, 3);
  EXPECT_NE(std::find(report.targets.begin(), report.targets.end(), "login/failure"), report.targets.end());
}

TEST_F(AnalyzerTest, OneSourceFailingOnThreeDevicesRaisesOneFleetAlert) {
  StartAnalyzer(Defaults());
  Feed({LoginFailure("dev-1", 1, kT0, "192.0.2.30"), LoginFailure("dev-2", 1, kT0 + 60'000, "192.0.2.30")});
  EXPECT_TRUE(HubAlerts().empty());  // two devices: below the threshold
  Feed({LoginFailure("dev-3", 1, kT0 + 120'000, "192.0.2.30")});
  auto alerts = HubAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule_id, kFleetRuleId);
  EXPECT_EQ(alerts[0].origin, "hub");
  EXPECT_EQ(alerts[0].device, "dev-3");
  EXPECT_EQ(alerts[0].level, "medium");
  EXPECT_EQ(alerts[0].status, "new");
  EXPECT_FALSE(alerts[0].seq.has_value());
  Json j = Json::parse(alerts[0].json);
  EXPECT_EQ(j["type"], "alert");
  EXPECT_EQ(j["data"]["rule_name"], "login_failures_across_devices");
}

TEST_F(AnalyzerTest, FailuresOfThreeSourcesOnThreeDevicesRaiseNothing) {
  StartAnalyzer(Defaults());
  Feed({LoginFailure("dev-1", 1, kT0, "192.0.2.30"), LoginFailure("dev-2", 1, kT0 + 1, "192.0.2.31"),
        LoginFailure("dev-3", 1, kT0 + 2, "192.0.2.32")});
  EXPECT_TRUE(HubAlerts().empty());
  EXPECT_EQ(analyzer_->Stats()["processed"], 3);
}

TEST_F(AnalyzerTest, RowsNoHubRuleTargetsAreNeverQueued) {
  StartAnalyzer(Defaults());
  Feed({Row("dev-1", 1, kT0, "process", "exec", {{"pid", 1}}), Row("dev-1", 2, kT0, "heartbeat", "", Json::object())});
  Json stats = analyzer_->Stats();
  EXPECT_EQ(stats["skipped"], 2);
  EXPECT_EQ(stats["queued"], 0);
}

TEST_F(AnalyzerTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  AnalyzerOptions o = Defaults();
  o.max_queue_events = 0;
  StartAnalyzer(o);
  Feed({LoginFailure("dev-1", 1, kT0, "192.0.2.30"), LoginFailure("dev-2", 1, kT0, "192.0.2.30")});
  Json stats = analyzer_->Stats();
  EXPECT_EQ(stats["dropped"], 2);
  EXPECT_EQ(stats["processed"], 0);
}

TEST_F(AnalyzerTest, AnUpdatedListAppliesAfterReloadWithoutRestart) {
  const std::string rules = dir_ + "/rules", lists = dir_ + "/lists";
  std::filesystem::create_directories(rules);
  for (const detect::RuleSource& f : detect::BuiltinRuleSources()) {
    if (f.name.ends_with("botnet.yml")) Write(rules + "/botnet.yml", f.text);
  }
  Write(lists + "/threat_intel_ips.txt", "203.0.113.66\n");
  AnalyzerOptions o;
  o.rule_paths = {rules};
  o.lists_dir = lists;
  o.alert_rules = {"threat_intel_address_connection"};
  StartAnalyzer(o);
  Feed({Connect("dev-1", 1, kT0, "198.51.100.7")});
  EXPECT_TRUE(HubAlerts().empty());

  Write(lists + "/threat_intel_ips.txt", "203.0.113.66\n198.51.100.0/24\n");
  RulesReport report = analyzer_->Reload();
  EXPECT_TRUE(report.lists_only);
  EXPECT_TRUE(report.errors.empty()) << report.errors.front();
  Feed({Connect("dev-2", 1, kT0 + 1000, "198.51.100.7")});
  auto alerts = HubAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].device, "dev-2");
  EXPECT_EQ(alerts[0].title, "Connection with a threat-intelligence address");
}

TEST_F(AnalyzerTest, LoadErrorsNameFileAndLineAndGoodRulesStillRun) {
  const std::string rules = dir_ + "/rules";
  Write(rules + "/bad.yml",
        "title: Broken\nid: x1\nlogsource:\n  category: process_creation\n  product: linux\n"
        "detection:\n  selection:\n    Image|nosuchmodifier: /bin/sh\n  condition: selection\n");
  for (const detect::RuleSource& f : detect::BuiltinRuleSources()) {
    if (f.name.ends_with("brute_force.yml")) Write(rules + "/brute_force.yml", f.text);
  }
  AnalyzerOptions o = Defaults();
  o.rule_paths = {rules};
  StartAnalyzer(o);
  RulesReport report = analyzer_->Report();
  ASSERT_FALSE(report.errors.empty());
  EXPECT_NE(report.errors.front().find("bad.yml:"), std::string::npos) << report.errors.front();
  Feed({LoginFailure("a", 1, kT0, "192.0.2.9"), LoginFailure("b", 1, kT0, "192.0.2.9"),
        LoginFailure("c", 1, kT0, "192.0.2.9")});
  EXPECT_EQ(HubAlerts().size(), 1u);
  Json j = report.ToJson();
  EXPECT_FALSE(j["errors"].empty());
  EXPECT_TRUE(j["rules"].is_array());
}

TEST_F(AnalyzerTest, NoReadableRuleFileIsAnErrorAtStart) {
  AnalyzerOptions o = Defaults();
  o.rule_paths = {dir_ + "/missing"};
  Analyzer a(*store_, o, [] { return int64_t{0}; });
  Status s = a.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("analyze.rules"), std::string::npos);
}

}  // namespace
}  // namespace vigil::hub
