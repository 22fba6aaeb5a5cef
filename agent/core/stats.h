// Per-collector counters, reported in `agent_stats` events.
//
// Updated from the collector's own threads and from the pipeline; read by the stats task.
// Thread-safe. Counter names are snake_case and documented in schema/events.yml.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/core/event.h"

namespace vigil {

class CollectorStats {
 public:
  explicit CollectorStats(std::string collector) : collector_(std::move(collector)) {}

  const std::string& collector() const { return collector_; }

  std::atomic<uint64_t> collected{0};   // events the collector produced
  std::atomic<uint64_t> aggregated{0};  // events merged into an earlier identical event
  std::atomic<uint64_t> emitted{0};     // events that left the pipeline (after aggregation)
  std::atomic<uint64_t> flushed_early{0};  // aggregates flushed before their interval (cache full)

  // Events lost, by reason ("bus_full", "kernel_overrun", ...). Never silent.
  void Drop(std::string_view reason, uint64_t n = 1);
  uint64_t dropped(std::string_view reason) const;
  uint64_t dropped_total() const;

  // Other named counters a collector keeps ("partial", "hash_cache_hits", ...).
  void Count(std::string_view name, uint64_t n = 1);
  uint64_t count(std::string_view name) const;

  // Which event source is in use ("netlink", "poll", ...). Empty when not applicable.
  void SetSource(std::string source);
  std::string source() const;

  // {"collector":..,"source":..,"collected":..,"aggregated":..,"emitted":..,
  //  "flushed_early":..,"dropped":{reason:n},"counters":{name:n}}
  Json ToJson() const;

 private:
  const std::string collector_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> dropped_;
  std::map<std::string, uint64_t, std::less<>> counters_;
  std::string source_;
};

}  // namespace vigil
