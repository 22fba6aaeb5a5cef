// ConnectionSource: the stream of socket activity (connections made and accepted, sockets
// listening and closed) that the network collector enriches into events.
//
// Implementations:
//   platform/linux/ebpf/...             eBPF programs on kernel tracepoints (CO-RE, libbpf):
//                                       every connection, with pid and bytes at close
//   collectors/network/sock_diag_source NETLINK_SOCK_DIAG dumps diffed every poll interval:
//                                       misses connections shorter than the interval, and
//                                       learns the owning process from /proc/<pid>/fd
//
// Addresses are in network byte order as the kernel keeps them; an IPv4 address fills the
// first 4 bytes of `addr` (family 4). An IPv4-mapped IPv6 socket is reported as family 6.
//
// Threads: Read is called from one thread (the collector's receive thread); Interrupt may be
// called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct SocketEndpoint {
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;  // host byte order
};

struct ConnectionRecord {
  enum class Kind : uint8_t {
    kConnect,  // this host opened a connection (TCP connect, or a UDP datagram/connect out)
    kAccept,   // a peer connected to a local socket (TCP accept, or a UDP datagram in)
    kListen,   // a socket started listening (TCP) or was bound without a peer (UDP)
    kClose,    // a connection ended; bytes are totals over its life when known
  };
  enum class Protocol : uint8_t { kTcp = 6, kUdp = 17 };

  Kind kind = Kind::kConnect;
  Protocol protocol = Protocol::kTcp;
  uint8_t family = 4;  // 4 or 6
  SocketEndpoint local;
  SocketEndpoint remote;
  int32_t pid = -1;      // thread group id of the process; -1 when unknown
  int64_t uid = -1;      // the process's effective uid; -1 when unknown
  std::string comm;      // the kernel's task name when the source knows it (may be empty)
  bool bytes_known = false;
  uint64_t bytes_in = 0;   // received; meaningful when bytes_known
  uint64_t bytes_out = 0;  // sent; meaningful when bytes_known
  uint64_t socket_id = 0;  // identifies one socket for pairing close with open (0: unknown)
  uint64_t ts_ns = 0;      // the kernel's CLOCK_MONOTONIC time when known; 0 otherwise
};

class ConnectionSource {
 public:
  virtual ~ConnectionSource() = default;

  // "ebpf" or "sock_diag": what agent_stats reports as the collector's source.
  virtual std::string_view name() const = 0;

  // Waits until records arrive, Interrupt is called, or `timeout_ms` passes, then appends
  // what arrived to *out, oldest first. Adds to *lost the records the source had to drop
  // (kernel buffer full). An error means the source is broken for good (the caller may fall
  // back to another one).
  virtual Status Read(int timeout_ms, std::vector<ConnectionRecord>* out, uint64_t* lost) = 0;

  // Makes a Read in progress return soon, and every later Read return at once. Thread-safe.
  virtual void Interrupt() = 0;
};

}  // namespace vigil
