// The local_users collector: local users and groups from the account files, a `snapshot`
// event at start and every `local_users.interval`, and one event per user or group added,
// removed or changed, soon after the change.
//
// Change detection: a ChangeWatch (change_watch.h) on the files, inotify when it can be set
// up, else polling the files' inode, size and mtime every kPollFallbackMs. After a change is
// seen the collector waits until the files have been quiet for kQuietMs (at most
// kMaxDebounceMs), so the several files one useradd writes are read as one change, then
// re-reads and diffs them (accounts_tracker.h). Files that still look half-written (a user in
// passwd without its shadow entry yet) are read again after the next change, waiting at most
// kMaxSettleMs. The periodic snapshot also re-reads first, so a change a watch missed is still
// reported.
//
// Threads: one, started by Start and joined by Stop (which returns within a few ms).
// Fields of the events: README.md beside this file.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/collectors/local_users/change_watch.h"
#include "agent/core/collector.h"

namespace vigil::local_users {

inline constexpr int64_t kQuietMs = 150;
inline constexpr int64_t kMaxDebounceMs = 2'000;
inline constexpr int64_t kMaxSettleMs = 2'000;
inline constexpr int64_t kPollFallbackMs = 5'000;

extern const CollectorDescriptor kDescriptor;

// The same collector, told of changes by `watch` instead of inotify (a fake in tests).
std::unique_ptr<Collector> NewLocalUsersCollector(CollectorContext& ctx, std::unique_ptr<ChangeWatch> watch);

}  // namespace vigil::local_users
