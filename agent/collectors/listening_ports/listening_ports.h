// The listening_ports collector: "listening_ports" events. At start a `snapshot` of every
// listening TCP socket and bound UDP socket without a peer (the ports this device offers),
// then `opened` and `closed` per port when the socket table, dumped every
// listening_ports.interval over NETLINK_SOCK_DIAG, differs (port_watcher.h).
//
// Threads: Start takes the first dump and sends the snapshot on the calling thread; a poll
// thread does the rest and is joined by Stop (woken at once).
//
// Fields of the events: README.md beside this file.
#pragma once

#include <memory>
#include <string>

#include "agent/core/collector.h"
#include "agent/platform/socket_table.h"

namespace vigil::listening_ports {

extern const CollectorDescriptor kDescriptor;

// The same collector reading the given table (a FakeSocketTable in tests) and owners under
// `proc_root`.
std::unique_ptr<Collector> NewListeningPortsCollector(CollectorContext& ctx, std::unique_ptr<SocketTable> table,
                                                      std::string proc_root = "/proc");

}  // namespace vigil::listening_ports
