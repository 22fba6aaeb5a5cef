#include "agent/collectors/network/tracker.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "schema/schema.h"

namespace vigil::network {
namespace {

using Kind = ConnectionRecord::Kind;
using Protocol = ConnectionRecord::Protocol;

SocketEndpoint V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  SocketEndpoint e;
  e.addr = {a, b, c, d};
  e.port = port;
  return e;
}

ConnectionRecord Rec(Kind kind, uint64_t id, SocketEndpoint local, SocketEndpoint remote, int32_t pid = 100) {
  ConnectionRecord r;
  r.kind = kind;
  r.local = local;
  r.remote = remote;
  r.pid = pid;
  r.uid = 1000;
  r.socket_id = id;
  return r;
}

ConnectionRecord Close(uint64_t id, SocketEndpoint local, SocketEndpoint remote, uint64_t in, uint64_t out,
                       int32_t pid = 100) {
  ConnectionRecord r = Rec(Kind::kClose, id, local, remote, pid);
  r.bytes_known = true;
  r.bytes_in = in;
  r.bytes_out = out;
  return r;
}

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest() {
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
    env_.SetLink("/proc/100/exe", "/usr/bin/curl");
    env_.SetLink("/proc/200/exe", "/usr/sbin/nginx");
  }

  ConnectionTracker& Make(int64_t interval_ms, size_t aggregates = 256, size_t table = 4096, bool loopback = true,
                          bool observe = false) {
    TrackerOptions o;
    o.interval_ms = interval_ms;
    o.aggregate_entries = aggregates;
    o.table_entries = table;
    o.include_loopback = loopback;
    tracker_ = std::make_unique<ConnectionTracker>(
        env_, stats_, users_, o, [this](Event&& e) { events_.push_back(std::move(e)); },
        observe ? ConnectionTracker::Sink([this](Event&& e) { observed_.push_back(std::move(e)); })
                : ConnectionTracker::Sink());
    return *tracker_;
  }

  FakeEnv env_;
  CollectorStats stats_{"network"};
  common::UserNames users_{env_, stats_};
  std::unique_ptr<ConnectionTracker> tracker_;
  std::vector<Event> events_;
  std::vector<Event> observed_;
};

TEST_F(TrackerTest, WithoutAnIntervalEveryRecordIsAnEventAtOnce) {
  ConnectionTracker& t = Make(0);
  t.Handle(Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443)));
  ASSERT_EQ(events_.size(), 1u);
  const Event& c = events_[0];
  EXPECT_EQ(c.type, "network");
  EXPECT_EQ(c.action, "connect");
  EXPECT_EQ(c.count, 1u);
  EXPECT_TRUE(c.agg_key.empty());
  EXPECT_EQ(c.ts_ms, env_.manual_clock().NowMs());
  EXPECT_EQ(c.data, (Json{{"pid", 100},
                          {"exe", "/usr/bin/curl"},
                          {"uid", 1000},
                          {"user", "alice"},
                          {"protocol", "tcp"},
                          {"family", "ipv4"},
                          {"local_ip", "10.0.0.1"},
                          {"local_port", 41000},
                          {"remote_ip", "192.0.2.7"},
                          {"remote_port", 443},
                          {"direction", "outbound"},
                          {"initiated", true}}));
  env_.RemovePath("/proc/100");  // the process is gone by the close: the open told who it was
  t.Handle(Close(1, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443), 5000, 300));
  ASSERT_EQ(events_.size(), 2u);
  const Event& x = events_[1];
  EXPECT_EQ(x.action, "close");
  EXPECT_EQ(x.data["exe"], "/usr/bin/curl");
  EXPECT_EQ(x.data["direction"], "outbound");
  EXPECT_EQ(x.data["bytes_in"], 5000);
  EXPECT_EQ(x.data["bytes_out"], 300);
  EXPECT_FALSE(x.data.contains("partial"));
  EXPECT_EQ(t.open_connections(), 0u);
  EXPECT_EQ(t.NextFlushMs(), INT64_MAX);
}

