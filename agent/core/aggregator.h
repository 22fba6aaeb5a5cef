// Aggregator: identical events within their priority's interval collapse into one event
// with a count and first/last time seen.
//
// Two events are identical when they come from the same collector and carry the same
// non-empty agg_key (each collector defines its key: process uses exe + command line + user).
// An event with an empty key, or whose priority's interval is 0 (high, by default), passes
// straight through. Held events leave when their priority's interval ends (Tick), or early
// when their collector's cache is full: the oldest entry is flushed to make room and counted
// in flushed_early. Nothing is dropped here.
//
// Not thread-safe: used by the pipeline thread only.
#pragma once

#include <array>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <unordered_map>

#include "agent/core/event.h"
#include "agent/core/stats.h"

namespace vigil {

class Aggregator {
 public:
  using Sink = std::function<void(Event&&)>;

  // interval_ms per priority (high, medium, low); 0 passes events through at once.
  Aggregator(std::array<int64_t, kPriorityCount> interval_ms, int64_t now_mono_ms, Sink sink);

  // The cache bound (entries) of one collector, and where its counters go.
  void AddCollector(const std::string& name, size_t cache_entries, CollectorStats* stats);

  void Add(Event&& e);
  // Flushes every priority whose interval has ended since its last flush.
  void Tick(int64_t now_mono_ms);
  // Flushes everything held (shutdown, or before a reconfiguration).
  void FlushAll();

  size_t held() const;
  // Monotonic time at which the next interval ends (for the pipeline's wait).
  int64_t NextDeadline() const;

 private:
  struct Cache {
    size_t limit = 256;
    CollectorStats* stats = nullptr;
    std::list<Event> order;  // oldest first
    std::unordered_map<std::string, std::list<Event>::iterator> index;
  };
  void FlushPriority(Priority p);
  void Release(Cache& cache, std::list<Event>::iterator it);

  std::array<int64_t, kPriorityCount> interval_ms_;
  std::array<int64_t, kPriorityCount> window_start_;
  Sink sink_;
  std::map<std::string, Cache, std::less<>> caches_;
};

}  // namespace vigil
