// Scheduler: periodic tasks run on the pipeline thread (system_info, heartbeat, agent_stats,
// aggregation flushes). A task must be quick; anything slow belongs on a collector's thread.
//
// Thread-safe. RunDue is called from the pipeline thread; Add and Remove from any thread, but
// never from inside a task (a task that calls them deadlocks).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace vigil {

class Scheduler {
 public:
  using Task = std::function<void(int64_t now_mono_ms)>;
  using TaskId = uint64_t;

  // Runs `task` every `interval_ms`; the first run is at `first_at_mono_ms`. Returns an id
  // for Remove (never 0).
  TaskId Add(std::string name, int64_t interval_ms, int64_t first_at_mono_ms, Task task);

  // Removes a task. When it returns, the task is not running and never runs again, so what it
  // captured may be destroyed. Unknown ids (and 0) are ignored.
  void Remove(TaskId id);

  // Runs every task that is due at `now`; returns the monotonic time of the next due task
  // (or now + 1000 if none).
  int64_t RunDue(int64_t now_mono_ms);

 private:
  struct Entry {
    TaskId id;
    std::string name;
    int64_t interval_ms;
    int64_t next_ms;
    Task task;
  };
  std::mutex mu_;  // held while tasks run, so Remove waits for a running task
  TaskId next_id_ = 1;
  std::vector<Entry> tasks_;
};

}  // namespace vigil
