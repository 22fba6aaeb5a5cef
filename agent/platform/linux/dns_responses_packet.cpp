// DNS answers from an AF_PACKET socket (see agent/platform/dns_responses.h).
//
// socket(AF_PACKET, SOCK_DGRAM, ETH_P_ALL) gives each packet from its network header on, with
// the link-level protocol and packet type in sockaddr_ll. The classic BPF filter below runs
// in the kernel on every packet and keeps only incoming (not PACKET_OUTGOING: on loopback a
// packet is seen twice, going out and coming in) UDP from port 53 over IPv4 (first fragment
// or unfragmented) or IPv6 (UDP as the first next header). So the agent wakes only for DNS
// answers. The kernel attaches the filter before the socket starts receiving only once
// bound, so the socket is opened with protocol 0, filtered, then bound to ETH_P_ALL.
//
// Read polls the socket and a Waker (Interrupt wakes it), then drains the socket without
// blocking, at most kMaxPerRead packets per call.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/dns_responses.h"
#include "agent/platform/linux/fd.h"
#include "agent/platform/linux/waker.h"

namespace vigil {
namespace {

constexpr size_t kMaxPacketBytes = 65536;
constexpr int kMaxPerRead = 256;
constexpr uint16_t kDnsPort = 53;
constexpr uint8_t kUdp = 17;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The kernel's ancillary data (packet type, protocol) is loaded from negative offsets.
constexpr uint32_t Ancillary(int what) { return static_cast<uint32_t>(SKF_AD_OFF + what); }

// Offsets are from the network header (SOCK_DGRAM). Jumps are relative: jt/jf skip that many
// instructions after the current one.
constexpr sock_filter kFilter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, Ancillary(SKF_AD_PKTTYPE)),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 14, 0),  // -> 16 drop
    /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, Ancillary(SKF_AD_PROTOCOL)),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 7),  // not IPv4 -> 11
    /* 4 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),                // IPv4 protocol
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kUdp, 0, 10),     // -> 16 drop
    /* 6 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),                // flags and fragment offset
    /* 7 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 8, 0),   // a later fragment -> 16 drop
    /* 8 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),               // X = IPv4 header length
    /* 9 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),                // UDP source port
    /* 10 */ BPF_JUMP(BPF_JMP | BPF_JA, 4, 0, 0),                 // -> 15
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 4),  // neither -> 16 drop
    /* 12 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),                  // IPv6 next header
    /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kUdp, 0, 2),        // -> 16 drop
    /* 14 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),                 // UDP source port
    /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kDnsPort, 1, 0),    // -> 17 keep, else 16
    /* 16 */ BPF_STMT(BPF_RET | BPF_K, 0),
    /* 17 */ BPF_STMT(BPF_RET | BPF_K, kMaxPacketBytes),
};

class PacketDnsSource final : public DnsResponseSource {
 public:
  PacketDnsSource(Fd sock, Fd wake) : sock_(std::move(sock)), waker_(std::move(wake)), buf_(kMaxPacketBytes) {}

  Status Read(int timeout_ms, std::vector<std::string>* out, uint64_t* malformed) override {
    VIGIL_ASSIGN_OR_RETURN(const bool readable, waker_.WaitReadable(sock_.get(), timeout_ms, "packet socket"));
    if (!readable) return Status::Ok();
    for (int i = 0; i < kMaxPerRead; ++i) {
      sockaddr_ll from{};
      socklen_t from_len = sizeof(from);
      ssize_t len = recvfrom(sock_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &from_len);
      if (len < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return Status::IoError(Errno("packet socket recvfrom"));
      }
      auto payload = ExtractDnsPayload(ntohs(from.sll_protocol), std::string_view(buf_.data(), static_cast<size_t>(len)));
      if (payload.ok()) {
        out->emplace_back(*payload);
      } else if (payload.status().code() == Status::Code::kInvalidArgument) {
        ++*malformed;
      }
    }
    return Status::Ok();
  }

  void Interrupt() override { waker_.Interrupt(); }

 private:
  Fd sock_;
  Waker waker_;
  std::vector<char> buf_;
};

uint16_t Be16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

}  // namespace

Result<std::string_view> ExtractDnsPayload(uint16_t ethertype, std::string_view packet) {
  size_t udp = 0;
  if (ethertype == ETH_P_IP) {
    if (packet.size() < 20) return Status::InvalidArgument("IPv4 header truncated");
    const uint8_t version_ihl = static_cast<uint8_t>(packet[0]);
    const size_t ihl = (version_ihl & 0x0f) * 4u;
    if ((version_ihl >> 4) != 4 || ihl < 20) return Status::InvalidArgument("not an IPv4 header");
    const size_t total = Be16(packet, 2);
    if (total < ihl || total > packet.size()) return Status::InvalidArgument("IPv4 total length inconsistent");
    packet = packet.substr(0, total);  // drops link-level padding
    if (static_cast<uint8_t>(packet[9]) != kUdp) return Status::NotFound("not UDP");
    if ((Be16(packet, 6) & 0x1fff) != 0) return Status::NotFound("a later fragment");
    udp = ihl;
  } else if (ethertype == ETH_P_IPV6) {
    if (packet.size() < 40) return Status::InvalidArgument("IPv6 header truncated");
    if ((static_cast<uint8_t>(packet[0]) >> 4) != 6) return Status::InvalidArgument("not an IPv6 header");
    const size_t total = 40u + Be16(packet, 4);
    if (total > packet.size()) return Status::InvalidArgument("IPv6 payload length inconsistent");
    packet = packet.substr(0, total);
    if (static_cast<uint8_t>(packet[6]) != kUdp) return Status::NotFound("not UDP");
    udp = 40;
  } else {
    return Status::NotFound("not IP");
  }
  if (packet.size() < udp + 8) return Status::InvalidArgument("UDP header truncated");
  if (Be16(packet, udp) != kDnsPort) return Status::NotFound("not from port 53");
  const size_t udp_len = Be16(packet, udp + 4);
  if (udp_len < 8 || udp + udp_len > packet.size()) return Status::InvalidArgument("UDP length inconsistent");
  return packet.substr(udp + 8, udp_len - 8);
}

Result<std::unique_ptr<DnsResponseSource>> OpenDnsResponseSource() {
  Fd sock(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) return Status::Unavailable(Errno("AF_PACKET socket"));
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(std::size(kFilter));
  prog.filter = const_cast<sock_filter*>(kFilter);
  if (setsockopt(sock.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
    return Status::Unavailable(Errno("attach the DNS answer filter"));
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return Status::Unavailable(Errno("bind the packet socket"));
  VIGIL_ASSIGN_OR_RETURN(Fd wake, Waker::OpenEventFd());
  return std::unique_ptr<DnsResponseSource>(new PacketDnsSource(std::move(sock), std::move(wake)));
}

}  // namespace vigil
