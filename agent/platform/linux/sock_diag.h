// NETLINK_SOCK_DIAG: the Linux SocketTable (platform/socket_table.h), and the parser of the
// kernel's replies, which is pure and fuzzed (tests/fuzz/fuzz_sock_diag.cpp).
//
// One dump is one request (SOCK_DIAG_BY_FAMILY with NLM_F_DUMP, struct inet_diag_req_v2:
// family, protocol, a bit mask of TCP states, and the INET_DIAG_INFO extension when bytes are
// wanted) and a reply of one or more datagrams, each holding netlink messages:
//
//   nlmsghdr {len u32, type u16, flags u16, seq u32, pid u32}, payload, padding to 4 bytes
//     type SOCK_DIAG_BY_FAMILY (20): struct inet_diag_msg (72 bytes: family u8, state u8,
//       timer u8, retrans u8, sockid {sport be16, dport be16, src be32[4], dst be32[4],
//       if u32, cookie u32[2]}, expires u32, rqueue u32, wqueue u32, uid u32, inode u32),
//       padded to 4, then attributes rtattr {len u16, type u16} + payload, each padded to 4;
//       INET_DIAG_INFO (2) holds struct tcp_info, whose tcpi_bytes_acked (offset 120) and
//       tcpi_bytes_received (offset 128) are u64 (kernels before 4.1 send a shorter struct:
//       bytes unknown)
//     type NLMSG_DONE (3): the end of the dump (may carry an int: a negative errno)
//     type NLMSG_ERROR (2): struct nlmsgerr {int error; nlmsghdr}: the request failed
//   Messages of other types are skipped. A message whose flags have NLM_F_DUMP_INTR was
//   produced while the table changed: the dump may have missed sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/socket_table.h"

namespace vigil::sockdiag {

// The request datagram for one dump (family 4 or 6, protocol TCP or UDP).
std::vector<uint8_t> BuildRequest(uint8_t family, ConnectionRecord::Protocol protocol, uint32_t states, bool tcp_info,
                                  uint32_t seq);

struct ParseOutcome {
  bool done = false;         // NLMSG_DONE seen: the dump is complete
  bool interrupted = false;  // a message carried NLM_F_DUMP_INTR
};

// One socket message (SOCK_DIAG_BY_FAMILY) of a dump reply: its payload, its length, and the
// payload's offset in the datagram (for error messages).
using SocketMessage = std::function<Status(const uint8_t* payload, size_t len, size_t offset)>;

// Walks one datagram of a dump reply: checks each netlink message's framing, and for messages
// of `seq` (others, left from an earlier request, are skipped) records the dump's end or
// interruption in *outcome, turns NLMSG_ERROR and a negative NLMSG_DONE into the kernel's
// error, and hands socket messages to `on_socket`. `source` names the dump in errors
// ("sock_diag": "sock_diag reply, offset N: ..." and "sock_diag: request refused: ...").
Status WalkDumpReply(std::span<const uint8_t> data, uint32_t seq, std::string_view source, ParseOutcome* outcome,
                     const SocketMessage& on_socket);

// Parses one datagram of a dump reply for `protocol`, appending each socket to *out.
// Messages whose seq is not `seq` (left from an earlier request) are skipped.
// Errors: InvalidArgument "sock_diag reply, offset N: <what>" for a truncated or
// inconsistent message (sockets before it are kept in *out); the kernel's error for
// NLMSG_ERROR or a negative NLMSG_DONE (IoError, Unavailable for ENOENT/EOPNOTSUPP: no diag
// module for the protocol, PermissionDenied for EPERM/EACCES).
Status ParseReply(std::span<const uint8_t> data, ConnectionRecord::Protocol protocol, uint32_t seq,
                  std::vector<SocketInfo>* out, ParseOutcome* outcome);

}  // namespace vigil::sockdiag
