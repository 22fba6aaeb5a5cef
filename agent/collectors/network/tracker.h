// ConnectionTracker: turns connection records (from any ConnectionSource) into `network`
// events: names the process (/proc/PID/exe over Env, the user from /etc/passwd), remembers
// open connections so that their close knows its direction and process, and aggregates.
// When a record carries the task name (eBPF), the exe read for the same pid and name less
// than 100 ms before is used again instead of reading /proc (an exec changes the name).
//
// Aggregation. The core aggregator can only count identical events; a connection aggregate
// must also add up bytes, so the tracker keeps its own bounded table per interval (the
// collector's priority interval) and emits one event per key when the interval ends, with
// Event.count = connections and an empty agg_key (the core passes it through):
//   connect  key: exe, remote address, remote port, protocol        (outbound)
//   accept   key: exe, local port, remote address, protocol         (inbound)
//   close    key: the key of its connect/accept; without one (the connection was open before
//                 the collector started, or forgotten): exe, both endpoints, protocol
//   listen   key: exe, protocol, local address, local port
// A connection that opens and closes within one interval adds its close to its connect or
// accept aggregate (`closed`, `bytes_in`, `bytes_out` sums) instead of making a close event;
// one that outlives the interval gets its own close event (aggregated by key like the others)
// with its bytes. The other fields of an aggregate are those of its first connection.
// With an interval of 0 (priority high by default) every record is an event at once.
//
// Detection. Aggregates reach the pipeline's inspector only when their interval ends; with an
// `observe` sink the tracker also hands it every connect, accept and listen at once, as the
// event one occurrence alone would make, and marks those aggregates Inspection::kSkip so
// that detection counts each occurrence once. Closes are inspected as their events are sent.
//
// Bounds: `aggregate_entries` keys held per interval (when full the oldest is sent early and
// counted in flushed_early); `table_entries` open connections remembered (when full the oldest
// is forgotten: counted as conn_table_evictions; its close then has no direction).
//
// Counters (in `stats`): partial, loopback_skipped, conn_table_evictions, flushed_early; the
// user names' passwd_reloads and passwd_malformed_lines.
//
// Not thread-safe: used by the collector's receive thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>

#include "agent/collectors/common/passwd.h"
#include "agent/collectors/network/dns_names.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/connection_source.h"
#include "agent/platform/env.h"

namespace vigil::network {

struct TrackerOptions {
  int64_t interval_ms = 0;         // aggregation interval; 0: no aggregation
  size_t aggregate_entries = 256;  // distinct aggregates held at once
  size_t table_entries = 4096;     // open connections remembered
  bool include_loopback = true;    // false: connections to or from 127/8, ::1 (and listens on them) are skipped
  std::string proc_root = "/proc";
  const DnsNames* host_names = nullptr;  // names for remote addresses (remote_host); null: none
};

class ConnectionTracker {
 public:
  using Sink = std::function<void(Event&&)>;

  // `observe`: where each connect, accept and listen goes at once when aggregating (above);
  // nullptr: nowhere.
  ConnectionTracker(Env& env, CollectorStats& stats, common::UserNames& users, TrackerOptions options, Sink sink,
                    Sink observe = nullptr);

  // One record, at env.clock() time. May call the sink (no aggregation, or an early flush).
  void Handle(const ConnectionRecord& r);

  // Sends every aggregate when the interval has ended (env.clock().MonotonicMs()).
  void Tick();
  // Sends every aggregate now (stop, reload).
  void FlushAll();
  // Monotonic ms at which Tick has something to send; INT64_MAX when nothing is held.
  int64_t NextFlushMs() const;

  size_t held() const { return index_.size(); }
  size_t open_connections() const { return open_.size(); }

 private:
  struct Owner {
    int32_t pid = -1;
    int64_t uid = -1;
    std::string exe;
    std::string comm;
    bool partial = false;
  };
  struct Held {
    std::string key;
    Event event;  // data without the sums; count and times below
    uint32_t count = 0;
    uint32_t closed = 0;  // connect/accept: how many of them closed within the interval
    bool bytes_known = false;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
  };
  struct Open {
    std::string key;          // its aggregate's key ("" when not aggregated)
    uint64_t generation = 0;  // the interval it was counted in
    bool outbound = true;
    Owner owner;
    std::list<uint64_t>::iterator order;
  };

  Owner Resolve(const ConnectionRecord& r);
  Json BaseData(const Owner& owner, const ConnectionRecord& r, bool with_remote) const;
  // Counts one more occurrence into the held aggregate `key`; false when there is none (or
  // no aggregation), and then the caller builds the event and calls Add.
  bool Merge(const std::string& key, const ConnectionRecord& r, bool with_bytes);
  // A new aggregate `key` (or the event sent at once without aggregation).
  void Add(std::string_view action, std::string key, Json data, const ConnectionRecord& r, bool with_bytes);
  // Whether occurrences go to the observe sink (aggregating, and a sink given).
  bool observing() const { return observe_ && options_.interval_ms > 0; }
  void Observe(std::string_view action, const Json& data);
  Event Finish(Held& h) const;
  void Remember(uint64_t socket_id, Open open);
  void Forget(uint64_t socket_id);

  Env& env_;
  CollectorStats& stats_;
  common::UserNames& users_;
  const TrackerOptions options_;
  Sink sink_;
  Sink observe_;

  uint64_t generation_ = 0;
  int64_t window_start_ms_;
  std::list<Held> held_;  // oldest first
  std::unordered_map<std::string, std::list<Held>::iterator> index_;
  std::list<uint64_t> open_order_;  // socket ids, oldest first
  std::unordered_map<uint64_t, Open> open_;
  struct CachedExe {
    std::string comm;
    std::string exe;
    int64_t read_ms = 0;  // monotonic
  };
  std::unordered_map<int32_t, CachedExe> exe_cache_;  // by pid
};

}  // namespace vigil::network