TEST_F(TrackerTest, AcceptsAreInboundAndListensHaveNoPeer) {
  ConnectionTracker& t = Make(0);
  ConnectionRecord listen = Rec(Kind::kListen, 5, V4(0, 0, 0, 0, 80), {}, 200);
  listen.uid = 0;
  t.Handle(listen);
  t.Handle(Rec(Kind::kAccept, 6, V4(10, 0, 0, 1, 80), V4(198, 51, 100, 4, 50123), 200));
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].action, "listen");
  EXPECT_EQ(events_[0].data["local_ip"], "0.0.0.0");
  EXPECT_EQ(events_[0].data["local_port"], 80);
  EXPECT_EQ(events_[0].data["user"], "root");
  EXPECT_FALSE(events_[0].data.contains("remote_ip"));
  EXPECT_FALSE(events_[0].data.contains("direction"));
  EXPECT_EQ(events_[1].action, "accept");
  EXPECT_EQ(events_[1].data["direction"], "inbound");
  EXPECT_EQ(events_[1].data["initiated"], false);
  EXPECT_EQ(events_[1].data["exe"], "/usr/sbin/nginx");
}

TEST_F(TrackerTest, AProcessGoneBeforeItWasReadIsPartialWithItsComm) {
  ConnectionTracker& t = Make(0);
  ConnectionRecord r = Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443), 999);
  r.comm = "wget";
  t.Handle(r);
  ConnectionRecord unknown = Rec(Kind::kConnect, 2, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 7, 443), -1);
  unknown.uid = -1;
  t.Handle(unknown);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].data["pid"], 999);
  EXPECT_EQ(events_[0].data["comm"], "wget");
  EXPECT_EQ(events_[0].data["partial"], true);
  EXPECT_FALSE(events_[0].data.contains("exe"));
  EXPECT_FALSE(events_[1].data.contains("pid"));
  EXPECT_FALSE(events_[1].data.contains("user"));
  EXPECT_EQ(events_[1].data["partial"], true);
  EXPECT_EQ(stats_.count("partial"), 2u);
}

TEST_F(TrackerTest, UidAndCommComeFromProcWhenTheSourceDoesNotKnowThem) {
  ConnectionTracker& t = Make(0);
  env_.SetFile("/proc/300/status", "Name:\tkworker\nUid:\t0\t0\t0\t0\n");
  env_.SetFile("/proc/300/comm", "kworker/0:1\n");
  ConnectionRecord r = Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443), 300);
  r.uid = -1;
  t.Handle(r);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data["uid"], 0);
  EXPECT_EQ(events_[0].data["user"], "root");
  EXPECT_EQ(events_[0].data["comm"], "kworker/0:1");
  EXPECT_EQ(events_[0].data["partial"], true);  // no exe
}

TEST_F(TrackerTest, ConnectionsOfOneKeyAggregateWithTheBytesOfThoseClosedWithinTheInterval) {
  ConnectionTracker& t = Make(60'000);
  for (uint64_t id = 1; id <= 3; ++id) {
    t.Handle(Rec(Kind::kConnect, id, V4(10, 0, 0, 1, static_cast<uint16_t>(41000 + id)), V4(192, 0, 2, 7, 443)));
    env_.manual_clock().Advance(10);
  }
  t.Handle(Close(1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 7, 443), 100, 10));
  t.Handle(Close(2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 7, 443), 200, 20));
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(t.held(), 1u);
  EXPECT_EQ(t.NextFlushMs(), 1'000 + 60'000);
  env_.manual_clock().Advance(59'000);
  t.Tick();
  EXPECT_TRUE(events_.empty());
  env_.manual_clock().Advance(1'000);
  t.Tick();
  ASSERT_EQ(events_.size(), 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.action, "connect");
  EXPECT_EQ(e.count, 3u);
  EXPECT_EQ(e.ts_ms, 1'700'000'000'000);
  EXPECT_EQ(e.last_ts_ms, 1'700'000'000'020);
  EXPECT_EQ(e.data["closed"], 2);
  EXPECT_EQ(e.data["bytes_in"], 300);
  EXPECT_EQ(e.data["bytes_out"], 30);
  EXPECT_EQ(e.data["local_port"], 41001);  // the first connection's
  EXPECT_TRUE(e.agg_key.empty());          // already aggregated: the core passes it through

  // The third closes in the next interval: a close event of its own, with its direction.
  t.Handle(Close(3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 7, 443), 7, 8));
  env_.manual_clock().Advance(60'000);
  t.Tick();
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].action, "close");
  EXPECT_EQ(events_[1].count, 1u);
  EXPECT_EQ(events_[1].last_ts_ms, 0);
  EXPECT_EQ(events_[1].data["direction"], "outbound");
  EXPECT_EQ(events_[1].data["bytes_in"], 7);
  EXPECT_FALSE(events_[1].data.contains("closed"));
}

