// DnsResponseSource: the DNS answers this device receives, as the UDP payloads of packets
// from source port 53, so that the network collector can name the peers of connections
// (`remote_host`) by the name a process resolved before connecting.
//
// Implementations:
//   platform/linux/dns_responses_packet.cpp  an AF_PACKET SOCK_DGRAM socket on every
//                                            interface with a classic BPF filter that keeps
//                                            incoming UDP (IPv4 unfragmented, IPv6 without
//                                            extension headers) from port 53 and drops the
//                                            rest in the kernel; loopback included, so a
//                                            local resolver's (dnsmasq, systemd-resolved)
//                                            answers to programs are seen. Needs CAP_NET_RAW.
//   tests: none needed; ExtractUdpPayload is the parsing part.
//
// Answers over TCP, DNS over TLS or HTTPS, and names a program resolves without DNS
// (/etc/hosts) are not seen.
//
// Threads: one instance is used by one thread at a time; Interrupt may be called from any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

class DnsResponseSource {
 public:
  virtual ~DnsResponseSource() = default;

  // Waits up to timeout_ms for packets, then appends the DNS message of each one read to
  // *out. *malformed counts packets whose IP or UDP header did not parse.
  virtual Status Read(int timeout_ms, std::vector<std::string>* out, uint64_t* malformed) = 0;
  // Makes a blocked Read return at once, now and from then on.
  virtual void Interrupt() = 0;
};

// The UDP payload of an IP packet (network header first, as a SOCK_DGRAM packet socket gives
// it) when it is UDP from port 53; InvalidArgument for a truncated or inconsistent header,
// NotFound for a packet that is not UDP from port 53. ethertype: 0x0800 IPv4, 0x86dd IPv6.
Result<std::string_view> ExtractDnsPayload(uint16_t ethertype, std::string_view packet);

// The kernel's packet socket; Unavailable without CAP_NET_RAW or AF_PACKET.
Result<std::unique_ptr<DnsResponseSource>> OpenDnsResponseSource();

}  // namespace vigil
