// heartbeat collector: a "heartbeat" event (empty action) at start and then every
// `heartbeat.interval`, so the hub can tell a silent device from a quiet one. Its only field
// is the agent's uptime. Fields: README.md beside this file.
//
// Threads: Start and Stop on the main thread; the event is made by a Scheduler task on the
// pipeline thread. The task shares the collector's state, so a task that outlives the
// collector (the Scheduler cannot remove tasks) does nothing after Stop.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/core/collector.h"
#include "agent/core/event.h"

namespace vigil::heartbeat {

// The event's data for an agent that has run `uptime_ms` milliseconds:
// {"uptime_s": whole seconds}. Negative uptimes (a clock that went back) count as 0.
Json HeartbeatData(int64_t uptime_ms);

class HeartbeatCollector : public Collector {
 public:
  // `ctx` must outlive every Scheduler task run (see above).
  explicit HeartbeatCollector(CollectorContext& ctx);
  ~HeartbeatCollector() override;

  // Records the start time (monotonic clock) and registers the periodic task, first run at
  // the next Scheduler pass. Reads heartbeat.interval. Calling it twice registers once.
  Status Start() override;
  // After Stop the task emits nothing. Idempotent.
  void Stop() override;

 private:
  struct State;
  std::shared_ptr<State> state_;
  bool registered_ = false;
};

extern const CollectorDescriptor kDescriptor;

}  // namespace vigil::heartbeat