// Detection sees each connection at once while the events written stay aggregated, and the
// aggregates are marked so that detection does not count them a second time.
TEST_F(TrackerTest, AnObserverGetsEveryConnectAcceptAndListenAtOnceAndTheAggregatesSkipInspection) {
  ConnectionTracker& t = Make(60'000, 256, 4096, true, /*observe=*/true);
  ConnectionRecord listen = Rec(Kind::kListen, 9, V4(0, 0, 0, 0, 80), {}, 200);
  t.Handle(listen);
  for (uint64_t id = 1; id <= 3; ++id) {
    t.Handle(Rec(Kind::kConnect, id, V4(10, 0, 0, 1, static_cast<uint16_t>(41000 + id)), V4(192, 0, 2, 7, 443)));
    env_.manual_clock().Advance(10);
  }
  t.Handle(Rec(Kind::kAccept, 7, V4(10, 0, 0, 1, 80), V4(198, 51, 100, 4, 50123), 200));
  t.Handle(Close(1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 7, 443), 100, 10));
  EXPECT_TRUE(events_.empty());
  ASSERT_EQ(observed_.size(), 5u);
  EXPECT_EQ(observed_[0].action, "listen");
  for (size_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(observed_[i].action, "connect");
    EXPECT_EQ(observed_[i].count, 1u);
    EXPECT_EQ(observed_[i].data["local_port"], 41000 + i);  // each connection's own
    EXPECT_EQ(observed_[i].data["remote_ip"], "192.0.2.7");
    EXPECT_EQ(observed_[i].data["initiated"], true);
  }
  EXPECT_EQ(observed_[4].action, "accept");
  EXPECT_EQ(observed_[4].data["exe"], "/usr/sbin/nginx");

  env_.manual_clock().Advance(60'000);
  t.Tick();
  ASSERT_EQ(events_.size(), 3u);
  for (const Event& e : events_) EXPECT_EQ(e.inspection, Inspection::kSkip) << e.action;
  EXPECT_EQ(events_[1].count, 3u);
  // A close outliving its interval is not observed: its event is inspected when it is sent.
  t.Handle(Close(2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 7, 443), 7, 8));
  env_.manual_clock().Advance(60'000);
  t.Tick();
  ASSERT_EQ(events_.size(), 4u);
  EXPECT_EQ(events_[3].action, "close");
  EXPECT_EQ(events_[3].inspection, Inspection::kInspect);
  EXPECT_EQ(observed_.size(), 5u);
}

TEST_F(TrackerTest, WithoutAnObserverAggregatesAreInspected) {
  ConnectionTracker& t = Make(60'000);
  t.Handle(Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443)));
  env_.manual_clock().Advance(60'000);
  t.Tick();
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].inspection, Inspection::kInspect);
  EXPECT_TRUE(observed_.empty());
}

TEST_F(TrackerTest, OutboundKeysOnRemotePortInboundKeysOnLocalPort) {
  ConnectionTracker& t = Make(60'000);
  t.Handle(Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 7, 443)));
  t.Handle(Rec(Kind::kConnect, 2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 7, 80)));
  t.Handle(Rec(Kind::kConnect, 3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 8, 443)));
  // Inbound from one client on several source ports: one key.
  t.Handle(Rec(Kind::kAccept, 4, V4(10, 0, 0, 1, 22), V4(198, 51, 100, 4, 50001), 200));
  t.Handle(Rec(Kind::kAccept, 5, V4(10, 0, 0, 1, 22), V4(198, 51, 100, 4, 50002), 200));
  t.Handle(Rec(Kind::kAccept, 6, V4(10, 0, 0, 1, 80), V4(198, 51, 100, 4, 50003), 200));
  EXPECT_EQ(t.held(), 5u);
  t.FlushAll();
  ASSERT_EQ(events_.size(), 5u);
  EXPECT_EQ(events_[3].action, "accept");
  EXPECT_EQ(events_[3].count, 2u);
  EXPECT_EQ(events_[4].count, 1u);
}

