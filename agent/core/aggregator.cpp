#include "agent/core/aggregator.h"

#include <algorithm>

namespace vigil {

Aggregator::Aggregator(std::array<int64_t, kPriorityCount> interval_ms, int64_t now_mono_ms, Sink sink)
    : interval_ms_(interval_ms), sink_(std::move(sink)) {
  window_start_.fill(now_mono_ms);
}

void Aggregator::AddCollector(const std::string& name, size_t cache_entries, CollectorStats* stats) {
  Cache& c = caches_[name];
  c.limit = std::max<size_t>(cache_entries, 1);
  c.stats = stats;
}

void Aggregator::Add(Event&& e) {
  const int p = static_cast<int>(e.priority);
  if (e.agg_key.empty() || p >= kPriorityCount || interval_ms_[p] == 0) {
    sink_(std::move(e));
    return;
  }
  auto cit = caches_.find(e.collector);
  if (cit == caches_.end()) {
    sink_(std::move(e));  // an unregistered source (tests, the agent itself): nothing to hold against
    return;
  }
  Cache& cache = cit->second;
  auto hit = cache.index.find(e.agg_key);
  if (hit != cache.index.end()) {
    Event& held = *hit->second;
    // The incoming event may stand for several already (a collector that counts on its own).
    const uint32_t n = std::max<uint32_t>(e.count, 1);
    held.count += n;
    held.last_ts_ms = std::max(held.last_ts_ms, n > 1 ? std::max(e.last_ts_ms, e.ts_ms) : e.ts_ms);
    if (cache.stats) cache.stats->aggregated.fetch_add(n, std::memory_order_relaxed);
    return;
  }
  if (cache.index.size() >= cache.limit) {
    if (cache.stats) cache.stats->flushed_early.fetch_add(1, std::memory_order_relaxed);
    Release(cache, cache.order.begin());
  }
  if (e.count <= 1) e.last_ts_ms = e.ts_ms;
  std::string key = e.agg_key;
  cache.order.push_back(std::move(e));
  cache.index.emplace(std::move(key), std::prev(cache.order.end()));
}

void Aggregator::Release(Cache& cache, std::list<Event>::iterator it) {
  cache.index.erase(it->agg_key);
  Event e = std::move(*it);
  cache.order.erase(it);
  sink_(std::move(e));
}

void Aggregator::FlushPriority(Priority p) {
  for (auto& [_, cache] : caches_) {
    for (auto it = cache.order.begin(); it != cache.order.end();) {
      auto next = std::next(it);
      if (it->priority == p) Release(cache, it);
      it = next;
    }
  }
}

void Aggregator::Tick(int64_t now_mono_ms) {
  for (int p = 0; p < kPriorityCount; ++p) {
    if (interval_ms_[p] == 0) continue;
    if (now_mono_ms - window_start_[p] >= interval_ms_[p]) {
      FlushPriority(static_cast<Priority>(p));
      window_start_[p] = now_mono_ms;
    }
  }
}

void Aggregator::FlushAll() {
  for (auto& [_, cache] : caches_)
    while (!cache.order.empty()) Release(cache, cache.order.begin());
}

size_t Aggregator::held() const {
  size_t n = 0;
  for (const auto& [_, cache] : caches_) n += cache.order.size();
  return n;
}

int64_t Aggregator::NextDeadline() const {
  int64_t next = INT64_MAX;
  for (int p = 0; p < kPriorityCount; ++p)
    if (interval_ms_[p] > 0) next = std::min(next, window_start_[p] + interval_ms_[p]);
  return next;
}

}  // namespace vigil
