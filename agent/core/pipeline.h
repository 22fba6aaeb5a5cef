// Pipeline: the consumer side of the bus. On one thread it takes events from the bus,
// shows each to the inspector (detection), aggregates them, stamps device id and sequence
// number, and writes them to the output; between events it runs the scheduler's periodic
// tasks (including agent_stats).
//
//   collectors --Emit--> EventBus --> Inspector --> Aggregator --> stamp(device, seq) --> Output
//                                         '-- events it makes (alerts), written at once --^
//
// Not thread-safe: one thread calls RunOnce/Drain (collectors only touch the bus).
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/aggregator.h"
#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/state.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"

namespace vigil {

// Where emitted events go. Write is called on the pipeline thread only.
class Output {
 public:
  virtual ~Output() = default;
  virtual Status Write(const Event& e) = 0;
  virtual Status Flush() = 0;
};

// Sees every event from the bus before it is aggregated (so a detection counts every
// occurrence, and an alert is not held for an aggregation interval). Events it appends to
// `made` (alerts) are written at once, unaggregated. Called on the pipeline thread only; the
// event's device is already set, its seq not yet.
class Inspector {
 public:
  virtual ~Inspector() = default;
  virtual void Inspect(const Event& e, std::vector<Event>* made) = 0;
};

class Pipeline {
 public:
  Pipeline(Env& env, EventBus& bus, Output& output, SequenceCounter& seq, std::string device_id,
           std::array<int64_t, kPriorityCount> intervals_ms);

  Aggregator& aggregator() { return aggregator_; }
  Scheduler& scheduler() { return scheduler_; }

  // A collector whose events pass through: its aggregation bound and its counters.
  void AddCollector(const std::string& name, size_t cache_entries, CollectorStats* stats);

  // Before the first RunOnce: the inspector every event is shown to (not owned; it must
  // outlive the pipeline's use of it). nullptr: none.
  void SetInspector(Inspector* inspector) {
    inspector_ = inspector;
    bus_.SetInspected(inspector != nullptr);
  }

  // Reports agent_stats every interval_ms for the collectors added (and the bus).
  void AddStatsTask(int64_t interval_ms, Priority priority);

  // One round: waits up to max_wait_ms for events, aggregates and writes them, runs due tasks,
  // and flushes the output if anything was written.
  void RunOnce(int64_t max_wait_ms);
  // Writes out everything queued and held, then flushes the output (stop, reconfiguration).
  void Drain();

  // Adds `name: fn()` to every agent_stats event (the spool's and uplink's counters).
  void AddStatsSource(std::string name, std::function<Json()> fn) { stats_sources_.emplace_back(std::move(name), std::move(fn)); }

  // Emits an event directly (bypassing the bus), e.g. agent_stats, so it is never dropped.
  void EmitNow(Event&& e);

  uint64_t emitted() const { return emitted_; }
  uint64_t output_errors() const { return output_errors_; }

 private:
  void Write(Event&& e);
  // Shows the batch's events to the inspector, writes what it makes, aggregates the events.
  void Take();
  void NoteOutputError(const Status& st);
  Event MakeStatsEvent(Priority priority);

  Env& env_;
  EventBus& bus_;
  Output& output_;
  SequenceCounter& seq_;
  const std::string device_id_;
  Aggregator aggregator_;
  Scheduler scheduler_;
  std::vector<Event> batch_;
  Inspector* inspector_ = nullptr;
  std::vector<Event> made_;
  std::map<std::string, CollectorStats*, std::less<>> stats_by_collector_;
  std::vector<std::pair<std::string, std::function<Json()>>> stats_sources_;
  bool wrote_ = false;  // since the last flush
  uint64_t emitted_ = 0;
  uint64_t output_errors_ = 0;
  int64_t started_mono_ms_;
  Status last_output_error_;
};

}  // namespace vigil
