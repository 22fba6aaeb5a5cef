#include "agent/detect_stage.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/collector.h"
#include "agent/core/config_tables.h"

namespace vigil {
namespace {

constexpr int64_t kT0 = 1796544000000;

class DetectStageTest : public ::testing::Test {
 protected:
  DetectStageTest() : schema_(BuildAgentSchema(CompiledCollectors())) { AddDetectSection(schema_); }

  std::unique_ptr<DetectStage> Make(const std::string& yaml) {
    auto config = LoadConfig(schema_, yaml, "test.yml");
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    if (!config.ok()) return nullptr;
    auto stage = DetectStage::Create(*config);
    EXPECT_TRUE(stage.ok()) << stage.status().ToString();
    return stage.ok() ? std::move(*stage) : nullptr;
  }
  Status CreateError(const std::string& yaml) {
    auto config = LoadConfig(schema_, yaml, "test.yml");
    if (!config.ok()) return config.status();
    auto stage = DetectStage::Create(*config);
    return stage.ok() ? Status::Ok() : stage.status();
  }

  // The alerts `events` raise, by rule name (or id when the rule has no name).
  static std::vector<std::string> Alerts(DetectStage& stage, const std::vector<Event>& events) {
    std::vector<std::string> names;
    for (const Event& e : events) {
      std::vector<Event> made;
      stage.Inspect(e, &made);
      for (const Event& a : made) {
        EXPECT_EQ(a.type, "alert");
        names.push_back(a.data.value("rule_name", a.data.value("rule_id", std::string())));
      }
    }
    return names;
  }

