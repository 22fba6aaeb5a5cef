#include "agent/core/scheduler.h"

#include <algorithm>

namespace vigil {

Scheduler::TaskId Scheduler::Add(std::string name, int64_t interval_ms, int64_t first_at_mono_ms, Task task) {
  std::lock_guard lock(mu_);
  const TaskId id = next_id_++;
  tasks_.push_back(Entry{id, std::move(name), std::max<int64_t>(interval_ms, 1), first_at_mono_ms, std::move(task)});
  return id;
}

void Scheduler::Remove(TaskId id) {
  std::lock_guard lock(mu_);
  std::erase_if(tasks_, [id](const Entry& e) { return e.id == id; });
}

int64_t Scheduler::RunDue(int64_t now_mono_ms) {
  std::lock_guard lock(mu_);
  int64_t next = now_mono_ms + 1000;
  for (auto& t : tasks_) {
    if (t.next_ms <= now_mono_ms) {
      t.task(now_mono_ms);
      // Skip missed periods instead of running a burst after a stall.
      t.next_ms += t.interval_ms;
      if (t.next_ms <= now_mono_ms) t.next_ms = now_mono_ms + t.interval_ms;
    }
    next = std::min(next, t.next_ms);
  }
  return next;
}

}  // namespace vigil
