// The process collector: "process" events (exec, exit) for every process on the device.
//
// Source, by the setting process.mode:
//   ebpf     eBPF programs on the scheduler's tracepoints (platform/ebpf.h): exe, argv, cwd and
//            uid read in the kernel at exec, so short-lived processes are seen whole; Start
//            fails with Unavailable when they cannot be loaded
//   netlink  the kernel's proc connector (platform/linux/proc_connector.cpp), enriched from
//            /proc; Start fails with Unavailable when it cannot be opened
//   poll     a diff of /proc every process.poll_interval (poll_source.h)
//   auto     the first of ebpf, netlink, poll that opens; if the source in use breaks later,
//            the next one after it
// agent_stats reports the source in use ("ebpf", "netlink" or "poll").
//
// Threads: a receive thread (source -> ProcessTracker, enrichment done at once) and a hashing
// thread (HashingEmitter). Both are joined by Stop.
//
// Fields of the events: README.md beside this file.
#pragma once

#include <memory>

#include "agent/core/collector.h"
#include "agent/platform/process_source.h"

namespace vigil::process {

extern const CollectorDescriptor kDescriptor;

// The same collector reading the given source instead of choosing one by process.mode (a
// scripted source in tests). If the source fails, the collector stops (no fallback).
std::unique_ptr<Collector> NewProcessCollector(CollectorContext& ctx, std::unique_ptr<ProcessSource> source);

}  // namespace vigil::process
