// The built-in rules against their tests (rules/README.md, "Tests"): every rule file loads
// without an error, and every rule's positive events raise its alert while its negative ones
// do not, through the real engine and the real lists of rules/lists/.
//
//   detection rule   loaded alone (a building block too: alone, it raises its own alert); each
//                    positive event, given to a fresh engine, raises an alert of the rule;
//                    no negative event does.
//   correlation      loaded with every rule file (its base rules may live anywhere); the
//                    positive list, fed in order to a fresh engine, raises an alert of the
//                    correlation; the negative list raises none.
//
// A test file whose rule is in rules/pending/ (not loaded: it needs data or an engine feature
// not there yet) is counted and its name checked against the pending files, not run.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/event.h"
#include "agent/detect/builtin.h"
#include "agent/detect/detect.h"
#include "agent/detect/files.h"
#include "agent/detect/lists.h"

namespace vigil::detect {
namespace {

namespace fs = std::filesystem;

const fs::path kRules = VIGIL_RULES_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rule files of a directory (not recursive), sorted.
std::vector<fs::path> RuleFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// One YAML document of a rule file, with its `name`.
struct Doc {
  std::string file;
  std::string name;
  bool correlation = false;
  std::string text;
};

std::vector<Doc> Documents(const fs::path& file) {
  std::vector<Doc> docs;
  std::istringstream in(ReadFile(file));
  std::string line;
  std::string text;
  auto flush = [&] {
    YAML::Node n = YAML::Load(text);
    if (n.IsMap() && n["name"])
      docs.push_back(Doc{file.string(), n["name"].as<std::string>(), static_cast<bool>(n["correlation"]), text});
    text.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("---", 0) == 0) {
      flush();
      continue;
    }
    text += line + "\n";
  }
  flush();
  return docs;
}

// A YAML value as JSON, resolving plain scalars as YAML 1.2's core schema does (null,
// booleans, integers, floats); quoted scalars stay strings.
Json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json j = Json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = ToJson(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      Json j = Json::array();
      for (const auto& item : n) j.push_back(ToJson(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "?") return s;  // quoted
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      uint64_t u = 0;  // unsigned where it can be, as nlohmann parses JSON
      if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), u);
          ec == std::errc() && end == s.data() + s.size())
        return u;
      int64_t i = 0;
      if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
          ec == std::errc() && end == s.data() + s.size())
        return i;
      double d = 0;
      if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
          ec == std::errc() && end == s.data() + s.size() && !s.empty())
        return d;
      return s;
    }
    default:
      return nullptr;
  }
}

std::vector<Event> Events(const YAML::Node& list, const std::string& where) {
  std::vector<Event> out;
  if (!list) return out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto e = EventFromJson(ToJson(list[i]));
    EXPECT_TRUE(e.ok()) << where << "[" << i << "]: " << e.status().ToString();
    if (e.ok()) out.push_back(std::move(*e));
  }
  return out;
}

class BuiltinRules : public ::testing::Test {
 protected:
  void SetUp() override {
    lists_ = std::make_shared<Lists>();
    auto issues = LoadListDir((kRules / "lists").string(), lists_.get());
    for (const auto& issue : issues) ADD_FAILURE() << "list: " << issue.ToString();
    for (const auto& f : RuleFiles(kRules))
      for (Doc& d : Documents(f)) docs_.push_back(std::move(d));
    for (const auto& f : RuleFiles(kRules / "pending"))
      for (Doc& d : Documents(f)) pending_.insert(d.name);
  }

  RuleSet::LoadResult Load(const std::vector<const Doc*>& docs) {
    std::vector<RuleSource> sources;
    for (const Doc* d : docs) sources.push_back(RuleSource{d->file, d->text});
    LoadOptions options;
    options.lists = lists_;
    return RuleSet::Load(sources, options);
  }

  // The alerts of rule `name` raised by `events` fed in order to a fresh engine.
  static size_t AlertsOf(const std::shared_ptr<const RuleSet>& rules, const std::string& name,
                         const std::vector<Event>& events) {
    EngineOptions options;
    options.suppress_ms = 0;
    Engine engine(rules, options);
    std::vector<Event> alerts;
    for (const Event& e : events) engine.Process(e, &alerts);
    return std::count_if(alerts.begin(), alerts.end(),
                         [&](const Event& a) { return a.data.value("rule_name", "") == name; });
  }

  std::shared_ptr<Lists> lists_;
  std::vector<Doc> docs_;
  std::set<std::string> pending_;
};

