// SocketTable: a snapshot of the kernel's TCP and UDP sockets (IPv4 and IPv6), with the
// inode that ties each socket to the process holding it, and TCP byte counters.
//
// Implementations:
//   platform/linux/sock_diag.cpp       NETLINK_SOCK_DIAG dumps (inet_diag), no root needed to
//                                      dump; the table is the caller's network namespace
//   platform/fake/fake_socket_table.h  a table the test sets by hand
//
// Users: the network collector's sock_diag source (diffs dumps into connection records) and
// the listening_ports collector (diffs listening sockets).
//
// Threads: one instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/connection_source.h"

namespace vigil {

// The kernel's TCP states (include/net/tcp_states.h). UDP sockets use two of them:
// kEstablished when connected to a peer, kClose when only bound.
enum class SocketState : uint8_t {
  kEstablished = 1,
  kSynSent = 2,
  kSynRecv = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,
  kCloseWait = 8,
  kLastAck = 9,
  kListen = 10,
  kClosing = 11,
};

// The state's bit in a mask of states; 0 for a value past the mask (a state byte from the
// kernel is not checked against the enum).
constexpr uint32_t StateBit(SocketState s) {
  return static_cast<uint8_t>(s) < 32 ? uint32_t{1} << static_cast<uint8_t>(s) : 0;
}

struct SocketInfo {
  ConnectionRecord::Protocol protocol = ConnectionRecord::Protocol::kTcp;
  uint8_t family = 4;  // 4 or 6 (an IPv4-mapped address on an IPv6 socket stays 6)
  SocketState state = SocketState::kClose;
  SocketEndpoint local;
  SocketEndpoint remote;     // all zero when there is no peer
  uint64_t inode = 0;        // 0: no file holds it any more (closed by its process, time-wait)
  uint64_t cookie = 0;       // the kernel's socket cookie: tells a reused inode apart
  int64_t uid = -1;          // the socket's owner (the uid that created it)
  bool bytes_known = false;  // TCP with tcp_info: the two counters below are set
  uint64_t bytes_in = 0;     // tcpi_bytes_received
  uint64_t bytes_out = 0;    // tcpi_bytes_acked (sent and acknowledged by the peer)
};

struct SocketQuery {
  uint32_t tcp_states = 0;  // StateBit()s of the TCP sockets wanted; 0: no TCP
  bool udp = false;         // every UDP socket (connected and bound)
  bool tcp_bytes = false;   // ask for tcp_info, so bytes_in/bytes_out are known
};

class SocketTable {
 public:
  virtual ~SocketTable() = default;

  // Replaces *out with the sockets `query` asks for, IPv4 then IPv6, TCP then UDP. Errors
  // (IoError, or InvalidArgument naming the offset of a malformed kernel reply) leave *out
  // with what was read before the error; the table can be dumped again.
  virtual Status Dump(const SocketQuery& query, std::vector<SocketInfo>* out) = 0;
};

// The kernel's socket table (Linux: a NETLINK_SOCK_DIAG socket). Unavailable when the kernel
// has no sock_diag.
Result<std::unique_ptr<SocketTable>> OpenSocketTable();

}  // namespace vigil
