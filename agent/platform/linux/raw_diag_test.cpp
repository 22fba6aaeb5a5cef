#include "agent/platform/linux/raw_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::rawdiag {
namespace {

using Family = RawSocketInfo::Family;
using Type = RawSocketInfo::Type;

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// Recorded from Linux 6.18 (x86-64): the reply to BuildPacketRequest(5) with an AF_PACKET
// SOCK_RAW socket for ETH_P_ALL (inode 1344608) and a SOCK_DGRAM one for ARP (inode
// 1344609) open, both created by root: two SOCK_DIAG_BY_FAMILY messages (packet_diag_msg,
// PACKET_DIAG_INFO, PACKET_DIAG_UID) and NLMSG_DONE.
constexpr std::string_view kPacketReply =
    "440000001400020005000000c40e000011030300608414004d01000000000000"
    "1c0000000000000000000000000000000000000000000000010000000800050000000000"
    "440000001400020005000000c40e000011020608618414004e01000000000000"
    "1c0000000000000000000000000000000000000000000000010000000800050000000000"
    "140000000300020005000000c40e000000000000";

// Recorded from the same kernel (built without CONFIG_INET_RAW_DIAG): the reply to
// BuildRawRequest(4, 6): NLMSG_DONE carrying -ENOENT.
constexpr std::string_view kNoRawDiagReply = "140000000300020006000000c40e0000feffffff";

TEST(RawDiagParse, ReadsRecordedPacketSockets) {
  std::vector<RawSocketInfo> out;
  sockdiag::ParseOutcome outcome;
  ASSERT_TRUE(ParseReply(Hex(kPacketReply), DumpKind::kPacket, 5, &out, &outcome).ok());
  EXPECT_TRUE(outcome.done);
  EXPECT_FALSE(outcome.interrupted);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].family, Family::kPacket);
  EXPECT_EQ(out[0].type, Type::kRaw);
  EXPECT_EQ(out[0].protocol, 3);  // ETH_P_ALL
  EXPECT_EQ(out[0].inode, 1344608u);
  EXPECT_EQ(out[0].uid, 0);
  EXPECT_EQ(out[1].type, Type::kDgram);
  EXPECT_EQ(out[1].protocol, 0x0806);  // ARP
  EXPECT_EQ(out[1].inode, 1344609u);
}

TEST(RawDiagParse, AKernelWithoutRawDiagIsUnavailable) {
  std::vector<RawSocketInfo> out;
  sockdiag::ParseOutcome outcome;
  Status st = ParseReply(Hex(kNoRawDiagReply), DumpKind::kRawIp, 6, &out, &outcome);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  EXPECT_TRUE(outcome.done);
  EXPECT_TRUE(out.empty());
}

// A raw_diag message as the kernel builds it (inet_sk_diag_fill): inet_diag_msg whose sport
// is the protocol, then INET_DIAG_PROTOCOL (u8) for SOCK_RAW sockets.
std::vector<uint8_t> RawMessage(uint8_t family, uint16_t sport, int protocol_attr, uint32_t inode, uint32_t uid,
                                uint32_t seq) {
  inet_diag_msg msg{};
  msg.idiag_family = family;
  msg.idiag_state = 7;
  msg.id.idiag_sport = htons(sport);
  msg.idiag_inode = inode;
  msg.idiag_uid = uid;
  std::vector<uint8_t> payload(sizeof(msg));
  std::memcpy(payload.data(), &msg, sizeof(msg));
  if (protocol_attr >= 0) {
    rtattr rta{};
    rta.rta_len = RTA_LENGTH(1);
    rta.rta_type = INET_DIAG_PROTOCOL;
    const size_t at = payload.size();
    payload.resize(at + RTA_SPACE(1));
    std::memcpy(payload.data() + at, &rta, sizeof(rta));
    payload[at + RTA_LENGTH(0)] = static_cast<uint8_t>(protocol_attr);
  }
  nlmsghdr nh{};
  nh.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + payload.size());
  nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nh.nlmsg_flags = NLM_F_MULTI;
  nh.nlmsg_seq = seq;
  std::vector<uint8_t> out(NLMSG_HDRLEN);
  std::memcpy(out.data(), &nh, sizeof(nh));
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(NLMSG_ALIGN(out.size()));
  return out;
}

