// RawSocketTable: the raw IP sockets (SOCK_RAW of AF_INET and AF_INET6) and the packet
// sockets (AF_PACKET, SOCK_RAW or SOCK_DGRAM) open on the device, with the inode that ties
// each to the process holding it. Such a socket sends and receives packets of its own making,
// which the TCP and UDP socket tables never show (a SYN scanner's probes, a sniffer).
//
// Implementations:
//   platform/linux/raw_diag.cpp  NETLINK_SOCK_DIAG dumps: raw_diag (IPPROTO_RAW handler,
//                                Linux >= 4.14 with CONFIG_INET_RAW_DIAG) and packet_diag
//                                (CONFIG_PACKET_DIAG); a kernel without one of them is read
//                                from /proc/net/raw, /proc/net/raw6 or /proc/net/packet
//                                instead (the same sockets and fields). The table is the
//                                caller's network namespace.
//   tests: a fake set by hand (collectors/network/raw_sockets_test.cpp)
//
// Threads: one instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/env.h"

namespace vigil {

struct RawSocketInfo {
  enum class Family : uint8_t { kIpv4, kIpv6, kPacket };
  enum class Type : uint8_t { kRaw, kDgram };  // SOCK_RAW; SOCK_DGRAM (packet sockets only)
  Family family = Family::kIpv4;
  Type type = Type::kRaw;
  // Raw IP socket: the IP protocol it was opened for (1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6,
  // 255 IPPROTO_RAW). Packet socket: the Ethernet protocol in host order (3 ETH_P_ALL,
  // 0x0806 ARP, 0x888e EAPOL; 0 when it receives nothing until bound).
  uint16_t protocol = 0;
  uint64_t inode = 0;  // 0: no file holds it any more
  int64_t uid = -1;    // the uid that created it; -1 when the source does not say
};

class RawSocketTable {
 public:
  virtual ~RawSocketTable() = default;

  // Replaces *out with the raw IP sockets (IPv4, then IPv6) and the packet sockets. An error
  // (IoError, InvalidArgument for a malformed kernel reply) leaves *out with what was read
  // before it; the table can be dumped again.
  virtual Status Dump(std::vector<RawSocketInfo>* out) = 0;

  // Where each kind came from on the last dump: "sock_diag" or "proc" for raw IP sockets
  // and for packet sockets, e.g. "raw:proc,packet:sock_diag".
  virtual std::string source() const = 0;
};

// The kernel's raw and packet sockets (Linux: NETLINK_SOCK_DIAG, else /proc/net over `env`,
// which outlives the table). Unavailable when neither can be read.
Result<std::unique_ptr<RawSocketTable>> OpenRawSocketTable(Env& env, std::string proc_root = "/proc");

}  // namespace vigil