TEST_F(TrackerTest, AFullAggregateTableSendsItsOldestEarly) {
  ConnectionTracker& t = Make(60'000, /*aggregates=*/2);
  t.Handle(Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 1, 443)));
  t.Handle(Rec(Kind::kConnect, 2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 2, 443)));
  t.Handle(Rec(Kind::kConnect, 3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 3, 443)));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data["remote_ip"], "192.0.2.1");
  EXPECT_EQ(stats_.flushed_early.load(), 1u);
  EXPECT_EQ(t.held(), 2u);
  // The early one's close cannot join it any more: it is an event of its own.
  t.Handle(Close(1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 1, 443), 1, 1));
  t.FlushAll();
  ASSERT_EQ(events_.size(), 4u);
  EXPECT_EQ(events_[3].action, "close");
}

TEST_F(TrackerTest, AFullConnectionTableForgetsTheOldest) {
  ConnectionTracker& t = Make(0, 256, /*table=*/2);
  t.Handle(Rec(Kind::kConnect, 1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 1, 443)));
  t.Handle(Rec(Kind::kConnect, 2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 2, 443)));
  t.Handle(Rec(Kind::kConnect, 3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 3, 443)));
  EXPECT_EQ(stats_.count("conn_table_evictions"), 1u);
  EXPECT_EQ(t.open_connections(), 2u);
  events_.clear();
  t.Handle(Close(1, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 1, 443), 1, 2));
  t.Handle(Close(3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 3, 443), 1, 2));
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_FALSE(events_[0].data.contains("direction"));  // forgotten
  EXPECT_EQ(events_[0].data["exe"], "/usr/bin/curl");   // still named from /proc
  EXPECT_EQ(events_[1].data["direction"], "outbound");
}

TEST_F(TrackerTest, LoopbackCanBeLeftOut) {
  ConnectionTracker& t = Make(0, 256, 4096, /*loopback=*/false);
  t.Handle(Rec(Kind::kConnect, 1, V4(127, 0, 0, 1, 41001), V4(127, 0, 0, 1, 8080)));
  t.Handle(Rec(Kind::kListen, 2, V4(127, 0, 0, 53, 53), {}));
  t.Handle(Rec(Kind::kListen, 3, V4(0, 0, 0, 0, 22), {}));
  t.Handle(Close(1, V4(127, 0, 0, 1, 41001), V4(127, 0, 0, 1, 8080), 1, 1));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data["local_port"], 22);
  EXPECT_EQ(stats_.count("loopback_skipped"), 3u);
  EXPECT_EQ(t.open_connections(), 0u);
}

TEST_F(TrackerTest, AListenerOrUnconnectedSocketGoingAwayIsNotAConnectionClose) {
  ConnectionTracker& t = Make(0);
  t.Handle(Rec(Kind::kClose, 9, V4(0, 0, 0, 0, 80), {}));
  EXPECT_TRUE(events_.empty());
  // An unconnected UDP socket: a record per peer it sent to, one release without a peer.
  ConnectionRecord first = Rec(Kind::kConnect, 12, V4(10, 0, 0, 1, 5353), V4(192, 0, 2, 1, 53));
  first.protocol = Protocol::kUdp;
  ConnectionRecord second = first;
  second.remote = V4(192, 0, 2, 2, 53);
  t.Handle(first);
  t.Handle(second);
  EXPECT_EQ(t.open_connections(), 1u);
  ConnectionRecord release = Rec(Kind::kClose, 12, V4(10, 0, 0, 1, 5353), {});
  release.protocol = Protocol::kUdp;
  t.Handle(release);
  EXPECT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].data["protocol"], "udp");
  EXPECT_EQ(t.open_connections(), 0u);
}