TEST(RawDiagParse, ReadsRawIpSocketsWithTheirProtocol) {
  std::vector<uint8_t> reply = RawMessage(AF_INET, 6, 6, 700, 0, 9);
  const std::vector<uint8_t> v6 = RawMessage(AF_INET6, 58, 58, 701, 1000, 9);
  reply.insert(reply.end(), v6.begin(), v6.end());
  const std::vector<uint8_t> old_kernel = RawMessage(AF_INET, 1, -1, 702, 0, 9);  // no attribute: sport
  reply.insert(reply.end(), old_kernel.begin(), old_kernel.end());
  const std::vector<uint8_t> other_request = RawMessage(AF_INET, 17, 17, 703, 0, 8);
  reply.insert(reply.end(), other_request.begin(), other_request.end());
  std::vector<RawSocketInfo> out;
  sockdiag::ParseOutcome outcome;
  ASSERT_TRUE(ParseReply(reply, DumpKind::kRawIp, 9, &out, &outcome).ok());
  EXPECT_FALSE(outcome.done);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].family, Family::kIpv4);
  EXPECT_EQ(out[0].type, Type::kRaw);
  EXPECT_EQ(out[0].protocol, 6);
  EXPECT_EQ(out[0].inode, 700u);
  EXPECT_EQ(out[1].family, Family::kIpv6);
  EXPECT_EQ(out[1].protocol, 58);
  EXPECT_EQ(out[1].uid, 1000);
  EXPECT_EQ(out[2].protocol, 1);
  EXPECT_EQ(out[2].inode, 702u);
}

TEST(RawDiagParse, MalformedRepliesNameTheOffsetAndKeepWhatCameBefore) {
  std::vector<uint8_t> reply = Hex(kPacketReply);
  reply.resize(0x44 + 20);  // the second message cut short
  std::vector<RawSocketInfo> out;
  sockdiag::ParseOutcome outcome;
  Status st = ParseReply(reply, DumpKind::kPacket, 5, &out, &outcome);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("offset 68"), std::string::npos) << st.ToString();
  EXPECT_EQ(out.size(), 1u);

  // A packet message read as a raw IP one: too short for inet_diag_msg.
  out.clear();
  st = ParseReply(Hex(kPacketReply), DumpKind::kRawIp, 5, &out, &outcome);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("inet_diag_msg"), std::string::npos) << st.ToString();

  // An attribute longer than its message.
  std::vector<uint8_t> bad = RawMessage(AF_INET, 6, 6, 700, 0, 9);
  bad[NLMSG_HDRLEN + sizeof(inet_diag_msg)] = 0xff;
  out.clear();
  st = ParseReply(bad, DumpKind::kRawIp, 9, &out, &outcome);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());
}

TEST(RawDiagRequest, AsksForRawAndPacketDumps) {
  const std::vector<uint8_t> raw = BuildRawRequest(6, 11);
  ASSERT_EQ(raw.size(), NLMSG_HDRLEN + sizeof(inet_diag_req_raw));
  nlmsghdr nh;
  std::memcpy(&nh, raw.data(), sizeof(nh));
  EXPECT_EQ(nh.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(nh.nlmsg_seq, 11u);
  inet_diag_req_raw req;
  std::memcpy(&req, raw.data() + NLMSG_HDRLEN, sizeof(req));
  EXPECT_EQ(req.sdiag_family, AF_INET6);
  EXPECT_EQ(req.sdiag_protocol, IPPROTO_RAW);
  EXPECT_EQ(req.idiag_states, ~0u);

  const std::vector<uint8_t> packet = BuildPacketRequest(12);
  ASSERT_EQ(packet.size(), NLMSG_HDRLEN + sizeof(packet_diag_req));
  packet_diag_req preq;
  std::memcpy(&preq, packet.data() + NLMSG_HDRLEN, sizeof(preq));
  EXPECT_EQ(preq.sdiag_family, AF_PACKET);
  EXPECT_EQ(preq.pdiag_show & PACKET_SHOW_INFO, static_cast<uint32_t>(PACKET_SHOW_INFO));
}

// Recorded from /proc/net/raw, raw6 and packet with a raw TCP, a raw ICMPv6 and an EAPOL
// packet socket open.
TEST(ProcNetRaw, ReadsRawAndPacketSocketLines) {
  const std::string raw =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer "
      "drops\n"
      "  59: 00000000:0006 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1344053 2 "
      "0000000014e54552 0\n"
      "garbage line\n";
  const std::string raw6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "   24: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 00000000:00000000 "
      "00:00000000 00000000  1000        0 1344054 2 0000000065e64f00 0\n";
  const std::string packet =
      "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
      "000000000c4c9094 3      2    888e   0     1 0      0      1344055\n";
  std::vector<RawSocketInfo> out;
  size_t skipped = 0;
  ParseProcNetRaw(raw, Family::kIpv4, &out, &skipped);
  ParseProcNetRaw(raw6, Family::kIpv6, &out, &skipped);
  ParseProcNetPacket(packet, &out, &skipped);
  EXPECT_EQ(skipped, 1u);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].family, Family::kIpv4);
  EXPECT_EQ(out[0].protocol, 6);
  EXPECT_EQ(out[0].inode, 1344053u);
  EXPECT_EQ(out[0].uid, 0);
  EXPECT_EQ(out[1].family, Family::kIpv6);
  EXPECT_EQ(out[1].protocol, 58);
  EXPECT_EQ(out[1].uid, 1000);
  EXPECT_EQ(out[2].family, Family::kPacket);
  EXPECT_EQ(out[2].type, Type::kDgram);
  EXPECT_EQ(out[2].protocol, 0x888e);
  EXPECT_EQ(out[2].inode, 1344055u);
}

}  // namespace
}  // namespace vigil::rawdiag
