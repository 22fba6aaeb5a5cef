// Raw IP and packet sockets: the Linux RawSocketTable (platform/raw_socket_table.h), and the
// parsers of what the kernel answers, which are pure and fuzzed (tests/fuzz/fuzz_raw_diag.cpp).
//
// NETLINK_SOCK_DIAG, one request per dump (SOCK_DIAG_BY_FAMILY, NLM_F_DUMP), framing and
// NLMSG_DONE / NLMSG_ERROR as in sock_diag.h:
//   raw IP sockets: struct inet_diag_req_raw {family AF_INET|AF_INET6, protocol IPPROTO_RAW
//     (selects the raw_diag handler), ext 0, raw_protocol 0 (any), states ~0, id 0}; each
//     reply message is struct inet_diag_msg (72 bytes, as for TCP) whose attributes include
//     INET_DIAG_PROTOCOL (u8): the protocol the socket was opened for. Without it (older
//     kernels) the protocol is the local "port", where the kernel keeps it for raw sockets.
//     A kernel without raw_diag answers NLMSG_DONE with -ENOENT: Unavailable.
//   packet sockets: struct packet_diag_req {family AF_PACKET, protocol 0, pad, ino 0,
//     show PACKET_SHOW_INFO, cookie ~0}; each reply message is struct packet_diag_msg
//     {family u8 = AF_PACKET, type u8 (SOCK_RAW 3, SOCK_DGRAM 2, SOCK_PACKET 10), num u16
//     (the Ethernet protocol, host order), ino u32, cookie u32[2]} (16 bytes), then
//     attributes; PACKET_DIAG_UID (u32) is the uid that created the socket.
//
// /proc/net (the fallback; one line per socket after a header line):
//   raw, raw6: "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid
//     timeout inode ...": local_address is ADDR:PORT in hex, PORT being the protocol.
//   packet: "sk RefCnt Type Proto Iface R Rmem User Inode": Type and the others decimal,
//     Proto hexadecimal (host order).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/linux/sock_diag.h"
#include "agent/platform/raw_socket_table.h"

namespace vigil::rawdiag {

enum class DumpKind : uint8_t { kRawIp, kPacket };

// The request datagram for a dump of raw IP sockets of `family` (4 or 6).
std::vector<uint8_t> BuildRawRequest(uint8_t family, uint32_t seq);
// The request datagram for a dump of packet sockets.
std::vector<uint8_t> BuildPacketRequest(uint32_t seq);

// Parses one datagram of a `kind` dump reply, appending each socket to *out; as
// sockdiag::ParseReply (messages of another seq skipped, errors name the offset, the
// kernel's errors become statuses, sockets before an error are kept).
Status ParseReply(std::span<const uint8_t> data, DumpKind kind, uint32_t seq, std::vector<RawSocketInfo>* out,
                  sockdiag::ParseOutcome* outcome);

// /proc/net/raw (family kIpv4) or /proc/net/raw6 (kIpv6), and /proc/net/packet. Lines that do
// not parse are skipped and counted in *skipped.
void ParseProcNetRaw(std::string_view text, RawSocketInfo::Family family, std::vector<RawSocketInfo>* out,
                     size_t* skipped);
void ParseProcNetPacket(std::string_view text, std::vector<RawSocketInfo>* out, size_t* skipped);

}  // namespace vigil::rawdiag
