#include "agent/core/remote_config.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

constexpr SettingSpec kProcess[] = {
    {"mode", SettingType::kEnum, "auto", "How", 0, 0, "auto|netlink|poll"},
    {"poll_interval", SettingType::kDuration, "1s", "How often", 10, 60'000},
};
constexpr SettingSpec kAgent[] = {
    {"state_dir", SettingType::kString, "/var/lib/vigil", "Where"},
    {"log_level", SettingType::kEnum, "info", "Level", 0, 0, "debug|info|warn"},
};
constexpr SettingSpec kUplink[] = {
    {"ca_file", SettingType::kString, "", "CA"},
};

ConfigSchema Schema() {
  ConfigSchema s;
  s.AddSection("agent", "Agent.", kAgent);
  s.AddSection("process", "Process.", kProcess);
  s.AddSection("uplink", "Uplink.", kUplink);
  return s;
}

Config Local(std::string_view yaml) {
  auto c = LoadConfig(Schema(), yaml, "agent.yml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : Config::Defaults(Schema());
}

DesiredConfig Desired(std::string_view payload) {
  auto d = ParseDesiredConfig(payload);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : DesiredConfig{};
}

TEST(RemoteConfig, ParsesVersionAsStringOrNumber) {
  EXPECT_EQ(Desired(R"({"version":"v7","config":{}})").version, "v7");
  EXPECT_EQ(Desired(R"({"version":7,"config":{"process":{"mode":"poll"}}})").version, "7");
}

TEST(RemoteConfig, MalformedDocumentsNameTheField) {
  struct Case {
    const char* payload;
    const char* names;
  } cases[] = {
      {"", "JSON"},
      {"[1]", "object"},
      {R"({"config":{}})", "'version'"},
      {R"({"version":-1,"config":{}})", "'version'"},
      {R"({"version":"","config":{}})", "'version'"},
      {R"({"version":1})", "'config'"},
      {R"({"version":1,"config":[]})", "'config'"},
  };
  for (const Case& c : cases) {
    auto d = ParseDesiredConfig(c.payload);
    ASSERT_FALSE(d.ok()) << c.payload;
    EXPECT_NE(d.status().message().find(c.names), std::string_view::npos) << d.status().message();
  }
}

TEST(RemoteConfig, ValidDocumentIsAppliedOverDefaults) {
  MergedConfig m = MergeRemoteConfig(Schema(), Local(""), Desired(R"({"version":1,"config":{"process":{"mode":"poll"}}})"));
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.config.GetString("process.mode"), "poll");
  EXPECT_EQ(m.config.GetInt("process.poll_interval"), 1000);
  EXPECT_TRUE(m.pinned.empty());
}

TEST(RemoteConfig, LocalFileKeysArePinned) {
  MergedConfig m = MergeRemoteConfig(Schema(), Local("process:\n  mode: netlink\n"),
                                     Desired(R"({"version":1,"config":{"process":{"mode":"poll","poll_interval":"5s"}}})"));
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.config.GetString("process.mode"), "netlink");
  EXPECT_EQ(m.config.GetInt("process.poll_interval"), 5000);
  EXPECT_EQ(m.pinned, std::vector<std::string>{"process.mode"});
  Json r = ReportedConfig(Desired(R"({"version":1,"config":{"process":{"mode":"poll","poll_interval":"5s"}}})"), m, 5);
  EXPECT_EQ(r["applied"], true);
  EXPECT_FALSE(r["config"]["process"].contains("mode")) << "a pinned key is not reported as applied";
  EXPECT_EQ(r["config"]["process"]["poll_interval"], "5s");
}

TEST(RemoteConfig, InvalidFieldRefusesTheWholeDocumentAndIsNamed) {
  DesiredConfig d = Desired(R"({"version":"9","config":{"process":{"mode":"poll","poll_interval":"soon"},"nope":{}}})");
  MergedConfig m = MergeRemoteConfig(Schema(), Local(""), d);
  ASSERT_FALSE(m.ok);
  ASSERT_EQ(m.invalid.size(), 2u);
  // Sections come in name order: "nope" before "process".
  EXPECT_NE(m.invalid[0].error.find("unknown section 'nope'"), std::string::npos) << m.invalid[0].error;
  EXPECT_EQ(m.invalid[1].key, "process.poll_interval");
  EXPECT_NE(m.invalid[1].error.find("'soon'"), std::string::npos) << m.invalid[1].error;
  Json r = ReportedConfig(d, m, 5);
  EXPECT_EQ(r["applied"], false);
  EXPECT_EQ(r["version"], "9");
  EXPECT_EQ(r["invalid"][1]["key"], "process.poll_interval");
}

TEST(RemoteConfig, LocalOnlyKeysAreRefused) {
  MergedConfig m = MergeRemoteConfig(
      Schema(), Local(""), Desired(R"({"version":1,"config":{"agent":{"state_dir":"/tmp/x"},"uplink":{"ca_file":"/x"}}})"));
  ASSERT_FALSE(m.ok);
  ASSERT_EQ(m.invalid.size(), 2u);
  EXPECT_EQ(m.invalid[0].key, "agent.state_dir");
  EXPECT_EQ(m.invalid[1].key, "uplink.ca_file");
  EXPECT_NE(m.invalid[0].error.find("local"), std::string::npos);
}

TEST(RemoteConfig, LocalOnlyKeysKeepTheirLocalValue) {
  MergedConfig m = MergeRemoteConfig(Schema(), Local("agent:\n  state_dir: /data/vigil\n"),
                                     Desired(R"({"version":1,"config":{"agent":{"log_level":"debug"}}})"));
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.config.GetString("agent.state_dir"), "/data/vigil");
  EXPECT_EQ(m.config.GetString("agent.log_level"), "debug");
}

}  // namespace
}  // namespace vigil
