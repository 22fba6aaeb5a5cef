// Fuzzes what the network collector reads to name peers: a packet from the packet socket
// (ExtractDnsPayload: IPv4 or IPv6 header, then UDP) and the DNS answer in it
// (ParseDnsAnswer, libresolv's parser), then learns and looks up its addresses. Input: one
// byte choosing the link protocol (even: IPv4, odd: IPv6), then the packet from its network
// header. Nothing may crash, hang or read out of bounds; a payload lies inside the packet, and
// every address parsed is named by the answer's name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/collectors/network/dns_names.h"
#include "agent/platform/dns_responses.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint16_t ethertype = (data[0] & 1) ? 0x86dd : 0x0800;
  const std::string_view packet(reinterpret_cast<const char*>(data + 1), size - 1);
  auto payload = vigil::ExtractDnsPayload(ethertype, packet);
  // The whole input is also tried as a DNS message, so the corpus reaches the parser directly.
  for (std::string_view message : {payload.ok() ? *payload : std::string_view(), packet}) {
    if (payload.ok() && message.data() == payload->data()) {
      Check(message.data() >= packet.data() && message.data() + message.size() <= packet.data() + packet.size());
    }
    auto answer = vigil::network::ParseDnsAnswer(message);
    if (!answer.ok()) continue;
    vigil::network::DnsNames names(4, 1000);
    names.Learn(*answer, 0);
    for (const auto& a : answer->addresses) {
      Check(a.family == 4 || a.family == 6);
      Check(answer->name.empty() || names.Lookup(a.family, a.addr, 0) == answer->name ||
            answer->addresses.size() > 4);
    }
  }
  return 0;
}
