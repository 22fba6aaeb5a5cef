// Scheduler: periodic tasks run on the pipeline thread (system_info, heartbeat, agent_stats,
// aggregation flushes). A task must be quick; anything slow belongs on a collector's thread.
//
// Not thread-safe: Add and RunDue are called from the pipeline thread only (Add also before it
// starts).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vigil {

class Scheduler {
 public:
  using Task = std::function<void(int64_t now_mono_ms)>;

  // Runs `task` every `interval_ms`; the first run is at `first_at_mono_ms`.
  void Add(std::string name, int64_t interval_ms, int64_t first_at_mono_ms, Task task);

  // Runs every task that is due at `now`; returns the monotonic time of the next due task
  // (or now + 1000 if none).
  int64_t RunDue(int64_t now_mono_ms);

 private:
  struct Entry {
    std::string name;
    int64_t interval_ms;
    int64_t next_ms;
    Task task;
  };
  std::vector<Entry> tasks_;
};

}  // namespace vigil
