// heartbeat collector: a "heartbeat" event (empty action) at start and then every
// `heartbeat.interval`, so the hub can tell a silent device from a quiet one. Its only field
// is the agent's uptime. Fields: README.md beside this file.
//
// Threads: Start and Stop on the main thread; the event is made by a Scheduler task on the
// pipeline thread, which Stop removes.
#pragma once

#include <cstdint>

#include "agent/core/collector.h"
#include "agent/core/event.h"

namespace vigil::heartbeat {

// The event's data for an agent that has run `uptime_ms` milliseconds:
// {"uptime_s": whole seconds}. Negative uptimes (a clock that went back) count as 0.
Json HeartbeatData(int64_t uptime_ms);

class HeartbeatCollector : public Collector {
 public:
  explicit HeartbeatCollector(CollectorContext& ctx) : ctx_(ctx) {}
  ~HeartbeatCollector() override;

  // Records the start time (monotonic clock) and registers the periodic task, first run at
  // the next Scheduler pass. Reads heartbeat.interval. Calling it twice registers once.
  Status Start() override;
  // Removes the task; when it returns no heartbeat is being made. Idempotent.
  void Stop() override;

 private:
  void Beat(int64_t now_mono_ms);

  CollectorContext& ctx_;
  int64_t start_mono_ms_ = 0;
  Scheduler::TaskId task_ = 0;
};

extern const CollectorDescriptor kDescriptor;

}  // namespace vigil::heartbeat
