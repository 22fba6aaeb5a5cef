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

std::vector<uint8_t> Message(const proc_event& ev, size_t event_bytes = sizeof(proc_event),
                             uint32_t idx = CN_IDX_PROC, uint16_t type = NLMSG_DONE) {
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

}  // namespace
}  // namespace vigil
