// The hub's analyzer: the detection engine (agent/detect) run over the events of the whole
// fleet, for the rules that need more than one device's events (a source failing logins on
// several devices) and for the rules whose named lists the hub keeps current (threat-intel
// addresses updated once, applied fleet-wide without restarting anything).
//
// Flow: the Ingestor's OnStored hook hands every committed round's rows to Enqueue, which
// copies the rows whose (type, action) a hub rule targets into a bounded queue and returns at
// once (a full queue drops the rows and counts them; ingest never waits for detection). The
// analyzer's own thread parses each queued row (EventFromJson), runs Engine::Process, and
// stores the alerts of the hub rules with origin `hub` (Store::AddAlerts).
//
// Which rules the hub runs: every rule of `rule_paths` (default: the built-in rules, embedded
// at build time) is loaded, so that correlations find their base rules, but only the alerts
// of the rules named in `alert_rules` (ids or names; "*": all) are stored, and only events
// those rules target are ever parsed. The default names the fleet rule
// (login_failures_across_devices) and the threat-intel rules: device-level rules stay on the
// devices, which send their own alerts, so the hub does not raise them a second time.
//
// Reload (SIGHUP, POST /api/v1/rules/reload): the rule files and the lists directory are read
// again. When the rules' text is unchanged only the lists are replaced, in place, and the
// correlation windows are kept; otherwise a new engine starts with empty windows. Load errors
// and warnings (file:line: message) are logged and kept for Report(); good rules load anyway.
//
// Threads: Start, Stop from one thread; Enqueue from the ingest thread; Reload, Report,
// Stats and WaitIdle from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "agent/detect/detect.h"
#include "hub/store/row_worker.h"
#include "hub/store/store.h"

namespace vigil::hub {

// The rules whose alerts the hub stores by default (ids or names).
inline constexpr std::string_view kDefaultHubRules =
    "login_failures_across_devices,threat_intel_address_connection,login_from_threat_intel_address";

struct AnalyzerOptions {
  std::vector<std::string> rule_paths;   // rule files or directories; empty: the built-in rules
  std::string lists_dir;                 // a directory of list files; empty: the built-in lists
  std::vector<std::string> alert_rules;  // ids or names whose alerts are stored; {"*"}: every rule
  int64_t suppress_ms = 60'000;          // EngineOptions::suppress_ms
  size_t max_queue_events = 100'000;     // queued rows beyond this are dropped and counted
  size_t max_queue_bytes = 64 << 20;     // and beyond this many bytes of JSON
};

// What the last load gave.
struct RulesReport {
  struct Rule {
    detect::RuleInfo info;
    std::string name;  // the rule's `name`, "" when it has none
    bool hub = false;  // its alerts are stored by the hub
  };
  std::vector<Rule> rules;
  std::vector<std::string> errors;  // "file:line: message"
  std::vector<std::string> warnings;
  std::vector<std::string> targets;  // "type/action" (or "type") the hub rules need
  int64_t loaded_ms = 0;
  bool lists_only = false;  // the last reload changed the lists only

  nlohmann::json ToJson() const;
};

class Analyzer {
 public:
  using Clock = std::function<int64_t()>;  // UTC ms

  Analyzer(Store& store, AnalyzerOptions options, Clock now);
  ~Analyzer();
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Loads the rules (errors are reported, not fatal: a hub with a bad rule file still runs the
  // good ones) and starts the thread. An error only when no rule source can be read at all.
  Status Start();
  void Stop();

  // Never blocks on detection: copies the targeted rows into the queue, or drops them.
  void Enqueue(std::span<const BatchRows> batches);

  // Reads the rules and lists again (see above); returns the new report.
  RulesReport Reload();
  RulesReport Report() const;
  nlohmann::json Stats() const;

  // Waits until every row queued so far has been processed and its alerts stored; false on
  // timeout. For tests and shutdown.
  bool WaitIdle(int64_t timeout_ms);

 private:
  struct Loaded;
  struct Targets;
  Status Load(bool initial);
  void ProcessRows(std::vector<EventRow>& rows);

  Store& store_;
  const AnalyzerOptions options_;
  const Clock now_;

  mutable std::mutex load_mu_;  // the engine, rules and report
  std::unique_ptr<Loaded> loaded_;

  mutable std::mutex mu_;  // the targets and counters
  std::shared_ptr<const Targets> targets_;
  uint64_t processed_ = 0, bad_events_ = 0, alerts_ = 0, store_errors_ = 0;
  RowWorker worker_;  // last: its thread stops before the members above go
};

}  // namespace vigil::hub
