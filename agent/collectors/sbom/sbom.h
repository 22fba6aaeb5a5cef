// The sbom collector: the packages installed on the device (agent/sbom), one full `inventory`
// (in chunks) at start, then `added`, `removed` and `upgraded` events when the package
// database changes.
//
// Change detection: the databases' directories are watched through the platform's FileWatcher
// (inotify): dpkg and opkg replace their status file by a rename, apk its installed file, rpm
// writes rpmdb.sqlite and its -wal beside it. After a notification the collector waits until
// the directory has been quiet for kQuietMs (at most kMaxDebounceMs: a long apt run rewrites
// the status file many times), then re-reads and diffs. Where the watcher cannot be set up
// (or breaks), each database's inode, size and mtime are compared every `sbom.poll_interval`.
// A re-read that fails keeps the last good view and reports nothing (counted `read_errors`),
// so a failed read never looks like every package removed.
//
// Threads: one, started by Start and joined by Stop.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/core/collector.h"
#include "agent/platform/file_watcher.h"

namespace vigil::sbom {

inline constexpr int64_t kQuietMs = 1'000;
inline constexpr int64_t kMaxDebounceMs = 30'000;

extern const CollectorDescriptor kDescriptor;

// The same collector with the watcher given (a FakeFileWatcher in tests; nullptr: polling).
std::unique_ptr<Collector> NewSbomCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> watcher);

}  // namespace vigil::sbom
