// Fuzzes what the socket collectors read from the kernel: NETLINK_SOCK_DIAG dump replies
// (sockdiag::ParseReply), and the sock_diag source's comparison of two dumps made of what was
// parsed. Input: one byte choosing the protocol (even: TCP, odd: UDP), then one reply
// datagram (request seq 1). Nothing may crash, hang or read out of bounds; the parser keeps
// its invariants and the source reports only records it can stand behind.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "agent/collectors/network/sock_diag_source.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_socket_table.h"
#include "agent/platform/linux/sock_diag.h"
#include "agent/platform/linux/socket_owners.h"

namespace {

using vigil::ConnectionRecord;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto protocol = (data[0] & 1) ? ConnectionRecord::Protocol::kUdp : ConnectionRecord::Protocol::kTcp;
  const std::span<const uint8_t> reply(data + 1, size - 1);

  std::vector<vigil::SocketInfo> sockets;
  vigil::sockdiag::ParseOutcome outcome;
  const vigil::Status st = vigil::sockdiag::ParseReply(reply, protocol, 1, &sockets, &outcome);
  Check(st.ok() || !st.message().empty());
  // Each socket takes at least a header and an inet_diag_msg.
  Check(sockets.size() * (16 + 72) <= reply.size());
  for (const vigil::SocketInfo& s : sockets) {
    Check(s.protocol == protocol);
    Check(s.family == 4 || s.family == 6);
    if (protocol == ConnectionRecord::Protocol::kUdp) Check(!s.bytes_known);
  }

  // The parsed sockets as the second dump of a source whose first dump held every other one.
  vigil::FakeEnv env;
  auto table = std::make_unique<vigil::FakeSocketTable>();
  vigil::FakeSocketTable* fake = table.get();
  std::vector<vigil::SocketInfo> first;
  for (size_t i = 0; i < sockets.size(); i += 2) first.push_back(sockets[i]);
  fake->Set(first);
  vigil::network::SockDiagConnectionSource source(std::move(table), env, 1000);
  Check(source.Baseline().ok());
  fake->Set(sockets);
  std::vector<ConnectionRecord> records;
  Check(source.Scan(&records).ok());
  for (const ConnectionRecord& r : records) {
    Check(r.socket_id != 0);
    Check(r.local.port != 0);
    if (r.kind == ConnectionRecord::Kind::kListen) Check(r.remote.port == 0);
    if (r.kind == ConnectionRecord::Kind::kConnect || r.kind == ConnectionRecord::Kind::kAccept) Check(!r.bytes_known);
  }

  // Socket links as /proc shows them.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const uint64_t inode = vigil::ParseSocketLink(text);
  if (inode != 0) Check(text.starts_with("socket:[") && text.ends_with("]"));
  return 0;
}
