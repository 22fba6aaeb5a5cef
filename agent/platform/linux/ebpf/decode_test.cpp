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

namespace vigil::ebpf {
namespace {

// An exec record as proc.bpf.c writes it: the header, then the strings back to back.
std::vector<uint8_t> ExecRecord(const std::string& filename, const std::string& args, const std::string& exe,
                                const std::string& cwd, uint8_t flags = 0) {
  vigil_proc_rec r{};
  r.type = VIGIL_REC_PROC;
  r.kind = VIGIL_PROC_EXEC;
  r.flags = flags;
  r.pid = 300;
  r.ppid = 1;
  r.uid = 1000;
  r.euid = 0;
  r.exit_status = -1;
  r.ts_ns = 99;
  r.filename_len = static_cast<uint16_t>(filename.size());
  r.args_len = static_cast<uint16_t>(args.size());
  r.exe_len = static_cast<uint16_t>(exe.size());
  r.cwd_len = static_cast<uint16_t>(cwd.size());
  r.size = static_cast<uint16_t>(sizeof(r) + filename.size() + args.size() + exe.size() + cwd.size());
  std::memcpy(r.comm, "sudo", 4);
  std::vector<uint8_t> b(sizeof(r));
  std::memcpy(b.data(), &r, sizeof(r));
  for (const std::string* s : {&filename, &args, &exe, &cwd}) b.insert(b.end(), s->begin(), s->end());
  return b;
}

std::vector<uint8_t> PlainRecord(uint8_t kind, int32_t exit_status = -1) {
  vigil_proc_rec r{};
  r.type = VIGIL_REC_PROC;
  r.size = sizeof(r);
  r.kind = kind;
  r.pid = 301;
  r.ppid = 300;
  r.uid = 5;
  r.euid = 6;
  r.exit_status = exit_status;
  std::memcpy(r.comm, "worker", 6);
  std::vector<uint8_t> b(sizeof(r));
  std::memcpy(b.data(), &r, sizeof(r));
  return b;
}

TEST(EbpfProcDecode, ExecCarriesItsStrings) {
  const std::string args("sudo\0-u\0bob\0id\0", 15);
  Result<ProcEvent> ev = DecodeProcRecord(ExecRecord("/usr/bin/sudo", args, "/usr/bin/sudo", "/home/bob"));
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->kind, ProcEvent::Kind::kExec);
  EXPECT_TRUE(ev->from_kernel);
  EXPECT_EQ(ev->pid, 300);
  EXPECT_EQ(ev->ppid, 1);
  EXPECT_EQ(ev->ruid, 1000u);
  EXPECT_EQ(ev->euid, 0u);
  EXPECT_EQ(ev->exit_status, -1);
  EXPECT_EQ(ev->ts_ns, 99u);
  EXPECT_EQ(ev->comm, "sudo");
  EXPECT_EQ(ev->filename, "/usr/bin/sudo");
  EXPECT_EQ(ev->args, args);
  EXPECT_EQ(ev->exe, "/usr/bin/sudo");
  EXPECT_EQ(ev->cwd, "/home/bob");
  EXPECT_FALSE(ev->args_truncated || ev->filename_truncated || ev->exe_truncated || ev->cwd_truncated);
}

TEST(EbpfProcDecode, TruncationFlagsAndMissingStrings) {
  Result<ProcEvent> ev = DecodeProcRecord(
      ExecRecord("./a", std::string(4096, 'x'), "", "/deep/part",
                 VIGIL_PROC_F_ARGS_TRUNCATED | VIGIL_PROC_F_CWD_TRUNCATED | VIGIL_PROC_F_EXE_TRUNCATED));
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->args.size(), 4096u);
  EXPECT_TRUE(ev->args_truncated);
  EXPECT_TRUE(ev->cwd_truncated);
  EXPECT_TRUE(ev->exe_truncated);
  EXPECT_FALSE(ev->filename_truncated);
  EXPECT_EQ(ev->exe, "");
  EXPECT_EQ(ev->cwd, "/deep/part");
}

