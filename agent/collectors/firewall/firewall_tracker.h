// FirewallTracker: reads every backend through a RulesetReader, parses it (ruleset.h), keeps
// the current view, and turns a re-read whose digest differs into a `changed` event. No
// threads of its own; the collector calls it from its one thread (not thread-safe).
//
// Backends, in this order:
//   nftables         always listed: its ruleset, or the error that kept it from being read.
//   iptables-legacy  listed once the kernel has held a legacy table (ip or ip6) during this
//                    run; both families' save outputs merged into one backend.
// A backend that was read before and now fails to read or parse keeps its last ruleset
// (counted "read_errors", logged once per distinct message), so a failed read never looks
// like a flushed firewall. Objects or lines the parsers skip are logged once each and
// counted "parse_problems".
//
// Counters (in `stats`): reads, read_errors, parse_problems.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "agent/collectors/firewall/firewall_events.h"
#include "agent/collectors/firewall/firewall_source.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"

namespace vigil::firewall {

class FirewallTracker {
 public:
  FirewallTracker(RulesetReader& reader, CollectorStats& stats);

  // Reads every backend and makes the result the current view.
  void ReadInitial();
  // The `snapshot` event of the current view.
  Event Snapshot() const;
  // Reads again; a `changed` event when the digest differs from the current view's.
  std::optional<Event> Check();

  const FirewallView& view() const { return view_; }

 private:
  FirewallView Read();
  BackendState ReadNftables();
  std::optional<BackendState> ReadLegacy();
  // Keeps the previous ruleset of `name` if there is one; else a state with the error.
  BackendState Failed(const std::string& name, const std::string& error);
  void LogOnce(const std::string& message);
  void ReportProblems(const Backend& b);

  RulesetReader& reader_;
  CollectorStats& stats_;
  FirewallView view_;
  bool legacy_seen_ = false;
  std::set<std::string> logged_;  // messages already logged (bounded)
};

}  // namespace vigil::firewall
