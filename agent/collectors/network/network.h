// The network collector: "network" events (connect, accept, listen, close) per process, with
// bytes where the source knows them.
//
// Source, by the setting network.mode:
//   ebpf       eBPF programs on kernel tracepoints (platform/ebpf.h): every connection, as it
//              happens; Start fails with Unavailable when they cannot be loaded
//   sock_diag  the socket table dumped every network.poll_interval and diffed
//              (sock_diag_source.h): misses connections shorter than the interval
//   auto       ebpf when it opens, else sock_diag; also falls back to sock_diag if the eBPF
//              source breaks later
// agent_stats reports the source in use ("ebpf" or "sock_diag").
//
// Threads: one receive thread (source -> ConnectionTracker -> bus), joined by Stop. The
// tracker's aggregates are sent when the priority's interval ends, and all of them at Stop.
//
// Fields of the events: README.md beside this file.
#pragma once

#include <memory>
#include <string>

#include "agent/core/collector.h"
#include "agent/platform/connection_source.h"

namespace vigil::network {

extern const CollectorDescriptor kDescriptor;

// The same collector reading the given source instead of choosing one by network.mode (a
// scripted source in tests). If the source fails, the collector stops (no fallback).
// `proc_root` is where owners' /proc entries are read (a FakeEnv tree in tests).
std::unique_ptr<Collector> NewNetworkCollector(CollectorContext& ctx, std::unique_ptr<ConnectionSource> source,
                                               const std::string& proc_root = "/proc");

}  // namespace vigil::network
