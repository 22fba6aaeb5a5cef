#include "agent/detect_stage.h"

#include <algorithm>
#include <string_view>

#include <spdlog/spdlog.h>

#include "agent/detect/builtin.h"
#include "agent/detect/files.h"
#include "agent/detect/lists.h"
#include "schema/schema.h"

namespace vigil {
namespace {

constexpr int64_t kDay = 86'400'000;

constexpr SettingSpec kDetectSettings[] = {
    {"enabled", SettingType::kBool, "true",
     "Run the detection rules on the device; alerts are events of type alert, sent at once"},
    {"builtin_rules", SettingType::kBool, "true", "Load the rules built into the agent (rules/ of the source tree)"},
    {"rules", SettingType::kList, "",
     "Further rule files or directories (their *.yml and *.yaml files, recursively); see docs/rules.md"},
    {"lists_dir", SettingType::kString, "",
     "Directory of list files; a file replaces the built-in list of its name (threat_intel_ips.txt, ...)"},
    {"disabled_rules", SettingType::kList, "", "Ids or names of rules whose alerts are not raised"},
    {"suppress", SettingType::kDuration, "60s",
     "Repeated alerts of one rule for one group within this time are counted, not raised (0s: every one)", 0, kDay},
    {"max_groups", SettingType::kInt, "10000",
     "Groups each correlation rule keeps (per source address, user...); the least recently used is dropped", 16,
     1 << 20},
    {"allowed_processes", SettingType::kList, "",
     "Executable paths allowed to run; when set, any other program started raises an alert"},
    {"allowed_users", SettingType::kList, "",
     "Accounts allowed to log in; when set, a login to any other raises an alert"},
    {"allowed_remote_addresses", SettingType::kList, "",
     "Addresses and networks (10.0.0.0/8) the device may connect to; when set, an outbound connection elsewhere "
     "raises an alert (loopback is always allowed)"},
    {"max_failed_logins", SettingType::kInt, "0",
     "More failed logins than this within failed_logins_window raise an alert (0: off)", 0, 100'000},
    {"failed_logins_window", SettingType::kDuration, "10m", "The window of max_failed_logins", 1000, kDay},
    {"max_connections", SettingType::kInt, "0",
     "More network connections (made or accepted) than this within connections_window raise an alert (0: off)", 0,
     100'000},
    {"connections_window", SettingType::kDuration, "1m", "The window of max_connections", 1000, kDay},
};

// The allow lists: setting, list name, and how the generated rule uses it.
struct AllowList {
  std::string_view setting;
  std::string_view list;
};
constexpr AllowList kAllowLists[] = {
    {"detect.allowed_processes", "config_allowed_processes"},
    {"detect.allowed_users", "config_allowed_users"},
    {"detect.allowed_remote_addresses", "config_allowed_remote_addresses"},
};

std::string Seconds(int64_t ms) { return std::to_string(std::max<int64_t>(1, (ms + 999) / 1000)) + "s"; }

std::string Header(std::string_view title, const std::string& id, std::string_view name, const std::string& description) {
  std::string s;
  s += "title: " + std::string(title) + "\n";
  s += "id: " + id + "\n";
  s += "name: " + std::string(name) + "\n";
  s += "status: stable\n";
  s += "description: " + description + "\n";
  s += "author: Vigil\n";
  return s;
}

// A threshold from the configuration as two rules: a building block matching each
// occurrence, and an event_count correlation over it per device.
struct Threshold {
  std::string base_title, base_id, base_name;  // the building block
  std::string title, id, name;                 // the correlation
  std::string tags, logsource, selection;
};

std::string ThresholdRules(const Config& config, std::string_view max_key, std::string_view window_key,
                           const Threshold& t) {
  const int64_t max = config.GetInt(max_key);
  if (max <= 0) return "";
  return Header(t.base_title, t.base_id, t.base_name, "Building block of " + t.name + ".") + t.logsource +
         "detection:\n  selection:\n" + t.selection + "  condition: selection\nlevel: informational\n---\n" +
         Header(t.title, t.id, t.name,
                "More than " + std::string(max_key) + " within " + std::string(window_key) + ".") +
         "tags: [" + t.tags + "]\n" + "correlation:\n  type: event_count\n  rules: [" + t.base_name +
         "]\n  group-by: [device]\n" +
         "  timespan: " + Seconds(config.GetInt(window_key)) + "\n  condition: {gt: " + std::to_string(max) +
         "}\nlevel: medium\n";
}

}  // namespace

void AddDetectSection(ConfigSchema& schema) {
  schema.AddSection("detect",
                    "Detection on the device: Sigma rules and correlations over every event, before aggregation "
                    "(docs/rules.md). The allow lists and thresholds below add rules of their own.",
                    kDetectSettings);
}

std::string CustomRules(const Config& config) {
  std::vector<std::string> docs;
  if (!config.GetList("detect.allowed_processes").empty()) {
    docs.push_back(Header("Program not on the allow list", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7101",
                          "config_process_not_allowed",
                          "A program started whose executable is not in detect.allowed_processes.") +
                   "tags: [attack.execution]\n"
                   "logsource: {category: process_creation, product: linux}\n"
                   "detection:\n"
                   "  allowed:\n"
                   "    Image|expand: '%config_allowed_processes%'\n"
                   "  condition: not allowed\n"
                   "level: medium\n");
  }
  if (!config.GetList("detect.allowed_users").empty()) {
    docs.push_back(Header("Login to an account not on the allow list", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7102",
                          "config_user_not_allowed", "A login succeeded to an account not in detect.allowed_users.") +
                   "tags: [attack.initial-access, attack.t1078]\n"
                   "logsource: {product: vigil, category: login, service: success}\n"
                   "detection:\n"
                   "  allowed:\n"
                   "    user|expand: '%config_allowed_users%'\n"
                   "  condition: not allowed\n"
                   "level: medium\n");
  }
  if (!config.GetList("detect.allowed_remote_addresses").empty()) {
    docs.push_back(Header("Outbound connection to an address not on the allow list",
                          "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7103", "config_remote_address_not_allowed",
                          "The device connected to an address outside detect.allowed_remote_addresses.") +
                   "tags: [attack.command-and-control]\n"
                   "logsource: {category: network_connection, product: linux}\n"
                   "detection:\n"
                   "  outbound:\n"
                   "    Initiated: true\n"
                   "  allowed:\n"
                   "    DestinationIp|cidr|expand: '%config_allowed_remote_addresses%'\n"
                   "  loopback:\n"
                   "    DestinationIp|cidr: ['127.0.0.0/8', '::1/128']\n"
                   "  condition: outbound and not allowed and not loopback\n"
                   "level: medium\n");
  }
  docs.push_back(ThresholdRules(config, "detect.max_failed_logins", "detect.failed_logins_window",
                                {"Failed login", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7104", "config_login_failure",
                                 "Failed logins above the allowed number", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7105",
                                 "config_failed_logins_above_limit", "attack.credential-access, attack.t1110",
                                 "logsource: {product: vigil, category: login, service: failure}\n",
                                 "    result: [failed, denied]\n"}));
  docs.push_back(ThresholdRules(config, "detect.max_connections", "detect.connections_window",
                                {"Network connection", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7106", "config_connection",
                                 "Network connections above the allowed number", "4b8a2f61-7c0e-4e59-9d1a-0c5f3e2a7107",
                                 "config_connections_above_limit", "attack.command-and-control",
                                 "logsource: {category: network_connection, product: linux}\n",
                                 "    DestinationIp|exists: true\n"}));
  std::erase(docs, std::string());
  std::string text;
  for (const std::string& d : docs) text += (text.empty() ? "" : "---\n") + d;
  return text;
}

Result<std::unique_ptr<DetectStage>> DetectStage::Create(const Config& config) {
  if (!config.GetBool("detect.enabled")) return std::unique_ptr<DetectStage>();
  std::unique_ptr<DetectStage> stage(new DetectStage());

  std::vector<detect::RuleSource> sources;
  if (config.GetBool("detect.builtin_rules")) sources = detect::BuiltinRuleSources();
  const auto& paths = config.GetList("detect.rules");
  if (!paths.empty()) {
    std::vector<detect::LoadIssue> read_issues;
    auto more = detect::ReadRuleFiles(paths, &read_issues);
    if (!read_issues.empty()) return Status::InvalidArgument("detect.rules: " + read_issues.front().ToString());
    for (auto& s : more) sources.push_back(std::move(s));
  }
  if (std::string custom = CustomRules(config); !custom.empty()) sources.push_back({"config:detect", std::move(custom)});

  auto lists = std::make_shared<detect::Lists>();
  std::vector<detect::ListIssue> list_issues = detect::LoadBuiltinLists(lists.get());
  if (const std::string& dir = config.GetString("detect.lists_dir"); !dir.empty()) {
    auto issues = detect::LoadListDir(dir, lists.get());
    for (const auto& i : issues) {
      if (i.line == 0) return Status::InvalidArgument("detect.lists_dir: " + i.ToString());
    }
    list_issues.insert(list_issues.end(), issues.begin(), issues.end());
  }
  for (const AllowList& a : kAllowLists) {
    const auto& items = config.GetList(a.setting);
    if (items.empty()) continue;
    std::string text;
    for (const std::string& item : items) text += item + "\n";
    auto issues = lists->Load(std::string(a.list), text, a.setting);
    // The setting names the file and the item's position the line: "detect.allowed_...:2: ...".
    if (!issues.empty()) return Status::InvalidArgument(issues.front().ToString());
  }

  detect::LoadOptions lo;
  lo.lists = lists;
  // The schema is parsed for this load and dropped after it: compiled rules do not refer to it,
  // and the process-wide BuiltinSchema() would hold its few hundred KB for the agent's life.
  Result<schema::Schema> event_schema = schema::ParseBuiltinSchema();
  if (!event_schema.ok()) return event_schema.status();
  lo.schema = &*event_schema;
  auto loaded = detect::RuleSet::Load(sources, lo);
  for (const auto& i : list_issues) stage->load_errors_.push_back(i.ToString());
  for (const auto& i : loaded.errors) stage->load_errors_.push_back(i.ToString());
  for (const std::string& e : stage->load_errors_) spdlog::warn("detect: {}", e);
  for (const auto& w : loaded.warnings) spdlog::warn("detect: {}", w.ToString());
  stage->rules_ = loaded.rules;

  detect::EngineOptions eo;
  eo.suppress_ms = config.GetInt("detect.suppress");
  eo.max_groups = static_cast<size_t>(config.GetInt("detect.max_groups"));
  stage->engine_ = std::make_unique<detect::Engine>(stage->rules_, eo);
  for (const std::string& r : config.GetList("detect.disabled_rules")) stage->disabled_.insert(r);
  spdlog::info("detect: {} rules and {} correlations loaded{}", stage->rules_->rule_count(),
               stage->rules_->correlation_count(),
               stage->load_errors_.empty() ? "" : ", " + std::to_string(stage->load_errors_.size()) + " errors");
  return stage;
}

void DetectStage::Inspect(const Event& e, std::vector<Event>* made) {
  size_t before = made->size();
  engine_->Process(e, made);
  if (disabled_.empty() || made->size() == before) return;
  auto is_disabled = [this](const Event& alert) {
    for (const char* key : {"rule_id", "rule_name"}) {
      auto it = alert.data.find(key);
      if (it != alert.data.end() && it->is_string() && disabled_.contains(it->get<std::string>())) return true;
    }
    return false;
  };
  auto first = std::remove_if(made->begin() + static_cast<std::ptrdiff_t>(before), made->end(), is_disabled);
  disabled_count_ += static_cast<uint64_t>(made->end() - first);
  made->erase(first, made->end());
}

Json DetectStage::Stats() const {
  const detect::EngineStats& s = engine_->stats();
  return Json{{"rules", rules_->rule_count()},
              {"correlations", rules_->correlation_count()},
              {"load_errors", load_errors_.size()},
              {"events", s.events},
              {"candidates", s.candidates},
              {"matches", s.matches},
              {"alerts", s.alerts},
              {"suppressed", s.suppressed},
              {"disabled", disabled_count_},
              {"groups", s.groups},
              {"groups_evicted", s.groups_evicted},
              {"state_bytes", engine_->StateBytes()}};
}

}  // namespace vigil