TEST_F(BuiltinRules, EveryRuleFileLoadsWithoutAnError) {
  std::vector<const Doc*> all;
  for (const Doc& d : docs_) all.push_back(&d);
  ASSERT_FALSE(all.empty());
  auto result = Load(all);
  for (const auto& e : result.errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(result.failed, 0u);
  EXPECT_EQ(result.loaded, docs_.size());
}

// What the binaries carry (compressed, agent/detect/builtin.h) is these files, byte for byte.
TEST(CompiledInRules, AreTheRuleAndListFilesOfThisDirectory) {
  std::map<std::string, std::string> on_disk;
  for (const auto& e : fs::directory_iterator(kRules))
    if (e.path().extension() == ".yml") on_disk["builtin:rules/" + e.path().filename().string()] = ReadFile(e.path());
  std::map<std::string, std::string> compiled;
  for (RuleSource& s : BuiltinRuleSources()) compiled[s.name] = std::move(s.text);
  EXPECT_GE(compiled.size(), 5u);
  EXPECT_TRUE(compiled == on_disk) << compiled.size() << " compiled in, " << on_disk.size() << " on disk";

  const EmbeddedBundle& lists = BuiltinListBundle();
  const EmbeddedTexts texts(lists);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(kRules / "lists")) {
    ++n;
    auto it = std::find_if(lists.files.begin(), lists.files.end(),
                           [&](const EmbeddedFile& f) { return f.name == e.path().filename().string(); });
    ASSERT_NE(it, lists.files.end()) << e.path();
    EXPECT_EQ(texts.Text(*it), ReadFile(e.path())) << e.path();
  }
  EXPECT_EQ(lists.files.size(), n);
}

TEST_F(BuiltinRules, EveryRuleHasATestAndEveryTestARule) {
  std::set<std::string> tests;
  for (const auto& e : fs::directory_iterator(kRules / "tests"))
    if (e.path().extension() == ".yml") tests.insert(e.path().stem().string());
  for (const Doc& d : docs_) EXPECT_TRUE(tests.count(d.name)) << "rule " << d.name << " (" << d.file << ") has no test";
  for (const std::string& t : tests) {
    bool known =
        pending_.count(t) > 0 || std::any_of(docs_.begin(), docs_.end(), [&](const Doc& d) { return d.name == t; });
    EXPECT_TRUE(known) << "tests/" << t << ".yml tests no rule";
  }
}

TEST_F(BuiltinRules, PositiveEventsRaiseTheAlertAndNegativeOnesDoNot) {
  std::vector<const Doc*> all;
  for (const Doc& d : docs_) all.push_back(&d);
  auto everything = Load(all);
  ASSERT_EQ(everything.failed, 0u);
  size_t run = 0;
  size_t pending = 0;
  for (const auto& entry : fs::directory_iterator(kRules / "tests")) {
    if (entry.path().extension() != ".yml") continue;
    const std::string name = entry.path().stem().string();
    auto doc = std::find_if(docs_.begin(), docs_.end(), [&](const Doc& d) { return d.name == name; });
    if (doc == docs_.end()) {
      EXPECT_TRUE(pending_.count(name)) << name;
      ++pending;
      continue;
    }
    SCOPED_TRACE("rule " + name + " (" + doc->file + "), tests/" + name + ".yml");
    const YAML::Node test = YAML::LoadFile(entry.path().string());
    const std::vector<Event> positive = Events(test["positive"], "positive");
    const std::vector<Event> negative = Events(test["negative"], "negative");
    EXPECT_FALSE(positive.empty());
    EXPECT_FALSE(negative.empty());
    if (doc->correlation) {
      EXPECT_GE(AlertsOf(everything.rules, name, positive), 1u) << "the positive sequence raised no alert";
      EXPECT_EQ(AlertsOf(everything.rules, name, negative), 0u) << "the negative sequence raised an alert";
    } else {
      auto alone = Load({&*doc});
      ASSERT_EQ(alone.failed, 0u);
      for (size_t i = 0; i < positive.size(); ++i)
        EXPECT_EQ(AlertsOf(alone.rules, name, {positive[i]}), 1u) << "positive[" << i << "] raised no alert";
      for (size_t i = 0; i < negative.size(); ++i)
        EXPECT_EQ(AlertsOf(alone.rules, name, {negative[i]}), 0u) << "negative[" << i << "] raised an alert";
    }
    ++run;
  }
  EXPECT_EQ(run, docs_.size());
  EXPECT_EQ(pending, pending_.size());
}

}  // namespace
}  // namespace vigil::detect
