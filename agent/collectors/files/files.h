// The files collector: "file" events when a watched file or directory entry is created,
// modified, deleted, moved away or has its mode or owner changed, with the new content's
// sha256 (Sigma logsource: category file_event, product linux).
//
// Source, by the setting files.mode:
//   inotify  the kernel's inotify (platform/file_watcher.h); Start fails with Unavailable
//            when it cannot be opened
//   poll     every watched path examined again every files.poll_interval
//   auto     inotify when it opens, else poll; also falls back to poll if inotify breaks
// agent_stats reports the source in use ("inotify" or "poll").
//
// Threads: one thread (the initial state of every path, then notifications), joined by Stop.
//
// What is watched and how changes become events: monitor.h. Fields: README.md beside this file.
#pragma once

#include <memory>

#include "agent/core/collector.h"
#include "agent/platform/file_watcher.h"

namespace vigil::files {

extern const CollectorDescriptor kDescriptor;

// The same collector reading the given watcher instead of choosing one by files.mode (a
// scripted watcher in tests). If the watcher fails, the collector stops (no fallback).
std::unique_ptr<Collector> NewFilesCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> watcher);

}  // namespace vigil::files
