// ChangeWatch: tells the local_users collector that one of its account files may have
// changed, so it re-reads them. It carries no file content (the collector reads the files
// over Env) and may report changes that are not (a spurious wake-up costs one re-read).
//
// Implementations:
//   inotify  change_watch_inotify.cpp: watches the files' directories for IN_CLOSE_WRITE,
//            IN_MOVED_TO, IN_CREATE and IN_DELETE of the files' names (shadow-utils writes
//            "passwd+" and renames it over "passwd"; editors write in place). A queue
//            overflow counts as a change.
//   poll     StatPollWatch below: compares each file's inode, size and mtime over Env, every
//            `interval_ms`; the fallback where inotify cannot be used.
//
// Threads: Wait is called from one thread (the collector's); Interrupt from any thread, and
// makes a Wait in progress (or the next one) return at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/env.h"

namespace vigil::local_users {

class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;

  // Blocks up to `timeout_ms` (0: just looks). Returns true when a watched file may have
  // changed, false on timeout or interruption. An error means the watch is broken for good
  // (the collector then falls back to polling).
  virtual Result<bool> Wait(int64_t timeout_ms) = 0;
  virtual void Interrupt() = 0;
  virtual std::string_view name() const = 0;  // "inotify", "poll"; reported as the source
};

// Watches `paths` (absolute) with inotify. Unavailable when inotify cannot be set up (the
// message says why). The directories must exist.
Result<std::unique_ptr<ChangeWatch>> OpenInotifyWatch(const std::vector<std::string>& paths);

class StatPollWatch : public ChangeWatch {
 public:
  // Remembers the files' state now; Wait reports a difference from the last state seen.
  StatPollWatch(Env& env, std::vector<std::string> paths, int64_t interval_ms);

  Result<bool> Wait(int64_t timeout_ms) override;
  void Interrupt() override;
  std::string_view name() const override { return "poll"; }

  // One comparison now, without waiting; true when a file changed since the last look.
  bool CheckNow();

 private:
  struct Seen {
    bool exists = false;
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Seen&) const = default;
  };
  Seen Look(const std::string& path);

  Env& env_;
  const std::vector<std::string> paths_;
  const int64_t interval_ms_;
  std::vector<Seen> seen_;
  int64_t next_check_mono_ms_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace vigil::local_users
