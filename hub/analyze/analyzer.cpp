#include "hub/analyze/analyzer.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "agent/core/event.h"
#include "agent/detect/builtin.h"
#include "agent/detect/files.h"
#include "agent/detect/lists.h"
#include "spdlog/spdlog.h"

namespace vigil::hub {

// The (type, action) pairs the hub rules target: a row of any other pair is never queued.
struct Analyzer::Targets {
  std::vector<std::pair<std::string, std::string>> pairs;  // action "*": any action of the type

  bool Wanted(const EventRow& row) const {
    for (const auto& [type, action] : pairs) {
      if (type == row.type && (action == "*" || action == row.action)) return true;
    }
    return false;
  }
};

struct Analyzer::Loaded {
  std::vector<detect::RuleSource> sources;
  std::shared_ptr<detect::Lists> lists;
  std::shared_ptr<const detect::RuleSet> rules;
  std::unique_ptr<detect::Engine> engine;
  std::set<std::string, std::less<>> hub_rules;  // ids and names of the rules whose alerts are stored
  bool all_rules = false;
  std::vector<std::string> rule_errors, rule_warnings;  // of the last RuleSet::Load
  RulesReport report;
};

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return s;
}

// The top-level `name:` of the document that starts at `line` (1-based) of `text`; "" when none.
std::string RuleNameAt(std::string_view text, int line) {
  int n = 1;
  size_t pos = 0;
  while (n < line && pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return "";
    pos = nl + 1;
    ++n;
  }
  bool first = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view l = text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos);
    if (!first && l.starts_with("---")) break;
    first = false;
    if (l.starts_with("name:")) return std::string(Trim(l.substr(5)));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return "";
}

bool SameSources(const std::vector<detect::RuleSource>& a, const std::vector<detect::RuleSource>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].text != b[i].text) return false;
  }
  return true;
}

}  // namespace

nlohmann::json RulesReport::ToJson() const {
  nlohmann::json rules_json = nlohmann::json::array();
  for (const Rule& r : rules) {
    rules_json.push_back({{"id", r.info.id},
                          {"name", r.name},
                          {"title", r.info.title},
                          {"level", r.info.level},
                          {"file", r.info.file},
                          {"line", r.info.line},
                          {"correlation", r.info.correlation},
                          {"generates_alerts", r.info.generates_alerts},
                          {"hub", r.hub},
                          {"targets", r.info.targets}});
  }
  return {{"rules", std::move(rules_json)},
          {"errors", errors},
          {"warnings", warnings},
          {"targets", targets},
          {"loaded", loaded_ms},
          {"lists_only", lists_only}};
}

Analyzer::Analyzer(Store& store, AnalyzerOptions options, Clock now)
    : store_(store),
      options_(std::move(options)),
      now_(std::move(now)),
      worker_(options_.max_queue_events, options_.max_queue_bytes) {}

Analyzer::~Analyzer() { Stop(); }

Status Analyzer::Start() {
  VIGIL_RETURN_IF_ERROR(Load(/*initial=*/true));
  worker_.Start([this](std::vector<EventRow>& rows) { ProcessRows(rows); });
  return Status::Ok();
}

void Analyzer::Stop() { worker_.Stop(); }

Status Analyzer::Load(bool initial) {
  std::vector<detect::LoadIssue> read_issues;
  std::vector<detect::RuleSource> sources;
  if (options_.rule_paths.empty()) {
    sources = detect::BuiltinRuleSources();
  } else {
    sources = detect::ReadRuleFiles(options_.rule_paths, &read_issues);
    if (sources.empty() && initial) {
      std::string why = read_issues.empty() ? "no rule files" : read_issues.front().ToString();
      return Status::InvalidArgument("analyze.rules: " + why);
    }
  }

  std::lock_guard load_lock(load_mu_);
  const bool lists_only = loaded_ != nullptr && SameSources(loaded_->sources, sources);
  auto lists = lists_only ? loaded_->lists : std::make_shared<detect::Lists>();
  std::vector<detect::ListIssue> list_issues;
  if (options_.lists_dir.empty()) {
    list_issues = detect::LoadBuiltinLists(lists.get());
  } else {
    list_issues = detect::LoadListDir(options_.lists_dir, lists.get());
  }

  auto next = std::make_unique<Loaded>();
  RulesReport& report = next->report;
  report.loaded_ms = now_();
  report.lists_only = lists_only;
  for (const auto& i : read_issues) report.errors.push_back(i.ToString());
  for (const auto& i : list_issues) report.errors.push_back(i.ToString());
  if (lists_only) {
    next->sources = std::move(loaded_->sources);
    next->rules = loaded_->rules;
    next->engine = std::move(loaded_->engine);
    // The rules' own errors and warnings stay; the file and list errors are this load's.
    next->rule_errors = std::move(loaded_->rule_errors);
    next->rule_warnings = std::move(loaded_->rule_warnings);
  } else {
    detect::LoadOptions lo;
    lo.lists = lists;
    auto result = detect::RuleSet::Load(sources, lo);
    for (const auto& i : result.errors) next->rule_errors.push_back(i.ToString());
    for (const auto& i : result.warnings) next->rule_warnings.push_back(i.ToString());
    next->rules = result.rules;
    detect::EngineOptions eo;
    eo.suppress_ms = options_.suppress_ms;
    next->engine = std::make_unique<detect::Engine>(next->rules, eo);
    next->sources = std::move(sources);
  }
  next->lists = lists;
  report.errors.insert(report.errors.end(), next->rule_errors.begin(), next->rule_errors.end());
  report.warnings = next->rule_warnings;

  std::set<std::string, std::less<>> wanted(options_.alert_rules.begin(), options_.alert_rules.end());
  next->all_rules = wanted.count("*") > 0;
  std::set<std::string> targets;
  for (detect::RuleInfo& info : next->rules->Rules()) {
    RulesReport::Rule r;
    for (const auto& src : next->sources) {
      if (src.name == info.file) r.name = RuleNameAt(src.text, info.line);
    }
    r.hub = info.generates_alerts &&
            (next->all_rules || wanted.count(info.id) > 0 || (!r.name.empty() && wanted.count(r.name) > 0));
    if (r.hub) {
      next->hub_rules.insert(info.id);
      if (!r.name.empty()) next->hub_rules.insert(r.name);
      targets.insert(info.targets.begin(), info.targets.end());
    }
    r.info = std::move(info);
    report.rules.push_back(std::move(r));
  }
  report.targets.assign(targets.begin(), targets.end());
  for (const std::string& w : options_.alert_rules) {
    if (w != "*" && next->hub_rules.count(w) == 0)
      report.warnings.push_back("analyze.alert_rules: no loaded rule that raises alerts has id or name " + w);
  }

  auto t = std::make_shared<Targets>();
  for (const std::string& target : report.targets) {
    size_t slash = target.find('/');
    if (slash == std::string::npos) {
      t->pairs.emplace_back(target, "*");
    } else {
      t->pairs.emplace_back(target.substr(0, slash), target.substr(slash + 1));
    }
  }
  for (const auto& e : report.errors) spdlog::error("analyze: {}", e);
  for (const auto& w : report.warnings) spdlog::warn("analyze: {}", w);
  size_t hub_count = std::count_if(report.rules.begin(), report.rules.end(), [](const auto& r) { return r.hub; });
  spdlog::info("analyze: {} {} rules loaded, {} raise hub alerts, {} errors", lists_only ? "lists reloaded," : "",
               report.rules.size(), hub_count, report.errors.size());
  loaded_ = std::move(next);
  {
    std::lock_guard lock(mu_);
    targets_ = std::move(t);
  }
  return Status::Ok();
}

