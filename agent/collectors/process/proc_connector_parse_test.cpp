// The proc connector's message parser, on hand-built datagrams laid out as the kernel sends
// them (no socket, no root).
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/linux/proc_connector.h"

namespace vigil {
namespace {

std::vector<uint8_t> Message(const proc_event& ev, size_t event_bytes = sizeof(proc_event), uint32_t idx = CN_IDX_PROC,
                             uint16_t type = NLMSG_DONE) {
  std::vector<uint8_t> buf(NLMSG_SPACE(sizeof(cn_msg) + event_bytes), 0);
  nlmsghdr nl{};
  nl.nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + event_bytes);
  nl.nlmsg_type = type;
  cn_msg cn{};
  cn.id.idx = idx;
  cn.id.val = CN_VAL_PROC;
  cn.len = static_cast<uint16_t>(event_bytes);
  std::memcpy(buf.data(), &nl, sizeof(nl));
  std::memcpy(buf.data() + NLMSG_HDRLEN, &cn, sizeof(cn));
  std::memcpy(buf.data() + NLMSG_HDRLEN + sizeof(cn), &ev, std::min(event_bytes, sizeof(ev)));
  return buf;
}

std::vector<ProcEvent> Parse(const std::vector<uint8_t>& d) {
  std::vector<ProcEvent> out;
  ParseProcConnectorDatagram(d.data(), d.size(), &out);
  return out;
}

proc_event Fork(int parent, int child_pid, int child_tgid) {
  proc_event ev{};
  ev.what = proc_event::PROC_EVENT_FORK;
  ev.event_data.fork.parent_pid = parent;
  ev.event_data.fork.parent_tgid = parent;
  ev.event_data.fork.child_pid = child_pid;
  ev.event_data.fork.child_tgid = child_tgid;
  return ev;
}

proc_event Exit(int pid, int tgid, uint32_t code, int parent) {
  proc_event ev{};
  ev.what = proc_event::PROC_EVENT_EXIT;
  ev.event_data.exit.process_pid = pid;
  ev.event_data.exit.process_tgid = tgid;
  ev.event_data.exit.exit_code = code;
  ev.event_data.exit.exit_signal = 17;
  ev.event_data.exit.parent_pid = parent;
  ev.event_data.exit.parent_tgid = parent;
  return ev;
}

TEST(ProcConnectorParse, ForkOfAProcessIsKeptAndForkOfAThreadSkipped) {
  auto out = Parse(Message(Fork(10, 11, 11)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kFork);
  EXPECT_EQ(out[0].pid, 11);
  EXPECT_EQ(out[0].ppid, 10);
  EXPECT_TRUE(Parse(Message(Fork(10, 12, 11))).empty());
}

TEST(ProcConnectorParse, ExecReportsTheThreadGroup) {
  proc_event ev{};
  ev.what = proc_event::PROC_EVENT_EXEC;
  ev.event_data.exec.process_pid = 20;
  ev.event_data.exec.process_tgid = 20;
  auto out = Parse(Message(ev));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(out[0].pid, 20);
}

TEST(ProcConnectorParse, ExitCarriesWaitStatusAndParent) {
  auto out = Parse(Message(Exit(30, 30, 5 << 8, 1)));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kExit);
  EXPECT_EQ(out[0].pid, 30);
  EXPECT_EQ(out[0].exit_status, 5 << 8);
  EXPECT_EQ(out[0].ppid, 1);
  EXPECT_TRUE(Parse(Message(Exit(31, 30, 0, 1))).empty());  // a thread, not the leader
}

TEST(ProcConnectorParse, ExitFromOlderKernelsHasNoParent) {
  // Before parent_pid/parent_tgid were added the exit payload ended after exit_signal.
  auto out = Parse(Message(Exit(30, 30, 9, 1), 16 + 16));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ppid, -1);
  EXPECT_EQ(out[0].exit_status, 9);
}

TEST(ProcConnectorParse, UidChangeCarriesTheRealUid) {
  proc_event ev{};
  ev.what = proc_event::PROC_EVENT_UID;
  ev.event_data.id.process_pid = 41;
  ev.event_data.id.process_tgid = 40;
  ev.event_data.id.r.ruid = 1000;
  ev.event_data.id.e.euid = 0;
  auto out = Parse(Message(ev));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kUid);
  EXPECT_EQ(out[0].pid, 40);
  EXPECT_EQ(out[0].ruid, 1000u);
}

