// The ring-buffer record decoder, on records built as the kernel programs write them (no
// kernel, no root).
#include "agent/platform/linux/ebpf/decode.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/linux/ebpf/records.h"

namespace vigil::ebpf {
namespace {

std::vector<uint8_t> Bytes(const vigil_conn_rec& r) {
  std::vector<uint8_t> b(sizeof(r));
  std::memcpy(b.data(), &r, sizeof(r));
  return b;
}

vigil_conn_rec TcpConnect() {
  vigil_conn_rec r{};
  r.type = VIGIL_REC_CONN;
  r.size = sizeof(r);
  r.kind = VIGIL_CONN_CONNECT;
  r.protocol = 6;
  r.family = 4;
  r.flags = VIGIL_CONN_F_OWNER | VIGIL_CONN_F_HAS_REMOTE;
  r.pid = 4242;
  r.uid = 1000;
  r.ts_ns = 123456789;
  r.socket_id = 0xfeedface12345678ULL;
  const uint32_t local = htonl(0x0a000001), remote = htonl(0x5db8d822);  // 10.0.0.1, 93.184.216.34
  std::memcpy(r.local_addr, &local, 4);
  std::memcpy(r.remote_addr, &remote, 4);
  r.local_port = 40000;
  r.remote_port = 443;
  std::memcpy(r.comm, "curl", 4);
  return r;
}

TEST(EbpfConnDecode, TcpConnectWithOwner) {
  Result<ConnectionRecord> rec = DecodeConnectionRecord(Bytes(TcpConnect()));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->kind, ConnectionRecord::Kind::kConnect);
  EXPECT_EQ(rec->protocol, ConnectionRecord::Protocol::kTcp);
  EXPECT_EQ(rec->family, 4);
  EXPECT_EQ(rec->pid, 4242);
  EXPECT_EQ(rec->uid, 1000);
  EXPECT_EQ(rec->comm, "curl");
  EXPECT_EQ(rec->local.port, 40000);
  EXPECT_EQ(rec->remote.port, 443);
  const std::array<uint8_t, 16> local{10, 0, 0, 1}, remote{93, 184, 216, 34};
  EXPECT_EQ(rec->local.addr, local);
  EXPECT_EQ(rec->remote.addr, remote);
  EXPECT_EQ(rec->socket_id, 0xfeedface12345678ULL);
  EXPECT_EQ(rec->ts_ns, 123456789u);
  EXPECT_FALSE(rec->bytes_known);
}

TEST(EbpfConnDecode, CloseCarriesBytesOnlyWhenFlagged) {
  vigil_conn_rec r = TcpConnect();
  r.kind = VIGIL_CONN_CLOSE;
  r.bytes_in = 10;
  r.bytes_out = 20;
  Result<ConnectionRecord> no_bytes = DecodeConnectionRecord(Bytes(r));
  ASSERT_TRUE(no_bytes.ok());
  EXPECT_EQ(no_bytes->kind, ConnectionRecord::Kind::kClose);
  EXPECT_FALSE(no_bytes->bytes_known);
  EXPECT_EQ(no_bytes->bytes_in, 0u);

  r.flags |= VIGIL_CONN_F_BYTES;
  Result<ConnectionRecord> with_bytes = DecodeConnectionRecord(Bytes(r));
  ASSERT_TRUE(with_bytes.ok());
  EXPECT_TRUE(with_bytes->bytes_known);
  EXPECT_EQ(with_bytes->bytes_in, 10u);
  EXPECT_EQ(with_bytes->bytes_out, 20u);
}

TEST(EbpfConnDecode, NoOwnerLeavesPidUnknown) {
  vigil_conn_rec r = TcpConnect();
  r.kind = VIGIL_CONN_ACCEPT;
  r.flags = VIGIL_CONN_F_HAS_REMOTE;  // an accept seen before accept(2): no process
  Result<ConnectionRecord> rec = DecodeConnectionRecord(Bytes(r));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->kind, ConnectionRecord::Kind::kAccept);
  EXPECT_EQ(rec->pid, -1);
  EXPECT_EQ(rec->uid, -1);
  EXPECT_EQ(rec->comm, "");
}

TEST(EbpfConnDecode, UdpIpv6ListenHasNoRemote) {
  vigil_conn_rec r{};
  r.type = VIGIL_REC_CONN;
  r.size = sizeof(r);
  r.kind = VIGIL_CONN_LISTEN;
  r.protocol = 17;
  r.family = 6;
  r.flags = VIGIL_CONN_F_OWNER;
  r.pid = 7;
  r.local_addr[15] = 1;  // ::1
  r.local_port = 5353;
  r.remote_addr[0] = 0xff;  // garbage without VIGIL_CONN_F_HAS_REMOTE
  r.remote_port = 99;
  std::memcpy(r.comm, "0123456789abcdef", 16);  // 16 bytes, no NUL
  Result<ConnectionRecord> rec = DecodeConnectionRecord(Bytes(r));
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->protocol, ConnectionRecord::Protocol::kUdp);
  EXPECT_EQ(rec->family, 6);
  EXPECT_EQ(rec->local.addr[15], 1);
  EXPECT_EQ(rec->local.port, 5353);
  EXPECT_EQ(rec->remote.addr, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(rec->remote.port, 0);
  EXPECT_EQ(rec->comm, "0123456789abcdef");
}

TEST(EbpfConnDecode, Ipv4LeavesTheRestOfTheAddressZero) {
  vigil_conn_rec r = TcpConnect();
  std::memset(r.local_addr + 4, 0xab, 12);  // bytes past an IPv4 address are not copied
  Result<ConnectionRecord> rec = DecodeConnectionRecord(Bytes(r));
  ASSERT_TRUE(rec.ok());
  for (size_t i = 4; i < 16; ++i) EXPECT_EQ(rec->local.addr[i], 0) << i;
}

TEST(EbpfConnDecode, RefusesMalformedRecords) {
  const vigil_conn_rec good = TcpConnect();
  std::vector<uint8_t> b = Bytes(good);

  EXPECT_FALSE(DecodeConnectionRecord({}).ok());
  EXPECT_FALSE(DecodeConnectionRecord(std::span(b).first(sizeof(good) - 1)).ok());
  std::vector<uint8_t> longer = b;
  longer.push_back(0);
  EXPECT_FALSE(DecodeConnectionRecord(longer).ok());

  auto with = [&](auto mutate) {
    vigil_conn_rec r = good;
    mutate(r);
    return DecodeConnectionRecord(Bytes(r));
  };
  Result<ConnectionRecord> bad_type = with([](vigil_conn_rec& r) { r.type = VIGIL_REC_PROC; });
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad_type.status().message().find("type"), std::string_view::npos);
  EXPECT_FALSE(with([](vigil_conn_rec& r) { r.size = 100; }).ok());
  Result<ConnectionRecord> bad_kind = with([](vigil_conn_rec& r) { r.kind = 4; });
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.status().message().find("kind 4"), std::string_view::npos);
  EXPECT_FALSE(with([](vigil_conn_rec& r) { r.protocol = 1; }).ok());
  Result<ConnectionRecord> bad_family = with([](vigil_conn_rec& r) { r.family = 10; });
  ASSERT_FALSE(bad_family.ok());
  EXPECT_NE(bad_family.status().message().find("family 10"), std::string_view::npos);
}

}  // namespace
}  // namespace vigil::ebpf