TEST(EbpfProcDecode, ForkAndExit) {
  Result<ProcEvent> fork = DecodeProcRecord(PlainRecord(VIGIL_PROC_FORK));
  ASSERT_TRUE(fork.ok());
  EXPECT_EQ(fork->kind, ProcEvent::Kind::kFork);
  EXPECT_EQ(fork->pid, 301);
  EXPECT_EQ(fork->ppid, 300);
  EXPECT_EQ(fork->exit_status, -1);
  EXPECT_EQ(fork->comm, "worker");
  EXPECT_EQ(fork->ruid, 5u);
  EXPECT_EQ(fork->euid, 6u);

  Result<ProcEvent> exit = DecodeProcRecord(PlainRecord(VIGIL_PROC_EXIT, 9));  // killed by SIGKILL
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->kind, ProcEvent::Kind::kExit);
  EXPECT_EQ(exit->exit_status, 9);
  // A status in a record of another kind is not passed on.
  Result<ProcEvent> odd = DecodeProcRecord(PlainRecord(VIGIL_PROC_FORK, 256));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->exit_status, -1);
}

TEST(EbpfProcDecode, UnknownParentIsMinusOne) {
  std::vector<uint8_t> b = PlainRecord(VIGIL_PROC_EXIT, 0);
  const uint32_t zero = 0;
  std::memcpy(b.data() + offsetof(vigil_proc_rec, ppid), &zero, 4);
  Result<ProcEvent> ev = DecodeProcRecord(b);
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->ppid, -1);
}

TEST(EbpfProcDecode, RefusesMalformedRecords) {
  const std::vector<uint8_t> good = ExecRecord("/bin/ls", std::string("ls\0", 3), "/usr/bin/ls", "/");
  ASSERT_TRUE(DecodeProcRecord(good).ok());

  EXPECT_FALSE(DecodeProcRecord({}).ok());
  EXPECT_FALSE(DecodeProcRecord(std::span(good).first(sizeof(vigil_proc_rec) - 1)).ok());
  // Cut inside the strings: the lengths promise more than there is.
  Result<ProcEvent> cut = DecodeProcRecord(std::span(good).first(good.size() - 1));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("size"), std::string_view::npos);
  std::vector<uint8_t> longer = good;
  longer.push_back('x');
  EXPECT_FALSE(DecodeProcRecord(longer).ok());

  auto with = [&](size_t offset, auto value) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + offset, &value, sizeof(value));
    return DecodeProcRecord(b);
  };
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, type), uint16_t{VIGIL_REC_CONN}).ok());
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, size), uint16_t{64}).ok());
  Result<ProcEvent> bad_kind = with(offsetof(vigil_proc_rec, kind), uint8_t{3});
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.status().message().find("kind 3"), std::string_view::npos);
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, pid), uint32_t{0}).ok());
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, pid), uint32_t{0x80000000u}).ok());
  Result<ProcEvent> long_args = with(offsetof(vigil_proc_rec, args_len), uint16_t{VIGIL_PROC_ARGS_MAX + 1});
  ASSERT_FALSE(long_args.ok());
  EXPECT_NE(long_args.status().message().find("args_len"), std::string_view::npos);
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, filename_len), uint16_t{VIGIL_PROC_FILENAME_MAX + 1}).ok());
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, exe_len), uint16_t{VIGIL_PROC_PATH_MAX + 1}).ok());
  EXPECT_FALSE(with(offsetof(vigil_proc_rec, cwd_len), uint16_t{VIGIL_PROC_PATH_MAX + 1}).ok());
  // Strings in a fork record.
  std::vector<uint8_t> fork_with_strings = good;
  fork_with_strings[offsetof(vigil_proc_rec, kind)] = VIGIL_PROC_FORK;
  Result<ProcEvent> fws = DecodeProcRecord(fork_with_strings);
  ASSERT_FALSE(fws.ok());
  EXPECT_NE(fws.status().message().find("strings"), std::string_view::npos);
}

}  // namespace
}  // namespace vigil::ebpf