TEST(ProcConnectorParse, SkipsOtherKindsForeignIdsAndBadFraming) {
  proc_event comm{};
  comm.what = proc_event::PROC_EVENT_COMM;
  EXPECT_TRUE(Parse(Message(comm)).empty());
  proc_event ack{};
  ack.what = proc_event::PROC_EVENT_NONE;
  EXPECT_TRUE(Parse(Message(ack)).empty());
  EXPECT_TRUE(Parse(Message(Fork(1, 2, 2), sizeof(proc_event), CN_IDX_CIFS)).empty());
  EXPECT_TRUE(Parse(Message(Fork(1, 2, 2), sizeof(proc_event), CN_IDX_PROC, NLMSG_ERROR)).empty());
  EXPECT_TRUE(Parse(Message(Fork(1, 2, 2), 16 + 8)).empty());  // fork payload cut short

  auto msg = Message(Fork(1, 2, 2));
  msg.resize(msg.size() - 8);  // the datagram is shorter than nlmsg_len says
  EXPECT_TRUE(Parse(msg).empty());
  EXPECT_TRUE(Parse({}).empty());
  std::vector<uint8_t> zero_len(64, 0);  // nlmsg_len 0 must not loop forever
  EXPECT_TRUE(Parse(zero_len).empty());
  EXPECT_TRUE(Parse(Message(Fork(0, 0, 0))).empty());  // no such pid
}

TEST(ProcConnectorParse, ReadsEveryMessageOfADatagram) {
  auto d = Message(Fork(10, 11, 11));
  auto e = Message(Exit(11, 11, 0, 10));
  d.insert(d.end(), e.begin(), e.end());
  auto out = Parse(d);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kFork);
  EXPECT_EQ(out[1].kind, ProcEvent::Kind::kExit);
}

TEST(ProcConnectorParse, CarriesTheKernelTimestamp) {
  proc_event ev = Fork(10, 11, 11);
  ev.timestamp_ns = 123456789012ull;
  auto out = Parse(Message(ev));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 123456789012ull);
}

ProcEvent At(ProcEvent::Kind kind, int pid, uint64_t ts) {
  ProcEvent e;
  e.kind = kind;
  e.pid = pid;
  e.ts_ns = ts;
  return e;
}

TEST(TakeProcEventsBefore, MergesBothChannelsInTimeOrderUpToTheCut) {
  using K = ProcEvent::Kind;
  std::vector<ProcEvent> execs = {At(K::kExec, 2, 20), At(K::kExec, 4, 40), At(K::kExec, 6, 60)};
  std::vector<ProcEvent> lazy = {At(K::kFork, 2, 10), At(K::kExit, 2, 30), At(K::kFork, 4, 35), At(K::kExit, 4, 50),
                                 At(K::kExit, 6, 70)};
  std::vector<ProcEvent> out;
  TakeProcEventsBefore(55, &execs, &lazy, &out);
  std::vector<uint64_t> ts;
  for (const ProcEvent& e : out) ts.push_back(e.ts_ns);
  EXPECT_EQ(ts, (std::vector<uint64_t>{10, 20, 30, 35, 40, 50}));
  ASSERT_EQ(execs.size(), 1u);  // the exec stamped after the cut waits
  EXPECT_EQ(execs[0].pid, 6);
  ASSERT_EQ(lazy.size(), 1u);
  EXPECT_EQ(lazy[0].ts_ns, 70u);

  // The next round hands on the rest, after what it already had.
  TakeProcEventsBefore(100, &execs, &lazy, &out);
  EXPECT_EQ(out.size(), 8u);
  EXPECT_EQ(out[6].kind, K::kExec);
  EXPECT_EQ(out[7].kind, K::kExit);
  EXPECT_TRUE(execs.empty());
  EXPECT_TRUE(lazy.empty());
}

TEST(TakeProcEventsBefore, KeepsEachListsOrderOnEqualTimestamps) {
  using K = ProcEvent::Kind;
  std::vector<ProcEvent> a = {At(K::kExec, 1, 5), At(K::kExec, 2, 5)};
  std::vector<ProcEvent> b = {At(K::kExit, 3, 5)};
  std::vector<ProcEvent> out;
  TakeProcEventsBefore(6, &a, &b, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].pid, 1);
  EXPECT_EQ(out[1].pid, 2);
  EXPECT_EQ(out[2].pid, 3);
}

}  // namespace
}  // namespace vigil
