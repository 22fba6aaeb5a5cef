// EventBus: the bounded queue between collectors (many producers) and the pipeline (one
// consumer).
//
// Push never blocks: when the bus holds `capacity` events, the event is refused, counted in
// dropped(), and the caller counts it against its own collector (reason "bus_full").
// All methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "agent/core/event.h"

namespace vigil {

class EventBus {
 public:
  explicit EventBus(size_t capacity);

  // Returns false (and drops the event) when the bus is full or closed.
  bool Push(Event&& e);

  // Moves every queued event into *out (appending). If none is queued, waits up to `wait`
  // for one. Returns the number moved. Returns at once when the bus is closed.
  size_t PopAll(std::vector<Event>* out, std::chrono::milliseconds wait);

  // Wakes the consumer; later pushes are refused. Queued events can still be popped.
  void Close();

  // Whether the consumer shows events to an inspector (set by the pipeline before collectors
  // start): collectors that aggregate on their own then also push each occurrence to it.
  void SetInspected(bool inspected) { inspected_.store(inspected, std::memory_order_relaxed); }
  bool inspected() const { return inspected_.load(std::memory_order_relaxed); }

  size_t capacity() const { return capacity_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t pushed() const { return pushed_.load(std::memory_order_relaxed); }
  size_t high_watermark() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> q_;
  bool closed_ = false;
  size_t high_watermark_ = 0;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> pushed_{0};
  std::atomic<bool> inspected_{false};
};

}  // namespace vigil
