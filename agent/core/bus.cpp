#include "agent/core/bus.h"

namespace vigil {

EventBus::EventBus(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

bool EventBus::Push(Event&& e) {
  bool was_empty = false;
  {
    std::lock_guard lock(mu_);
    if (closed_ || q_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    was_empty = q_.empty();
    q_.push_back(std::move(e));
    if (q_.size() > high_watermark_) high_watermark_ = q_.size();
  }
  pushed_.fetch_add(1, std::memory_order_relaxed);
  // The consumer only sleeps on an empty queue: wake it for the first event, not for every one.
  if (was_empty) cv_.notify_one();
  return true;
}

size_t EventBus::PopAll(std::vector<Event>* out, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  if (q_.empty() && !closed_) cv_.wait_for(lock, wait, [this] { return !q_.empty() || closed_; });
  size_t n = q_.size();
  for (auto& e : q_) out->push_back(std::move(e));
  q_.clear();
  return n;
}

void EventBus::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

size_t EventBus::high_watermark() const {
  std::lock_guard lock(mu_);
  return high_watermark_;
}

}  // namespace vigil
