#include "agent/collectors/listening_ports/port_watcher.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "schema/schema.h"

namespace vigil::listening_ports {
namespace {

using Protocol = ConnectionRecord::Protocol;

SocketInfo Listener(uint64_t inode, uint16_t port, std::array<uint8_t, 16> addr = {}, uint8_t family = 4) {
  SocketInfo s;
  s.protocol = Protocol::kTcp;
  s.state = SocketState::kListen;
  s.family = family;
  s.local.addr = addr;
  s.local.port = port;
  s.inode = inode;
  s.uid = 0;
  return s;
}

SocketInfo Udp(uint64_t inode, uint16_t port, uint16_t remote_port = 0) {
  SocketInfo s = Listener(inode, port);
  s.protocol = Protocol::kUdp;
  s.state = remote_port != 0 ? SocketState::kEstablished : SocketState::kClose;
  s.remote.port = remote_port;
  if (remote_port != 0) s.remote.addr = {192, 0, 2, 1};
  return s;
}

class PortWatcherTest : public ::testing::Test {
 protected:
  PortWatcherTest() { env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\n"); }
  void Own(int pid, uint64_t inode, const std::string& exe, int fd = 3) {
    env_.SetLink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd),
                 "socket:[" + std::to_string(inode) + "]");
    env_.SetLink("/proc/" + std::to_string(pid) + "/exe", exe);
  }

  FakeEnv env_;
  CollectorStats stats_{"listening_ports"};
  common::UserNames users_{env_, stats_};
  PortWatcher watcher_{env_, stats_, users_, 512, true};
};

TEST_F(PortWatcherTest, TheSnapshotListsEveryListeningPortWithItsProcess) {
  Own(10, 1, "/usr/sbin/sshd");
  Own(20, 2, "/usr/sbin/named");
  Own(20, 3, "/usr/sbin/named", 4);
  std::array<uint8_t, 16> v6{};
  SocketInfo ssh6 = Listener(4, 22, v6, 6);
  ssh6.uid = 33;
  Own(10, 4, "/usr/sbin/sshd", 5);
  Event e = watcher_.Snapshot({Listener(1, 22), Udp(2, 53), Listener(3, 53, {127, 0, 0, 1}), ssh6,
                               Udp(9, 40000, 53),  // connected: not a listening port
                               Listener(0, 80)});  // no file: not anyone's port
  EXPECT_EQ(e.type, "listening_ports");
  EXPECT_EQ(e.action, "snapshot");
  EXPECT_EQ(e.ts_ms, env_.manual_clock().NowMs());
  const Json& ports = e.data["ports"];
  ASSERT_EQ(ports.size(), 4u);
  // Sorted by protocol (tcp first), port, family, address.
  EXPECT_EQ(ports[0], (Json{{"protocol", "tcp"},
                            {"family", "ipv4"},
                            {"local_ip", "0.0.0.0"},
                            {"local_port", 22},
                            {"pid", 10},
                            {"exe", "/usr/sbin/sshd"},
                            {"uid", 0},
                            {"user", "root"}}));
  EXPECT_EQ(ports[1]["family"], "ipv6");
  EXPECT_EQ(ports[1]["local_ip"], "::");
  EXPECT_EQ(ports[1]["user"], "www");
  EXPECT_EQ(ports[2]["local_ip"], "127.0.0.1");
  EXPECT_EQ(ports[2]["local_port"], 53);
  EXPECT_EQ(ports[3]["protocol"], "udp");
  EXPECT_EQ(ports[3]["exe"], "/usr/sbin/named");
  EXPECT_FALSE(e.data.contains("ports_omitted"));
  EXPECT_EQ(watcher_.ports(), 4u);
}

TEST_F(PortWatcherTest, ASnapshotBeyondMaxPortsCountsTheRest) {
  PortWatcher small(env_, stats_, users_, 2, true);
  Event e = small.Snapshot({Listener(1, 1), Listener(2, 2), Listener(3, 3)});
  EXPECT_EQ(e.data["ports"].size(), 2u);
  EXPECT_EQ(e.data["ports_omitted"], 1);
  EXPECT_EQ(e.data["ports"][0]["partial"], true);  // nobody in this /proc holds them
  EXPECT_EQ(stats_.count("partial"), 3u);
}

TEST_F(PortWatcherTest, OpenedAndClosedPortsAreReportedOnce) {
  Own(10, 1, "/usr/sbin/sshd");
  watcher_.Snapshot({Listener(1, 22)});
  std::vector<Event> out;
  watcher_.Update({Listener(1, 22)}, &out);
  EXPECT_TRUE(out.empty());

  Own(30, 5, "/usr/bin/python3");
  watcher_.Update({Listener(1, 22), Listener(5, 8000)}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action, "opened");
  EXPECT_EQ(out[0].data["local_port"], 8000);
  EXPECT_EQ(out[0].data["pid"], 30);
  EXPECT_EQ(out[0].data["exe"], "/usr/bin/python3");

  out.clear();
  env_.RemovePath("/proc/30");  // gone: the close still names it
  watcher_.Update({Listener(1, 22)}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action, "closed");
  EXPECT_EQ(out[0].data["local_port"], 8000);
  EXPECT_EQ(out[0].data["exe"], "/usr/bin/python3");
  out.clear();
  watcher_.Update({Listener(1, 22)}, &out);
  EXPECT_TRUE(out.empty());
}

TEST_F(PortWatcherTest, SocketsSharingAPortAreOnePort) {
  Own(10, 1, "/usr/sbin/nginx");
  Own(11, 2, "/usr/sbin/nginx");
  watcher_.Snapshot({Listener(1, 80)});
  std::vector<Event> out;
  watcher_.Update({Listener(1, 80), Listener(2, 80)}, &out);  // SO_REUSEPORT worker
  watcher_.Update({Listener(2, 80)}, &out);                   // the first one went
  EXPECT_TRUE(out.empty());
}

TEST_F(PortWatcherTest, ARestartBySameProgramIsQuietAnotherProgramTakingThePortIsNot) {
  Own(10, 1, "/usr/sbin/sshd");
  watcher_.Snapshot({Listener(1, 22)});
  std::vector<Event> out;
  Own(12, 2, "/usr/sbin/sshd");
  watcher_.Update({Listener(2, 22)}, &out);
  EXPECT_TRUE(out.empty());
  Own(66, 3, "/tmp/.x/backdoor");
  watcher_.Update({Listener(3, 22)}, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].action, "closed");
  EXPECT_EQ(out[0].data["pid"], 12);
  EXPECT_EQ(out[1].action, "opened");
  EXPECT_EQ(out[1].data["exe"], "/tmp/.x/backdoor");
}

