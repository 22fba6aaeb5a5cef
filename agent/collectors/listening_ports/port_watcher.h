// PortWatcher: the listening_ports collector's state. It turns dumps of the socket table
// (TCP LISTEN sockets and UDP sockets without a peer) into the events of the collector: a
// snapshot of every port, then `opened` and `closed` per port when later dumps differ.
//
// A port is (protocol, family, local address, local port). Several sockets may share one
// (SO_REUSEPORT, workers forked from one listener): the port is open while any of them is,
// and belongs to the process holding the first one found. A port whose sockets were all
// replaced between two dumps (a service restarted) is reported only when the new owner runs
// another program: `closed` for the old one, then `opened` for the new.
//
// Owners come from /proc/PID/fd (SocketOwners), looked up once per dump for the sockets of
// ports that are new or replaced; the exe from /proc/PID/exe, the user from the socket's uid.
//
// Not thread-safe: used by the collector's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "agent/collectors/common/passwd.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"
#include "agent/platform/linux/socket_owners.h"
#include "agent/platform/socket_table.h"

namespace vigil::listening_ports {

// The query for the dumps PortWatcher reads.
SocketQuery ListeningQuery();

class PortWatcher {
 public:
  PortWatcher(Env& env, CollectorStats& stats, common::UserNames& users, size_t max_ports, bool include_loopback,
              std::string proc_root = "/proc");

  // Takes `sockets` as the current state and returns the `snapshot` event listing every port
  // (at most max_ports, sorted by protocol, port, family, address; the rest counted in
  // ports_omitted).
  Event Snapshot(const std::vector<SocketInfo>& sockets);

  // Compares `sockets` with the state and appends an `opened` or `closed` event per port that
  // changed (closed first); then takes `sockets` as the state.
  void Update(const std::vector<SocketInfo>& sockets, std::vector<Event>* out);

  size_t ports() const { return ports_.size(); }

 private:
  using PortKey = std::tuple<uint8_t /*protocol*/, uint16_t /*port*/, uint8_t /*family*/, std::string /*address*/>;
  struct Port {
    std::set<uint64_t> inodes;
    int64_t uid = -1;
    int32_t pid = -1;
    std::string exe;
    std::string comm;
    bool partial = false;
  };

  std::map<PortKey, Port> Group(const std::vector<SocketInfo>& sockets);
  void Resolve(std::map<PortKey, Port>& ports, const std::vector<PortKey>& keys);
  Json PortData(const PortKey& key, const Port& port);
  Event MakeEvent(std::string action, Json data);

  Env& env_;
  CollectorStats& stats_;
  common::UserNames& users_;
  const size_t max_ports_;
  const bool include_loopback_;
  const std::string proc_root_;
  SocketOwners owners_;
  std::map<PortKey, Port> ports_;
};

}  // namespace vigil::listening_ports
