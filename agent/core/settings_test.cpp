#include "agent/core/settings.h"

#include <gtest/gtest.h>

#include "agent/core/collector.h"
#include "agent/core/config_tables.h"

namespace vigil {
namespace {

constexpr SettingSpec kDemo[] = {
    {"mode", SettingType::kEnum, "auto", "How", 0, 0, "auto|netlink|poll"},
    {"poll_interval", SettingType::kDuration, "100ms", "How often", 10, 60'000},
    {"max_size", SettingType::kSize, "64MB", "How big", 0, int64_t{1} << 40},
    {"entries", SettingType::kInt, "256", "How many", 1, 65536},
    {"enabled", SettingType::kBool, "true", "Whether"},
    {"name", SettingType::kString, "", "Who"},
    {"paths", SettingType::kList, "/etc/passwd,/etc/shadow", "Where"},
};

ConfigSchema DemoSchema() {
  ConfigSchema s;
  s.AddSection("demo", "A demo section.", kDemo);
  return s;
}

TEST(Settings, DefaultsOfEveryTypeParse) {
  Config c = Config::Defaults(DemoSchema());
  EXPECT_EQ(c.GetString("demo.mode"), "auto");
  EXPECT_EQ(c.GetInt("demo.poll_interval"), 100);
  EXPECT_EQ(c.GetInt("demo.max_size"), 64 << 20);
  EXPECT_EQ(c.GetInt("demo.entries"), 256);
  EXPECT_TRUE(c.GetBool("demo.enabled"));
  EXPECT_EQ(c.GetString("demo.name"), "");
  EXPECT_EQ(c.GetList("demo.paths"), (std::vector<std::string>{"/etc/passwd", "/etc/shadow"}));
}

TEST(Settings, EveryDefaultOfTheAgentSchemaValidates) {
  ConfigSchema schema = BuildAgentSchema(CompiledCollectors());
  for (const auto& section : schema.sections())
    for (const auto& spec : section.specs) {
      auto v = ParseSettingValue(spec, spec.default_value);
      EXPECT_TRUE(v.ok()) << section.name << "." << spec.key << ": " << v.status().ToString();
      EXPECT_FALSE(spec.help.empty()) << section.name << "." << spec.key << " has no help";
    }
}

TEST(Settings, LoadsValuesAndRemembersWhichWereSet) {
  auto c = LoadConfig(DemoSchema(),
                      "demo:\n  mode: poll\n  poll_interval: 2s\n  max_size: 10KB\n  paths: [/a, /b, /c]\n", "f.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("demo.mode"), "poll");
  EXPECT_EQ(c->GetInt("demo.poll_interval"), 2000);
  EXPECT_EQ(c->GetInt("demo.max_size"), 10240);
  EXPECT_EQ(c->GetList("demo.paths").size(), 3u);
  EXPECT_TRUE(c->IsSet("demo.mode"));
  EXPECT_FALSE(c->IsSet("demo.entries"));
}

TEST(Settings, EmptyFileMeansDefaults) {
  auto c = LoadConfig(DemoSchema(), "", "empty.yml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->GetString("demo.mode"), "auto");
  EXPECT_TRUE(LoadConfig(DemoSchema(), "# only a comment\n", "c.yml").ok());
}

struct BadCase {
  const char* yaml;
  const char* expect;  // substring of the error
};

class SettingsRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(SettingsRejects, WithFileLineAndKey) {
  auto c = LoadConfig(DemoSchema(), GetParam().yaml, "/etc/vigil/agent.yml");
  ASSERT_FALSE(c.ok()) << GetParam().yaml;
  std::string msg(c.status().message());
  EXPECT_NE(msg.find(GetParam().expect), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("/etc/vigil/agent.yml:", 0), 0u) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, SettingsRejects,
    ::testing::Values(BadCase{"demo:\n  mod: poll\n", ":2:3: unknown key 'demo.mod' (did you mean 'mode'?)"},
                      BadCase{"dem:\n  mode: poll\n", ":1:1: unknown section 'dem' (did you mean 'demo'?)"},
                      BadCase{"demo:\n  mode: fast\n", ":2:9: key 'demo.mode': 'fast' is not one of: auto, netlink, poll"},
                      BadCase{"demo:\n  poll_interval: 5\n", "needs a unit"},
                      BadCase{"demo:\n  poll_interval: 5 fortnights\n", "unknown unit 'fortnights'"},
                      BadCase{"demo:\n  poll_interval: 1ms\n", "out of range (10ms to 1m)"},
                      BadCase{"demo:\n  entries: many\n", "expected an integer"},
                      BadCase{"demo:\n  entries: 99999999999999999999\n", "too large"},
                      BadCase{"demo:\n  enabled: yes\n", "expected true or false"},
                      BadCase{"demo:\n  paths: /etc\n", "expected a list"},
                      BadCase{"demo:\n  mode: [a, b]\n", "expected a single value"},
                      BadCase{"demo:\n  mode:\n    x: 1\n", "got a mapping"},
                      BadCase{"demo:\n  entries:\n", "has no value"},
                      BadCase{"demo:\n  mode: poll\n  mode: auto\n", ":3:3: key 'demo.mode' appears twice"},
                      BadCase{"demo: 5\n", "must be a mapping"},
                      BadCase{"- a\n- b\n", "expected a mapping of sections"},
                      BadCase{"demo:\n  mode: [unclosed\n", "not valid YAML"},
                      BadCase{"demo:\n  max_size: -1\n", "out of range"}));

TEST(Settings, ReadsAnchorsAliasesQuotesAndTheFirstDocument) {
  auto c = LoadConfig(DemoSchema(),
                      "demo:\n  name: &who \"~\"\n  mode: &m poll\n  paths: &p [/x, \"/y z\"]\n"
                      "---\ndemo:\n  mode: auto\n",
                      "a.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("demo.name"), "~") << "a quoted ~ is a string, not null";
  EXPECT_EQ(c->GetString("demo.mode"), "poll") << "only the first document is read";
  EXPECT_EQ(c->GetList("demo.paths"), (std::vector<std::string>{"/x", "/y z"}));

  // A whole section reused by an alias, and an empty value (null) for a string and a list.
  ConfigSchema two;
  two.AddSection("demo", "A demo section.", kDemo);
  two.AddSection("copy", "The same keys.", kDemo);
  c = LoadConfig(two, "demo: &d\n  entries: 7\n  paths: []\ncopy: *d\n", "b.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetInt("copy.entries"), 7);
  EXPECT_TRUE(c->GetList("copy.paths").empty());
  c = LoadConfig(two, "demo:\n  name:\n  paths: ~\n", "c.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("demo.name"), "");
  EXPECT_TRUE(c->GetList("demo.paths").empty());
}

TEST(Settings, AliasesThatExpandToAHugeTreeAreRefused) {
  // Each level lists the one before ten times: 10^6 values from a few lines.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 6; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  auto c = LoadConfig(DemoSchema(), yaml, "bomb.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("bomb.yml:5:"), std::string_view::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("anchors and aliases expand to more than 100000 nodes"), std::string_view::npos)
      << c.status().message();

  // Anchors on nested lists each keep a copy: as many nested levels as the parser allows, each
  // anchored and with a long list, are refused the same way.
  std::string nested;
  for (int level = 0; level < 200; ++level) {
    nested += "&n" + std::to_string(level) + " [";
    for (int k = 0; k < 50; ++k) nested += "x, ";
  }
  nested += "x" + std::string(200, ']');
  c = LoadConfig(DemoSchema(), "demo:\n  paths: " + nested + "\n", "nested.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("anchors and aliases expand to more than 100000 nodes"), std::string_view::npos)
      << c.status().message();
}

TEST(Settings, ReportsEveryErrorNotJustTheFirst) {
  auto c = LoadConfig(DemoSchema(), "demo:\n  mod: a\n  entries: x\n  enabled: 2\n", "f.yml");
  ASSERT_FALSE(c.ok());
  std::string msg(c.status().message());
  EXPECT_NE(msg.find("f.yml:2:"), std::string::npos);
  EXPECT_NE(msg.find("f.yml:3:"), std::string::npos);
  EXPECT_NE(msg.find("f.yml:4:"), std::string::npos);
}

TEST(Settings, SetOverrideIsValidated) {
  ConfigSchema schema = DemoSchema();
  Config c = Config::Defaults(schema);
  EXPECT_TRUE(c.Set(schema, "demo.entries", "5").ok());
  EXPECT_EQ(c.GetInt("demo.entries"), 5);
  EXPECT_NE(c.Set(schema, "demo.entries", "0").message().find("out of range"), std::string_view::npos);
  EXPECT_NE(c.Set(schema, "demo.nope", "1").message().find("unknown key"), std::string_view::npos);
  EXPECT_EQ(c.GetInt("demo.entries"), 5) << "a refused value changes nothing";
}

TEST(Settings, PrintedDefaultsLoadBackToTheDefaults) {
  ConfigSchema schema = BuildAgentSchema(CompiledCollectors());
  std::string text = schema.DefaultFileText();
  auto c = LoadConfig(schema, text, "defaults.yml");
  ASSERT_TRUE(c.ok()) << c.status().ToString() << "\n" << text;
  Config d = Config::Defaults(schema);
  for (const auto& section : schema.sections())
    for (const auto& spec : section.specs) {
      std::string key = section.name + "." + std::string(spec.key);
      EXPECT_TRUE(c->IsSet(key)) << key << " missing from --print-defaults";
    }
  EXPECT_EQ(c->GetString("agent.state_dir"), d.GetString("agent.state_dir"));
  EXPECT_EQ(c->GetInt("priorities.medium_interval"), d.GetInt("priorities.medium_interval"));
}

TEST(Settings, ReferenceListsEveryKey) {
  ConfigSchema schema = BuildAgentSchema(CompiledCollectors());
  std::string md = schema.ReferenceMarkdown();
  for (const auto& section : schema.sections())
    for (const auto& spec : section.specs)
      EXPECT_NE(md.find("`" + section.name + "." + std::string(spec.key) + "`"), std::string::npos) << spec.key;
}

TEST(Settings, FormatsValuesInTheirLargestExactUnit) {
  SettingSpec d{"d", SettingType::kDuration, "0s", "x"};
  SettingSpec s{"s", SettingType::kSize, "0", "x"};
  EXPECT_EQ(FormatSettingValue(d, int64_t{900'000}), "15m");
  EXPECT_EQ(FormatSettingValue(d, int64_t{1500}), "1500ms");
  EXPECT_EQ(FormatSettingValue(s, int64_t{256 * 1024}), "256KB");
  EXPECT_EQ(FormatSettingValue(s, int64_t{1000}), "1000B");
}

}  // namespace
}  // namespace vigil