TEST_F(TrackerTest, IdenticalListensAggregate) {
  ConnectionTracker& t = Make(60'000);
  t.Handle(Rec(Kind::kListen, 1, V4(0, 0, 0, 0, 80), {}, 200));
  t.Handle(Rec(Kind::kListen, 2, V4(0, 0, 0, 0, 80), {}, 200));
  t.Handle(Rec(Kind::kListen, 3, V4(0, 0, 0, 0, 81), {}, 200));
  t.FlushAll();
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].count, 2u);
}

TEST_F(TrackerTest, TheExeOfAPidIsReadAgainWhenItsTaskNameChangesOrAfterAMoment) {
  ConnectionTracker& t = Make(0);
  auto connect = [&](const std::string& comm) {
    ConnectionRecord r = Rec(Kind::kConnect, 0, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443));
    r.comm = comm;
    t.Handle(r);
    return events_.back().data.value("exe", "");
  };
  EXPECT_EQ(connect("curl"), "/usr/bin/curl");
  env_.SetLink("/proc/100/exe", "/tmp/curl");  // the same pid runs another file now
  EXPECT_EQ(connect("curl"), "/usr/bin/curl");  // same name, a moment later: not read again
  EXPECT_EQ(connect("sh"), "/tmp/curl");        // another name: an exec happened
  env_.SetLink("/proc/100/exe", "/bin/sh");
  env_.manual_clock().Advance(100);
  EXPECT_EQ(connect("sh"), "/bin/sh");  // a moment has passed
  env_.SetLink("/proc/100/exe", "/bin/dash");
  EXPECT_EQ(connect(""), "/bin/dash");  // without a name (sock_diag), always read
}

// Every shape of event the tracker makes validates against schema/events.yml.
TEST_F(TrackerTest, EveryEventMatchesTheSchema) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (int64_t interval : {int64_t{0}, int64_t{60'000}}) {
    events_.clear();
    ConnectionTracker& t = Make(interval);
    t.Handle(Rec(Kind::kListen, 1, V4(0, 0, 0, 0, 80), {}, 200));
    for (uint64_t id = 2; id <= 4; ++id)
      t.Handle(Rec(Kind::kConnect, id, V4(10, 0, 0, 1, static_cast<uint16_t>(41000 + id)), V4(192, 0, 2, 7, 443)));
    t.Handle(Close(2, V4(10, 0, 0, 1, 41002), V4(192, 0, 2, 7, 443), 10, 20));
    t.Handle(Rec(Kind::kAccept, 5, V4(10, 0, 0, 1, 80), V4(198, 51, 100, 4, 50123), 200));
    ConnectionRecord gone = Rec(Kind::kConnect, 6, V4(10, 0, 0, 1, 41006), V4(192, 0, 2, 7, 443), 999);
    gone.comm = "wget";
    gone.protocol = Protocol::kUdp;
    t.Handle(gone);
    ConnectionRecord v6 = Close(7, {}, {}, 1, 2, -1);  // never seen open, no owner, IPv6
    v6.family = 6;
    v6.local.addr[15] = 1;
    v6.local.port = 40000;
    v6.remote.addr = {0x20, 0x01, 0x0d, 0xb8};
    v6.remote.port = 443;
    t.Handle(v6);
    t.FlushAll();
    t.Handle(Close(3, V4(10, 0, 0, 1, 41003), V4(192, 0, 2, 7, 443), 1, 1));
    t.FlushAll();
    ASSERT_GE(events_.size(), 6u);
    std::set<std::string> actions;
    for (Event e : events_) {
      actions.insert(e.action);
      e.device = "device-1";
      e.seq = 1;
      e.priority = Priority::kMedium;
      const Json j = EventToJson(e);
      std::string problems;
      for (const schema::ValidationError& err : loaded->Check(j)) problems += "\n  " + err.ToString();
      EXPECT_TRUE(problems.empty()) << "interval " << interval << ":" << problems << "\n" << j.dump();
    }
    EXPECT_EQ(actions, (std::set<std::string>{"listen", "connect", "accept", "close"}));
  }
}

}  // namespace
}  // namespace vigil::network