RulesReport Analyzer::Reload() {
  if (Status s = Load(/*initial=*/false); !s.ok()) spdlog::error("analyze: reload: {}", s.message());
  return Report();
}

RulesReport Analyzer::Report() const {
  std::lock_guard lock(load_mu_);
  return loaded_ ? loaded_->report : RulesReport{};
}

void Analyzer::Enqueue(std::span<const BatchRows> batches) {
  std::shared_ptr<const Targets> targets;
  {
    std::lock_guard lock(mu_);
    targets = targets_;
  }
  if (!targets) return;
  worker_.Enqueue(batches, [&](const EventRow& row) { return targets->Wanted(row); });
}

void Analyzer::ProcessRows(std::vector<EventRow>& rows) {
  std::vector<AlertRow> out;
  uint64_t bad = 0;
  {
    std::lock_guard load_lock(load_mu_);
    std::vector<Event> alerts;
    for (const EventRow& row : rows) {
      Json j = Json::parse(row.json, nullptr, /*allow_exceptions=*/false);
      auto event = j.is_discarded() ? Result<Event>(Status::InvalidArgument("not JSON")) : EventFromJson(j);
      if (!event.ok()) {
        ++bad;
        continue;
      }
      event->device = row.device;
      alerts.clear();
      loaded_->engine->Process(*event, &alerts);
      for (Event& a : alerts) {
        std::string rule_id = a.data.value("rule_id", "");
        std::string rule_name = a.data.value("rule_name", "");
        if (!loaded_->all_rules && loaded_->hub_rules.count(rule_id) == 0 && loaded_->hub_rules.count(rule_name) == 0)
          continue;
        AlertRow r;
        r.device = a.device;
        r.origin = "hub";
        r.ts_ms = a.ts_ms;
        r.rule_id = std::move(rule_id);
        r.title = a.data.value("title", "");
        r.level = a.data.value("level", "medium");
        r.json = EventToJsonLine(a);
        out.push_back(std::move(r));
      }
    }
  }
  uint64_t stored = 0, errors = 0;
  if (!out.empty()) {
    auto ids = store_.AddAlerts(out, now_());
    if (ids.ok()) {
      stored = out.size();
      for (const AlertRow& a : out) spdlog::info("analyze: alert {} ({}) on {}", a.rule_id, a.title, a.device);
    } else {
      errors = 1;
      spdlog::error("analyze: storing {} alerts: {}", out.size(), ids.status().message());
    }
  }
  std::lock_guard lock(mu_);
  processed_ += rows.size();
  bad_events_ += bad;
  alerts_ += stored;
  store_errors_ += errors;
}

nlohmann::json Analyzer::Stats() const {
  nlohmann::json out;
  RowWorker::Counts queue = worker_.counts();
  {
    std::lock_guard lock(mu_);
    out = {{"queued", queue.queued},
           {"dropped", queue.dropped},
           {"skipped", queue.skipped},
           {"processed", processed_},
           {"bad_events", bad_events_},
           {"alerts", alerts_},
           {"store_errors", store_errors_},
           {"queue_events", queue.queue_rows},
           {"queue_bytes", queue.queue_bytes}};
  }
  std::lock_guard load_lock(load_mu_);
  if (loaded_) {
    const auto& s = loaded_->engine->stats();
    out["engine"] = {{"events", s.events},
                     {"candidates", s.candidates},
                     {"matches", s.matches},
                     {"alerts", s.alerts},
                     {"suppressed", s.suppressed},
                     {"groups", s.groups},
                     {"groups_evicted", s.groups_evicted}};
  }
  return out;
}

bool Analyzer::WaitIdle(int64_t timeout_ms) { return worker_.WaitIdle(timeout_ms); }

}  // namespace vigil::hub
