// FileMonitor: the files collector's logic. It keeps the watched paths' last known state
// (type, size, mode, owner, mtime, inode, sha256), decides which directories must be watched,
// turns a FileWatcher's notifications into "dirty" paths, and, once a path's burst of
// notifications is over, compares it with its last known state and reports what changed as
// one `file` event.
//
// Paths. Each configured path (a "root") is absolute. A root is covered itself; when it is a
// directory, its entries are covered too, down to `max_depth` levels below it (1: its direct
// entries; 2: also the entries of its subdirectories; ...). What is watched (directories only,
// see platform/file_watcher.h):
//   - the parent of every root, so a root replaced by a rename, deleted, or created later is
//     seen; when the parent is missing too, its nearest existing ancestor, until the missing
//     directories appear;
//   - a root that is a directory, and its subdirectories above max_depth.
// Directories appearing or vanishing (or a watch ending) make the monitor work the watch set
// out again; entries found then that it did not know yet are reported as created.
//
// Coalescing. The first notification for a path marks it dirty; it is examined once no
// notification for it has come for `coalesce_ms`, or `4 * coalesce_ms` after the first one
// at the latest (a file written without pause). An editor's several writes, a rename over the
// file and a chmod within that window give one event.
//
// Deciding the action (old: last known state; new: the path now):
//   absent -> present           created  (moved_from when it came by a rename seen)
//   present -> absent           moved when a rename away was seen (moved_to when its
//                               destination was seen), else deleted
//   present -> present          modified when the type, the content (sha256, or size and
//                               mtime when not hashed) or the inode changed (`replaced`), or
//                               when it was written with the same content; else attributes
//                               when mode, owner or group changed, or a chmod/chown/touch
//                               was seen; else nothing
//   absent -> absent            nothing (counted as `transient` when it was created and
//                               deleted within the window)
//
// Overflow. A kOverflow notification (the kernel's queue overflowed) is counted as dropped
// `queue_overflow` and every covered path is examined again at once, content re-hashed, so a
// change is not lost (several changes of one path merge into one event). Poll mode (no
// watcher) does the same every poll interval, re-hashing only files whose size, mtime or
// inode changed.
//
// Not thread-safe: one thread (the collector's) calls everything. Time: env.clock().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"
#include "agent/platform/file_watcher.h"

namespace vigil::files {

struct MonitorOptions {
  std::vector<std::string> roots;  // absolute paths, normalised by NormalizeRoot
  uint64_t hash_max_size = 16 << 20;  // 0: never hash
  int64_t coalesce_ms = 500;
  int max_depth = 2;
  size_t max_entries = 4096;  // directory entries remembered at most, besides the roots; beyond,
                              // not reported (counted as entries_over_limit)
};

// "/etc//ssh/" -> "/etc/ssh". Errors: InvalidArgument for a relative path or one with "."
// or ".." components.
Result<std::string> NormalizeRoot(const std::string& path);

// Permission bits and set-id/sticky bits as 4 octal digits ("0644", "4755").
std::string ModeString(uint32_t mode);

class FileMonitor {
 public:
  using Sink = std::function<void(Event&&)>;

  // `watcher` may be null (poll mode). Both must outlive the monitor.
  FileMonitor(Env& env, CollectorStats& stats, FileWatcher* watcher, MonitorOptions options, Sink sink);

  // Adds the watches and records every covered path's state, without events.
  void Start();

  // Takes notifications from the watcher.
  void Handle(const std::vector<WatchEvent>& events);

  // Examines every covered path at once (after an overflow; in poll mode every interval).
  // `rehash`: hash files again even when their size, mtime and inode are unchanged.
  void Rescan(bool rehash);

  // Stops using the watcher (it failed): from now on only Rescan finds changes.
  void ForgetWatcher();

  // Reports the dirty paths whose window has ended.
  void FlushDue();

  // Monotonic ms when FlushDue next has work; INT64_MAX when nothing is dirty.
  int64_t NextDeadline() const;

  size_t known_paths() const { return state_.size(); }
  size_t watches() const { return dirs_by_wd_.size(); }

 private:
  struct State {
    bool exists = false;
    std::string type;  // file, directory, symlink, other
    FileInfo info;
    std::string link_target;
    std::string sha256;  // "" when not hashed
  };
  struct Dirty {
    int64_t first_ms = 0;
    int64_t last_ms = 0;
    uint32_t seen = 0;  // WatchEvent bits seen for it
    std::string moved_from;
    std::string moved_to;
    bool rescan = false;  // examine at once
    bool rehash = false;
  };

  // The root that covers `path` (the path itself, or the closest directory root within
  // max_depth), or nullopt.
  std::optional<std::string> CoveringRoot(const std::string& path) const;
  bool IsAncestorOfRoot(const std::string& path) const;
  std::set<std::string> WantedDirectories() const;
  void Reconcile();
  // The roots and the entries below directory roots that exist now (at most max_entries).
  void Discover(std::vector<std::string>* covered);
  void Walk(const std::string& dir, int depth, size_t* budget, std::vector<std::string>* out) const;
  State Snapshot(const std::string& path, const State* old, bool rehash);
  void MarkDirty(const std::string& path, uint32_t bits, int64_t now);
  void Examine(const std::string& path, const Dirty& dirty);
  void Remember(const std::string& path, State s);
  std::string Hash(const std::string& path, const FileInfo& info);

  Env& env_;
  CollectorStats& stats_;
  FileWatcher* watcher_;
  const MonitorOptions options_;
  Sink sink_;
  std::map<std::string, State> state_;           // covered paths' last known state
  std::map<std::string, Dirty> dirty_;           // paths to examine
  std::map<int, std::string> dirs_by_wd_;        // watched directories
  std::map<std::string, int> wd_by_dir_;
  std::map<uint32_t, std::string> moved_from_;   // rename cookie -> source path (bounded)
  bool need_reconcile_ = false;
};

}  // namespace vigil::files
