#include "agent/platform/linux/sock_diag.h"
#include "agent/platform/socket_address.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::sockdiag {
namespace {

using Protocol = ConnectionRecord::Protocol;
constexpr uint32_t kSeq = 7;

void Append(std::vector<uint8_t>* out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out->insert(out->end(), b, b + n);
  out->resize(NLMSG_ALIGN(out->size()));
}

// One netlink message: header (length filled in) + payload.
std::vector<uint8_t> Message(uint16_t type, const std::vector<uint8_t>& payload, uint32_t seq = kSeq,
                             uint16_t flags = NLM_F_MULTI) {
  nlmsghdr nh{};
  nh.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + payload.size());
  nh.nlmsg_type = type;
  nh.nlmsg_flags = flags;
  nh.nlmsg_seq = seq;
  std::vector<uint8_t> out;
  Append(&out, &nh, sizeof(nh));
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(NLMSG_ALIGN(out.size()));
  return out;
}

struct SocketSpec {
  uint8_t family = AF_INET;
  uint8_t state = 1;
  std::vector<uint8_t> src = {127, 0, 0, 1};
  std::vector<uint8_t> dst = {192, 0, 2, 7};
  uint16_t sport = 40000;
  uint16_t dport = 443;
  uint32_t uid = 1000;
  uint32_t inode = 4242;
  uint32_t cookie[2] = {0x11, 0x22};
  int tcp_info_len = -1;  // < 0: no INET_DIAG_INFO attribute
  uint64_t acked = 0;
  uint64_t received = 0;
};

std::vector<uint8_t> SocketPayload(const SocketSpec& s) {
  inet_diag_msg m{};
  m.idiag_family = s.family;
  m.idiag_state = s.state;
  m.id.idiag_sport = htons(s.sport);
  m.id.idiag_dport = htons(s.dport);
  std::memcpy(m.id.idiag_src, s.src.data(), s.src.size());
  std::memcpy(m.id.idiag_dst, s.dst.data(), s.dst.size());
  m.id.idiag_cookie[0] = s.cookie[0];
  m.id.idiag_cookie[1] = s.cookie[1];
  m.idiag_uid = s.uid;
  m.idiag_inode = s.inode;
  std::vector<uint8_t> out;
  Append(&out, &m, sizeof(m));
  if (s.tcp_info_len >= 0) {
    std::vector<uint8_t> info(static_cast<size_t>(s.tcp_info_len));
    if (info.size() >= offsetof(tcp_info, tcpi_bytes_received) + 8) {
      std::memcpy(info.data() + offsetof(tcp_info, tcpi_bytes_acked), &s.acked, 8);
      std::memcpy(info.data() + offsetof(tcp_info, tcpi_bytes_received), &s.received, 8);
    }
    rtattr rta{};
    rta.rta_len = static_cast<unsigned short>(RTA_LENGTH(info.size()));
    rta.rta_type = INET_DIAG_INFO;
    Append(&out, &rta, sizeof(rta));
    out.insert(out.end(), info.begin(), info.end());
    out.resize(NLMSG_ALIGN(out.size()));
  }
  return out;
}

std::vector<uint8_t> Done(int error = 0) {
  std::vector<uint8_t> p(sizeof(int));
  std::memcpy(p.data(), &error, sizeof(int));
  return Message(NLMSG_DONE, p);
}

std::vector<uint8_t> Error(int error) {
  nlmsgerr e{};
  e.error = error;
  std::vector<uint8_t> p(sizeof(e));
  std::memcpy(p.data(), &e, sizeof(e));
  return Message(NLMSG_ERROR, p);
}

std::vector<uint8_t> Concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Status Parse(const std::vector<uint8_t>& data, std::vector<SocketInfo>* out, ParseOutcome* outcome,
             Protocol protocol = Protocol::kTcp) {
  return ParseReply(std::span<const uint8_t>(data.data(), data.size()), protocol, kSeq, out, outcome);
}

TEST(SockDiagParse, ReadsAnIpv4TcpSocketWithItsByteCounters) {
  SocketSpec spec;
  spec.tcp_info_len = sizeof(tcp_info);
  spec.acked = 1234;
  spec.received = 5678;
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(Parse(Concat({Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec)), Done()}), &out, &outcome).ok());
  EXPECT_TRUE(outcome.done);
  EXPECT_FALSE(outcome.interrupted);
  ASSERT_EQ(out.size(), 1u);
  const SocketInfo& s = out[0];
  EXPECT_EQ(s.protocol, Protocol::kTcp);
  EXPECT_EQ(s.family, 4);
  EXPECT_EQ(s.state, SocketState::kEstablished);
  EXPECT_EQ(s.local.port, 40000);
  EXPECT_EQ(s.remote.port, 443);
  EXPECT_EQ(s.local.addr[0], 127);
  EXPECT_EQ(s.local.addr[3], 1);
  EXPECT_EQ(s.local.addr[4], 0);  // only the first 4 bytes of an IPv4 address
  EXPECT_EQ(s.remote.addr[0], 192);
  EXPECT_EQ(s.remote.addr[3], 7);
  EXPECT_EQ(s.uid, 1000);
  EXPECT_EQ(s.inode, 4242u);
  EXPECT_EQ(s.cookie, 0x11u | (uint64_t{0x22} << 32));
  EXPECT_TRUE(s.bytes_known);
  EXPECT_EQ(s.bytes_out, 1234u);
  EXPECT_EQ(s.bytes_in, 5678u);
}

