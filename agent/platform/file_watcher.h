// FileWatcher: notifications of changes to the entries of watched directories (Linux:
// inotify), for the files collector.
//
// Only directories are watched: a directory's watch reports its entries being created,
// deleted, renamed in or out, written and having their attributes changed, and the directory
// itself being deleted or moved. Watching the parent of a file therefore sees the file
// replaced by a rename, deleted, or created when it did not exist yet.
//
// Implementations:
//   platform/linux/file_watcher_inotify.cpp   inotify(7)
//   platform/fake/fake_file_watcher.h         scripted notifications for unit tests
//
// Threads: everything but Interrupt is called from one thread (the collector's); Interrupt
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct WatchEvent {
  // What happened (several bits may be set on one event).
  enum Bits : uint32_t {
    kModify = 1u << 0,       // an entry's content was written
    kAttrib = 1u << 1,       // an entry's mode, owner, timestamps or link count changed
    kCloseWrite = 1u << 2,   // an entry opened for writing was closed
    kCreate = 1u << 3,       // an entry was created
    kDelete = 1u << 4,       // an entry was deleted
    kMovedFrom = 1u << 5,    // an entry was renamed away (cookie pairs it with kMovedTo)
    kMovedTo = 1u << 6,      // an entry was renamed in
    kDeleteSelf = 1u << 7,   // the watched directory itself was deleted
    kMoveSelf = 1u << 8,     // the watched directory itself was renamed
    kIgnored = 1u << 9,      // the watch is gone (directory deleted, file system unmounted)
    kOverflow = 1u << 10,    // the kernel's queue overflowed: notifications were lost (wd -1)
    kIsDir = 1u << 11,       // the entry is a directory
  };
  int wd = -1;          // the watch it came from (AddDirectory's id); -1 for kOverflow
  uint32_t mask = 0;    // Bits
  uint32_t cookie = 0;  // equal on the kMovedFrom and kMovedTo of one rename; else 0
  std::string name;     // the entry's name in the directory; "" for the directory itself
};

class FileWatcher {
 public:
  virtual ~FileWatcher() = default;

  // What agent_stats reports as the source ("inotify").
  virtual std::string_view name() const = 0;

  // Starts watching a directory (following a symlink to it) and returns the watch id. The
  // same directory (same inode) added twice, under any path, returns the same id. Errors:
  // NotFound when it does not exist, InvalidArgument when it is not a directory,
  // Unavailable when the per-user watch limit is reached, PermissionDenied.
  virtual Result<int> AddDirectory(const std::string& path) = 0;

  // Stops a watch (a kIgnored event for it may still be delivered). Unknown ids are ignored.
  virtual void Remove(int wd) = 0;

  // Waits until notifications arrive, Interrupt is called, or `timeout_ms` passes (0: does
  // not wait), then appends what arrived, oldest first. An error means the watcher is broken
  // for good.
  virtual Status Read(int timeout_ms, std::vector<WatchEvent>* out) = 0;

  // Makes a Read in progress return soon, and every later Read return at once. Thread-safe.
  virtual void Interrupt() = 0;
};

struct PlatformFileWatcherOptions {
  // Notifications read per Read call at most (the rest wait for the next call).
  size_t max_events_per_read = 4096;
};

// The platform's watcher (Linux: inotify). Unavailable when the kernel has no inotify or the
// per-user instance limit is reached.
Result<std::unique_ptr<FileWatcher>> OpenPlatformFileWatcher(const PlatformFileWatcherOptions& options);

}  // namespace vigil
