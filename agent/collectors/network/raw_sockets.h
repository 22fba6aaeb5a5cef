// RawSocketWatcher: `network` / `raw_socket` events: a process holds a raw IP socket
// (SOCK_RAW of AF_INET or AF_INET6) or a packet socket (AF_PACKET). Such sockets carry packets
// the process builds itself (Mirai's SYN scanner writes its probes through a raw TCP socket,
// so its scan leaves no connection in the socket table), or let it read every frame.
//
// Each Poll dumps the RawSocketTable and reports every socket not reported before, by inode,
// once: with its owner found through /proc/*/fd (SocketOwners) and read at once (exe, comm).
// Sockets open when the watcher starts are reported by its first Poll. Memory: the inodes of
// the last dump.
//
// Fields: pid, exe, comm, uid, user, partial (no owner found: the process was gone), family
// (ipv4, ipv6, packet), socket_type (raw, dgram), ip_protocol (README.md beside this file).
//
// Threads: one instance is used by one thread at a time (the network collector's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "agent/collectors/common/passwd.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"
#include "agent/platform/linux/socket_owners.h"
#include "agent/platform/raw_socket_table.h"

namespace vigil::network {

class RawSocketWatcher {
 public:
  // Everything passed by reference outlives the watcher.
  RawSocketWatcher(std::unique_ptr<RawSocketTable> table, Env& env, CollectorStats& stats, common::UserNames& users,
                   std::string proc_root = "/proc");

  // Dumps the table and appends an event (ts `ts_ms`) for each socket new since the last
  // dump. A failed dump returns its status and forgets nothing.
  Status Poll(int64_t ts_ms, std::vector<Event>* out);

  std::string source() const { return table_->source(); }

 private:
  Event NewEvent(const RawSocketInfo& s, int32_t pid, int64_t ts_ms);

  std::unique_ptr<RawSocketTable> table_;
  Env& env_;
  CollectorStats& stats_;
  common::UserNames& users_;
  const std::string proc_root_;
  SocketOwners owners_;
  std::unordered_set<uint64_t> reported_;  // inodes of the last dump
  std::vector<RawSocketInfo> dump_;
};

}  // namespace vigil::network