TEST(SockDiagParse, ReadsIpv6AndUdpSocketsAcrossMessages) {
  SocketSpec a;
  a.family = AF_INET6;
  a.src = std::vector<uint8_t>(16, 0);
  a.src[15] = 1;
  a.dst = std::vector<uint8_t>(16, 0);
  a.state = 7;
  a.dport = 0;
  a.sport = 53;
  SocketSpec b = a;
  b.inode = 99;
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(
      Parse(Concat({Message(SOCK_DIAG_BY_FAMILY, SocketPayload(a)), Message(SOCK_DIAG_BY_FAMILY, SocketPayload(b))}),
            &out, &outcome, Protocol::kUdp)
          .ok());
  EXPECT_FALSE(outcome.done);  // more datagrams follow
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].protocol, Protocol::kUdp);
  EXPECT_EQ(out[0].family, 6);
  EXPECT_EQ(out[0].state, SocketState::kClose);
  EXPECT_EQ(out[0].local.addr[15], 1);
  EXPECT_EQ(out[0].local.port, 53);
  EXPECT_FALSE(out[0].bytes_known);
  EXPECT_EQ(out[1].inode, 99u);
}

TEST(SockDiagParse, AShortTcpInfoLeavesBytesUnknown) {
  SocketSpec spec;
  spec.tcp_info_len = 104;  // a kernel older than 4.1: no byte counters
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(Parse(Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec)), &out, &outcome).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].bytes_known);
}

TEST(SockDiagParse, UdpSocketsHaveNoByteCountersEvenWithAnInfoAttribute) {
  SocketSpec spec;
  spec.tcp_info_len = sizeof(tcp_info);
  spec.acked = 5;
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(Parse(Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec)), &out, &outcome, Protocol::kUdp).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].bytes_known);
}

TEST(SockDiagParse, SkipsMessagesOfAnotherRequestAndOtherTypes) {
  SocketSpec spec;
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(Parse(Concat({Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec), kSeq + 1), Message(NLMSG_NOOP, {}),
                            Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec))}),
                    &out, &outcome)
                  .ok());
  EXPECT_EQ(out.size(), 1u);
}

TEST(SockDiagParse, ReportsAnInterruptedDump) {
  SocketSpec spec;
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(
      Parse(Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec), kSeq, NLM_F_MULTI | NLM_F_DUMP_INTR), &out, &outcome)
          .ok());
  EXPECT_TRUE(outcome.interrupted);
}

TEST(SockDiagParse, KernelErrorsBecomeStatuses) {
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  Status st = Parse(Error(-ENOENT), &out, &outcome);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  EXPECT_TRUE(outcome.done);
  outcome = {};
  EXPECT_EQ(Parse(Error(-EPERM), &out, &outcome).code(), Status::Code::kPermissionDenied);
  outcome = {};
  EXPECT_EQ(Parse(Error(-ENOMEM), &out, &outcome).code(), Status::Code::kIoError);
  outcome = {};
  EXPECT_EQ(Parse(Done(-EINTR), &out, &outcome).code(), Status::Code::kIoError);
  outcome = {};
  EXPECT_TRUE(Parse(Error(0), &out, &outcome).ok());  // an acknowledgement
  EXPECT_FALSE(outcome.done);
  EXPECT_TRUE(out.empty());
}

TEST(SockDiagParse, DoneWithoutPayloadEndsTheDump) {
  std::vector<SocketInfo> out;
  ParseOutcome outcome;
  ASSERT_TRUE(Parse(Message(NLMSG_DONE, {}), &out, &outcome).ok());
  EXPECT_TRUE(outcome.done);
}

