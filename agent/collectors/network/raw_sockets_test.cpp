#include "agent/collectors/network/raw_sockets.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "schema/schema.h"

namespace vigil::network {
namespace {

using Family = RawSocketInfo::Family;
using Type = RawSocketInfo::Type;

// A table the test sets by hand.
class FakeRawSocketTable final : public RawSocketTable {
 public:
  std::vector<RawSocketInfo> sockets;
  Status error;
  Status Dump(std::vector<RawSocketInfo>* out) override {
    if (!error.ok()) return error;
    *out = sockets;
    return Status::Ok();
  }
  std::string source() const override { return "fake"; }
};

RawSocketInfo Raw(Family family, Type type, uint16_t protocol, uint64_t inode, int64_t uid = 0) {
  RawSocketInfo s;
  s.family = family;
  s.type = type;
  s.protocol = protocol;
  s.inode = inode;
  s.uid = uid;
  return s;
}

class RawSocketWatcherTest : public ::testing::Test {
 protected:
  RawSocketWatcherTest() {
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    AddProcess(300, "/tmp/.x/dvrHelper", "dvrHelper", {11});
    AddProcess(301, "/bin/busybox", "udhcpc", {12, 13});
    auto table = std::make_unique<FakeRawSocketTable>();
    table_ = table.get();
    watcher_ = std::make_unique<RawSocketWatcher>(std::move(table), env_, stats_, users_);
  }

  void AddProcess(int pid, const std::string& exe, const std::string& comm, const std::vector<uint64_t>& inodes) {
    const std::string dir = "/proc/" + std::to_string(pid);
    env_.SetLink(dir + "/exe", exe);
    env_.SetFile(dir + "/comm", comm + "\n");
    for (size_t i = 0; i < inodes.size(); ++i)
      env_.SetLink(dir + "/fd/" + std::to_string(3 + i), "socket:[" + std::to_string(inodes[i]) + "]");
  }

  std::vector<Event> Poll(int64_t ts = 1000) {
    std::vector<Event> out;
    EXPECT_TRUE(watcher_->Poll(ts, &out).ok());
    return out;
  }

  FakeEnv env_;
  CollectorStats stats_{"network"};
  common::UserNames users_{env_, stats_};
  FakeRawSocketTable* table_ = nullptr;
  std::unique_ptr<RawSocketWatcher> watcher_;
};

TEST_F(RawSocketWatcherTest, ReportsARawTcpSocketWithItsOwner) {
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 6, 11)};
  std::vector<Event> events = Poll(1234);
  ASSERT_EQ(events.size(), 1u);
  const Event& e = events[0];
  EXPECT_EQ(e.type, "network");
  EXPECT_EQ(e.action, "raw_socket");
  EXPECT_EQ(e.ts_ms, 1234);
  EXPECT_TRUE(e.agg_key.empty());
  const Json& d = e.data;
  EXPECT_EQ(d["pid"], 300);
  EXPECT_EQ(d["exe"], "/tmp/.x/dvrHelper");
  EXPECT_EQ(d["comm"], "dvrHelper");
  EXPECT_EQ(d["uid"], 0);
  EXPECT_EQ(d["user"], "root");
  EXPECT_EQ(d["family"], "ipv4");
  EXPECT_EQ(d["socket_type"], "raw");
  EXPECT_EQ(d["ip_protocol"], 6);
  EXPECT_FALSE(d.contains("partial"));
  EXPECT_FALSE(d.contains("local_ip"));
  EXPECT_FALSE(d.contains("protocol"));
}

TEST_F(RawSocketWatcherTest, ReportsEachSocketOnceWhileItIsOpen) {
  table_->sockets = {Raw(Family::kPacket, Type::kDgram, 0x0800, 12, 1001)};
  ASSERT_EQ(Poll().size(), 1u);
  table_->sockets.push_back(Raw(Family::kIpv6, Type::kRaw, 58, 13, 1001));
  std::vector<Event> events = Poll();
  ASSERT_EQ(events.size(), 1u);  // only the new one
  EXPECT_EQ(events[0].data["family"], "ipv6");
  EXPECT_EQ(events[0].data["ip_protocol"], 58);
  EXPECT_EQ(events[0].data["comm"], "udhcpc");
  EXPECT_EQ(events[0].data["user"], "alice");
  EXPECT_TRUE(Poll().empty());
}

TEST_F(RawSocketWatcherTest, PacketSocketsCarryTheirTypeAndEthernetProtocol) {
  table_->sockets = {Raw(Family::kPacket, Type::kDgram, 0x0800, 12), Raw(Family::kPacket, Type::kRaw, 3, 13)};
  std::vector<Event> events = Poll();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["family"], "packet");
  EXPECT_EQ(events[0].data["socket_type"], "dgram");
  EXPECT_EQ(events[0].data["ip_protocol"], 2048);
  EXPECT_EQ(events[1].data["socket_type"], "raw");
  EXPECT_EQ(events[1].data["ip_protocol"], 3);
  EXPECT_EQ(events[1].data["pid"], 301);
}

TEST_F(RawSocketWatcherTest, ASocketWithoutAnOwnerIsPartial) {
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 255, 99, -1), Raw(Family::kIpv4, Type::kRaw, 1, 0)};
  std::vector<Event> events = Poll();
  ASSERT_EQ(events.size(), 1u);  // inode 0: closed already, nothing to report
  const Json& d = events[0].data;
  EXPECT_EQ(d["partial"], true);
  EXPECT_FALSE(d.contains("pid"));
  EXPECT_FALSE(d.contains("uid"));
  EXPECT_EQ(d["ip_protocol"], 255);
  EXPECT_EQ(stats_.count("partial"), 1u);
}

TEST_F(RawSocketWatcherTest, AFailedDumpForgetsNothing) {
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 6, 11)};
  ASSERT_EQ(Poll().size(), 1u);
  table_->error = Status::IoError("dump failed");
  std::vector<Event> out;
  EXPECT_EQ(watcher_->Poll(0, &out).code(), Status::Code::kIoError);
  EXPECT_TRUE(out.empty());
  table_->error = Status::Ok();
  EXPECT_TRUE(Poll().empty());  // still known: not reported again
}

TEST_F(RawSocketWatcherTest, AClosedSocketsReusedInodeIsReportedAgain) {
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 6, 11)};
  ASSERT_EQ(Poll().size(), 1u);
  table_->sockets.clear();
  EXPECT_TRUE(Poll().empty());
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 6, 11)};
  EXPECT_EQ(Poll().size(), 1u);
}

// Every shape of raw_socket event validates against schema/events.yml.
TEST_F(RawSocketWatcherTest, EveryEventMatchesTheSchema) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  table_->sockets = {Raw(Family::kIpv4, Type::kRaw, 6, 11), Raw(Family::kIpv6, Type::kRaw, 58, 13, 1001),
                     Raw(Family::kPacket, Type::kDgram, 0x888e, 12), Raw(Family::kIpv4, Type::kRaw, 1, 77, -1)};
  std::vector<Event> events = Poll();
  ASSERT_EQ(events.size(), 4u);
  for (Event& e : events) {
    e.device = "device-1";
    e.seq = 1;
    e.priority = Priority::kMedium;
    const Json j = EventToJson(e);
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(j)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << problems << "\n" << j.dump();
  }
}

}  // namespace
}  // namespace vigil::network