  ConfigSchema schema_;
};

Event Exec(int64_t ts, const std::string& exe, std::vector<std::string> argv) {
  Event e;
  e.device = "dev-1";
  e.ts_ms = ts;
  e.type = "process";
  e.action = "exec";
  std::string cmdline;
  for (const auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
  e.data = {{"pid", 4000}, {"ppid", 1},     {"uid", 0},          {"user", "root"}, {"exe", exe},
            {"cmdline", cmdline}, {"argv", argv}, {"cwd", "/root"}, {"comm", std::filesystem::path(exe).filename().string()}};
  return e;
}

Event Connect(int64_t ts, const std::string& remote_ip, int remote_port) {
  Event e;
  e.device = "dev-1";
  e.ts_ms = ts;
  e.type = "network";
  e.action = "connect";
  e.data = {{"pid", 4100},          {"exe", "/usr/bin/curl"}, {"uid", 0},        {"user", "root"},
            {"protocol", "tcp"},    {"family", "ipv4"},       {"local_ip", "192.168.1.20"},
            {"local_port", 40000},  {"remote_ip", remote_ip}, {"remote_port", remote_port},
            {"direction", "outbound"}, {"initiated", true}};
  return e;
}

Event Login(int64_t ts, const std::string& action, const std::string& user) {
  Event e;
  e.device = "dev-1";
  e.ts_ms = ts;
  e.type = "login";
  e.action = action;
  e.data = {{"user", user},
            {"service", "sshd"},
            {"source_ip", "192.0.2.50"},
            {"result", action == "success" ? "accepted" : "failed"},
            {"source", "auth_log"}};
  return e;
}

TEST_F(DetectStageTest, TheBuiltInRulesLoadWithoutErrorsAndCatchAMiner) {
  auto stage = Make("");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(stage->load_errors().empty()) << stage->load_errors().front();
  EXPECT_GE(stage->rules().rule_count(), 40u);
  EXPECT_GE(stage->rules().correlation_count(), 5u);
  auto alerts = Alerts(*stage, {Exec(kT0, "/tmp/xmrig", {"/tmp/xmrig", "--donate-level=1", "-o",
                                                          "stratum+tcp://127.0.0.1:3333"}),
                                Exec(kT0 + 1, "/usr/bin/ls", {"ls", "-l"})});
  EXPECT_FALSE(alerts.empty());
  Json stats = stage->Stats();
  EXPECT_EQ(stats["events"], 2);
  EXPECT_EQ(stats["alerts"], alerts.size());
  EXPECT_EQ(stats["load_errors"], 0);
}

TEST_F(DetectStageTest, OffMeansNoStage) {
  auto config = LoadConfig(schema_, "detect:\n  enabled: false\n", "test.yml");
  ASSERT_TRUE(config.ok());
  auto stage = DetectStage::Create(*config);
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  EXPECT_EQ(*stage, nullptr);
}

TEST_F(DetectStageTest, AProgramOffTheAllowListRaisesTheConfigAlert) {
  auto stage = Make("detect:\n  builtin_rules: false\n  allowed_processes: [/usr/bin/ls, /bin/busybox]\n");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(Alerts(*stage, {Exec(kT0, "/usr/bin/ls", {"ls"}), Exec(kT0 + 1, "/bin/busybox", {"sh"})}).empty());
  EXPECT_EQ(Alerts(*stage, {Exec(kT0 + 2, "/usr/bin/wget", {"wget", "x"})}),
            std::vector<std::string>{"config_process_not_allowed"});
}

TEST_F(DetectStageTest, ALoginToAnAccountOffTheAllowListRaisesTheConfigAlert) {
  auto stage = Make("detect:\n  builtin_rules: false\n  allowed_users: [admin]\n");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(Alerts(*stage, {Login(kT0, "success", "admin"), Login(kT0 + 1, "failure", "guest")}).empty());
  EXPECT_EQ(Alerts(*stage, {Login(kT0 + 2, "success", "guest")}), std::vector<std::string>{"config_user_not_allowed"});
}

TEST_F(DetectStageTest, AnOutboundConnectionOffTheAllowListRaisesTheConfigAlertLoopbackNever) {
  auto stage = Make("detect:\n  builtin_rules: false\n  allowed_remote_addresses: [10.0.0.0/8, 192.0.2.1]\n");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(Alerts(*stage, {Connect(kT0, "10.1.2.3", 443), Connect(kT0 + 1, "192.0.2.1", 80),
                              Connect(kT0 + 2, "127.0.0.1", 8080)})
                  .empty());
  EXPECT_EQ(Alerts(*stage, {Connect(kT0 + 3, "198.51.100.9", 443)}),
            std::vector<std::string>{"config_remote_address_not_allowed"});
}

TEST_F(DetectStageTest, ThresholdsAlertAboveTheirLimitWithinTheWindow) {
  auto stage = Make(
      "detect:\n  builtin_rules: false\n  max_failed_logins: 3\n  failed_logins_window: 1m\n"
      "  max_connections: 2\n  connections_window: 10s\n");
  ASSERT_NE(stage, nullptr);
  // Three failures within a minute are allowed: at +61 s the one at 0 s has left the window.
  EXPECT_TRUE(Alerts(*stage, {Login(kT0, "failure", "a"), Login(kT0 + 1000, "failure", "b"),
                              Login(kT0 + 2000, "failure", "c"), Login(kT0 + 61'000, "failure", "d"),
                              Login(kT0 + 62'500, "failure", "e"), Login(kT0 + 63'000, "failure", "f")})
                  .empty());
  // The fourth within a minute: 61, 62.5, 63 and 64 s.
  EXPECT_EQ(Alerts(*stage, {Login(kT0 + 64'000, "failure", "g")}),
            std::vector<std::string>{"config_failed_logins_above_limit"});
  EXPECT_TRUE(Alerts(*stage, {Connect(kT0, "10.0.0.1", 1), Connect(kT0 + 1, "10.0.0.1", 2)}).empty());
  EXPECT_EQ(Alerts(*stage, {Connect(kT0 + 2, "10.0.0.1", 3)}),
            std::vector<std::string>{"config_connections_above_limit"});
}

TEST_F(DetectStageTest, DisabledRulesRaiseNothingAndAreCounted) {
  auto stage = Make(
      "detect:\n  builtin_rules: false\n  allowed_processes: [/usr/bin/ls]\n"
      "  disabled_rules: [config_process_not_allowed]\n");
  ASSERT_NE(stage, nullptr);
  EXPECT_TRUE(Alerts(*stage, {Exec(kT0, "/usr/bin/wget", {"wget"})}).empty());
  EXPECT_EQ(stage->Stats()["disabled"], 1);
}

TEST_F(DetectStageTest, BadSettingsAreErrorsNamingTheSetting) {
  Status s = CreateError("detect:\n  allowed_remote_addresses: [10.0.0.0/8, 300.1.2.3]\n");
  EXPECT_NE(s.message().find("detect.allowed_remote_addresses:2"), std::string_view::npos) << s.ToString();
  s = CreateError("detect:\n  rules: [/nonexistent/vigil-rules]\n");
  EXPECT_NE(s.message().find("detect.rules"), std::string_view::npos) << s.ToString();
  EXPECT_NE(s.message().find("/nonexistent/vigil-rules"), std::string_view::npos) << s.ToString();
  s = CreateError("detect:\n  lists_dir: /nonexistent/vigil-lists\n");
  EXPECT_NE(s.message().find("detect.lists_dir"), std::string_view::npos) << s.ToString();
}

TEST_F(DetectStageTest, ABrokenRuleFileIsReportedWithItsLineAndTheGoodRulesRun) {
  char tmpl[] = "/tmp/vigil-detect-stage-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/mine.yml") << "title: Broken\nid: x1\nlogsource:\n  category: process_creation\n"
                                      "  product: linux\ndetection:\n  selection:\n    Image|nosuchmodifier: /bin/sh\n"
                                      "  condition: selection\n---\n"
                                      "title: Netcat\nid: x2\nname: my_netcat\nlogsource:\n"
                                      "  category: process_creation\n  product: linux\ndetection:\n  selection:\n"
                                      "    Image|endswith: /nc\n  condition: selection\nlevel: high\n";
  // Lists in a directory replace the built-in list of the same name.
  std::filesystem::create_directory(dir + "/lists");
  std::ofstream(dir + "/lists/threat_intel_ips.txt") << "198.18.0.0/15\n";
  auto stage = Make("detect:\n  rules: [" + dir + "/mine.yml]\n  lists_dir: " + dir + "/lists\n");
  std::filesystem::remove_all(dir);
  ASSERT_NE(stage, nullptr);
  ASSERT_EQ(stage->load_errors().size(), 1u);
  EXPECT_NE(stage->load_errors()[0].find("mine.yml:8"), std::string::npos) << stage->load_errors()[0];
  EXPECT_EQ(Alerts(*stage, {Exec(kT0, "/usr/bin/nc", {"nc", "-l"})}), std::vector<std::string>{"my_netcat"});
  auto intel = Alerts(*stage, {Connect(kT0, "198.18.3.4", 80), Connect(kT0 + 1, "203.0.113.66", 80)});
  EXPECT_EQ(intel, std::vector<std::string>{"threat_intel_address_connection"});
}

TEST_F(DetectStageTest, CustomRulesAreEmptyWithoutSettings) {
  auto config = LoadConfig(schema_, "", "test.yml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(CustomRules(*config), "");
}

}  // namespace
}  // namespace vigil