TEST(SockDiagParse, MalformedRepliesNameTheOffsetAndKeepWhatCameBefore) {
  SocketSpec spec;
  const std::vector<uint8_t> good = Message(SOCK_DIAG_BY_FAMILY, SocketPayload(spec));
  struct Case {
    const char* name;
    std::vector<uint8_t> tail;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated header", {1, 2, 3}, "less than a netlink header"});
  {
    auto m = good;
    uint32_t len = static_cast<uint32_t>(m.size() + 100);
    std::memcpy(m.data(), &len, 4);
    cases.push_back({"length beyond the datagram", m, "outside the datagram"});
  }
  {
    auto m = good;
    uint32_t len = 8;
    std::memcpy(m.data(), &len, 4);
    cases.push_back({"length below a header", m, "outside the datagram"});
  }
  cases.push_back(
      {"short inet_diag_msg", Message(SOCK_DIAG_BY_FAMILY, std::vector<uint8_t>(20, 0)), "inet_diag_msg needs"});
  {
    SocketSpec bad = spec;
    bad.family = 99;
    cases.push_back({"unknown family", Message(SOCK_DIAG_BY_FAMILY, SocketPayload(bad)), "address family 99"});
  }
  {
    SocketSpec with_info = spec;
    with_info.tcp_info_len = 8;
    auto payload = SocketPayload(with_info);
    rtattr rta{};
    rta.rta_len = 200;  // beyond the message
    rta.rta_type = INET_DIAG_INFO;
    std::memcpy(payload.data() + NLMSG_ALIGN(sizeof(inet_diag_msg)), &rta, sizeof(rta));
    cases.push_back({"attribute overrun", Message(SOCK_DIAG_BY_FAMILY, payload), "attribute length 200"});
  }
  {
    auto payload = SocketPayload(spec);
    rtattr rta{};
    rta.rta_len = 2;  // shorter than its own header
    Append(&payload, &rta, sizeof(rta));
    cases.push_back({"attribute too short", Message(SOCK_DIAG_BY_FAMILY, payload), "attribute length 2"});
  }
  cases.push_back({"error without a code", Message(NLMSG_ERROR, {1, 2}), "without an error code"});
  for (const Case& c : cases) {
    std::vector<SocketInfo> out;
    ParseOutcome outcome;
    Status st = Parse(Concat({good, c.tail}), &out, &outcome);
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << c.name << ": " << st.ToString();
    // The offset named is that of the bad message or of the bad part inside it.
    const std::string msg(st.message());
    const size_t at = msg.find("offset ");
    ASSERT_NE(at, std::string::npos) << c.name << ": " << msg;
    const size_t offset = std::stoul(msg.substr(at + 7));
    EXPECT_GE(offset, good.size()) << c.name << ": " << msg;
    EXPECT_LT(offset, good.size() + c.tail.size()) << c.name << ": " << msg;
    EXPECT_NE(st.message().find(c.expect), std::string_view::npos) << c.name << ": " << st.ToString();
    EXPECT_EQ(out.size(), 1u) << c.name << ": the socket before the bad message is kept";
  }
}

TEST(SockDiagRequest, AsksForTheFamilyProtocolStatesAndTcpInfo) {
  const std::vector<uint8_t> req = BuildRequest(6, Protocol::kTcp, 0x400, true, 42);
  ASSERT_EQ(req.size(), NLMSG_HDRLEN + sizeof(inet_diag_req_v2));
  nlmsghdr nh;
  std::memcpy(&nh, req.data(), sizeof(nh));
  EXPECT_EQ(nh.nlmsg_len, req.size());
  EXPECT_EQ(nh.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(nh.nlmsg_seq, 42u);
  inet_diag_req_v2 r;
  std::memcpy(&r, req.data() + NLMSG_HDRLEN, sizeof(r));
  EXPECT_EQ(r.sdiag_family, AF_INET6);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(r.idiag_states, 0x400u);
  EXPECT_EQ(r.idiag_ext, 1 << (INET_DIAG_INFO - 1));

  const std::vector<uint8_t> udp = BuildRequest(4, Protocol::kUdp, ~0u, false, 1);
  std::memcpy(&r, udp.data() + NLMSG_HDRLEN, sizeof(r));
  EXPECT_EQ(r.sdiag_family, AF_INET);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_UDP);
  EXPECT_EQ(r.idiag_ext, 0);
}

TEST(SocketAddress, FormatsIpv4Ipv6AndMappedAddresses) {
  std::array<uint8_t, 16> a{};
  a[0] = 192;
  a[3] = 7;
  EXPECT_EQ(FormatSocketAddress(4, a), "192.0.0.7");
  std::array<uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  EXPECT_EQ(FormatSocketAddress(6, v6), "2001:db8::1");
  std::array<uint8_t, 16> mapped{};
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 127;
  mapped[15] = 1;
  EXPECT_EQ(FormatSocketAddress(6, mapped), "127.0.0.1");
  EXPECT_TRUE(IsLoopbackAddress(6, mapped));
  std::array<uint8_t, 16> one{};
  one[15] = 1;
  EXPECT_EQ(FormatSocketAddress(6, one), "::1");
  EXPECT_TRUE(IsLoopbackAddress(6, one));
  EXPECT_FALSE(IsLoopbackAddress(6, v6));
  EXPECT_FALSE(IsLoopbackAddress(4, a));
  std::array<uint8_t, 16> lo{127, 1, 2, 3};
  EXPECT_TRUE(IsLoopbackAddress(4, lo));
  EXPECT_EQ(FormatSocketAddress(6, std::array<uint8_t, 16>{}), "::");
  EXPECT_TRUE(IsUnspecifiedAddress(std::array<uint8_t, 16>{}));
  EXPECT_FALSE(IsUnspecifiedAddress(one));
}

}  // namespace
}  // namespace vigil::sockdiag
