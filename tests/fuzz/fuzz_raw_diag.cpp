// Fuzzes what the network collector reads about raw IP and packet sockets: NETLINK_SOCK_DIAG
// dump replies of raw_diag and packet_diag (rawdiag::ParseReply) and the /proc/net/raw and
// /proc/net/packet text read on kernels without them. Input: one byte choosing the parser
// (0: raw_diag reply, 1: packet_diag reply, 2: /proc/net/raw, 3: /proc/net/packet, by the
// low two bits), then the reply datagram (request seq 5) or the file's text. Nothing may
// crash, hang or read out of bounds, and every socket parsed must be one the format allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "agent/platform/linux/raw_diag.h"

namespace {

using vigil::RawSocketInfo;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int which = data[0] & 3;
  const std::span<const uint8_t> body(data + 1, size - 1);
  std::vector<RawSocketInfo> sockets;
  if (which < 2) {
    const auto kind = which == 0 ? vigil::rawdiag::DumpKind::kRawIp : vigil::rawdiag::DumpKind::kPacket;
    vigil::sockdiag::ParseOutcome outcome;
    const vigil::Status st = vigil::rawdiag::ParseReply(body, kind, 5, &sockets, &outcome);
    Check(st.ok() || !st.message().empty());
    // Each socket takes at least a netlink header and its fixed message (72 or 16 bytes).
    Check(sockets.size() * (16 + (which == 0 ? 72 : 16)) <= body.size());
    for (const RawSocketInfo& s : sockets) {
      if (which == 0) {
        Check(s.family != RawSocketInfo::Family::kPacket && s.type == RawSocketInfo::Type::kRaw);
        Check(s.uid >= 0);
      } else {
        Check(s.family == RawSocketInfo::Family::kPacket);
      }
    }
  } else {
    const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
    size_t skipped = 0;
    if (which == 2)
      vigil::rawdiag::ParseProcNetRaw(text, RawSocketInfo::Family::kIpv4, &sockets, &skipped);
    else
      vigil::rawdiag::ParseProcNetPacket(text, &sockets, &skipped);
    // One socket or one skipped line per line after the header.
    size_t lines = 0;
    for (char c : text) lines += c == '\n' ? 1 : 0;
    Check(sockets.size() + skipped <= lines + 1);
    for (const RawSocketInfo& s : sockets) {
      Check(s.uid >= 0 && s.uid <= 0xffffffffLL);
      Check((which == 2) == (s.family == RawSocketInfo::Family::kIpv4));
    }
  }
  return 0;
}