TEST_F(PortWatcherTest, LoopbackPortsCanBeLeftOut) {
  PortWatcher no_lo(env_, stats_, users_, 512, false);
  Event e = no_lo.Snapshot({Listener(1, 22), Listener(2, 631, {127, 0, 0, 1})});
  ASSERT_EQ(e.data["ports"].size(), 1u);
  EXPECT_EQ(e.data["ports"][0]["local_port"], 22);
}

TEST_F(PortWatcherTest, EveryEventMatchesTheSchema) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  Own(10, 1, "/usr/sbin/sshd");
  std::vector<Event> events;
  PortWatcher small(env_, stats_, users_, 1, true);
  events.push_back(small.Snapshot({Listener(1, 22), Udp(2, 53)}));
  small.Update({Listener(1, 22), Listener(3, 8080, {0, 0, 0, 0}, 6)}, &events);
  small.Update({Listener(3, 8080, {0, 0, 0, 0}, 6)}, &events);
  ASSERT_EQ(events.size(), 4u);  // snapshot, closed 53, opened 8080, closed 22
  for (Event e : events) {
    e.device = "device-1";
    e.seq = 1;
    const Json j = EventToJson(e);
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(j)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << problems << "\n" << j.dump();
  }
}

TEST(ListeningQuery, AsksForTcpListenersAndUdp) {
  const SocketQuery q = ListeningQuery();
  EXPECT_EQ(q.tcp_states, StateBit(SocketState::kListen));
  EXPECT_TRUE(q.udp);
  EXPECT_FALSE(q.tcp_bytes);
}

}  // namespace
}  // namespace vigil::listening_ports
