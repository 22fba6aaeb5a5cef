// SockDiagConnectionSource: the polling ConnectionSource, for kernels (or builds) without the
// eBPF one. Every interval it dumps the socket table (platform/socket_table.h: TCP sockets in
// every state but TIME_WAIT, SYN_RECV and CLOSE, with tcp_info; every UDP socket; IPv4 and
// IPv6) and compares it with the previous dump, socket by socket (inode, and the kernel's
// cookie so that a reused inode is a new socket):
//
//   a socket seen for the first time, or whose role changed:
//     TCP LISTEN, or UDP bound without a peer            -> kListen
//     TCP connected or connecting, or UDP with a peer:
//       its local port is that of a listening TCP socket
//       (bound UDP socket for UDP), and it is not SYN_SENT -> kAccept
//       otherwise                                          -> kConnect
//   a connection gone (no longer in the dump, or no file holds it any more: its process
//   closed it), or whose peer changed (UDP connect to another peer)
//                                                          -> kClose, with the TCP byte
//     counters of the last dump that saw it (tcpi_bytes_received, tcpi_bytes_acked)
//
// Listening sockets that go away are not reported (the listening_ports collector reports
// them). The first dump (Baseline) is the starting point and reports nothing; the owners of the
// connections open then are looked up, so that their close names the process.
//
// Owners: a new socket's process is found by reading /proc/*/fd (platform/linux/socket_owners.h),
// once per dump that has sockets whose owner is not known yet, and remembered with the socket.
// Records carry pid (-1 when no process holds the socket), the socket's uid, and socket_id =
// the inode; comm and ts_ns are not known.
//
// What it cannot see: connections that open and close within one interval (a short HTTP
// request, a DNS query), UDP datagrams sent or received on an unconnected socket, and bytes of
// UDP sockets. A connection's bytes are those of the last dump before it closed.
//
// Threads: Read/Scan/Baseline from one thread; Interrupt from any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/platform/connection_source.h"
#include "agent/platform/env.h"
#include "agent/platform/linux/socket_owners.h"
#include "agent/platform/socket_table.h"

namespace vigil::network {

class SockDiagConnectionSource final : public ConnectionSource {
 public:
  SockDiagConnectionSource(std::unique_ptr<SocketTable> table, Env& env, int64_t interval_ms,
                           std::string proc_root = "/proc");

  std::string_view name() const override { return "sock_diag"; }

  // The first dump: remembers every socket, reports nothing. Errors when the table cannot be
  // dumped.
  Status Baseline();

  // Dumps once and appends the differences with the previous dump to *out: closes first,
  // then listens, connects and accepts. Without a baseline yet, takes it instead.
  Status Scan(std::vector<ConnectionRecord>* out);

  // Waits until one interval has passed since the previous dump (Interrupt or timeout_ms cut
  // the wait short, returning nothing), then scans. Never reports lost records.
  Status Read(int timeout_ms, std::vector<ConnectionRecord>* out, uint64_t* lost) override;
  void Interrupt() override;

  size_t tracked() const { return known_.size(); }  // sockets remembered from the last dump
  uint64_t owner_scans() const { return owners_.scans(); }

 private:
  enum class Role : uint8_t { kNone, kListener, kConnection };
  struct Tracked {
    SocketInfo info;
    Role role = Role::kNone;
    int32_t pid = -1;
    bool owner_known = false;  // looked up (pid may still be -1: no process held it)
  };
  struct Pending {
    ConnectionRecord::Kind kind;
    uint64_t inode;
  };

  static Role RoleOf(const SocketInfo& s);
  bool IsAccept(const SocketInfo& s) const;
  ConnectionRecord MakeRecord(ConnectionRecord::Kind kind, const Tracked& t) const;
  Status Dump(bool baseline, std::vector<ConnectionRecord>* out);

  std::unique_ptr<SocketTable> table_;
  SocketOwners owners_;
  const int64_t interval_ms_;
  const SocketQuery query_;
  bool baseline_ = false;
  int64_t last_scan_ms_ = 0;  // std::chrono::steady_clock, ms
  std::vector<SocketInfo> dump_;
  std::unordered_map<uint64_t, Tracked> known_;  // by inode
  std::unordered_set<uint16_t> tcp_listen_ports_;
  std::unordered_set<uint16_t> udp_bound_ports_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace vigil::network
