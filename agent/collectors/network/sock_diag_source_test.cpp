#include "agent/collectors/network/sock_diag_source.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_socket_table.h"

namespace vigil::network {
namespace {

using Kind = ConnectionRecord::Kind;
using Protocol = ConnectionRecord::Protocol;

SocketEndpoint V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  SocketEndpoint e;
  e.addr[0] = a;
  e.addr[1] = b;
  e.addr[2] = c;
  e.addr[3] = d;
  e.port = port;
  return e;
}

SocketInfo Tcp(uint64_t inode, SocketState state, SocketEndpoint local, SocketEndpoint remote = {}) {
  SocketInfo s;
  s.protocol = Protocol::kTcp;
  s.state = state;
  s.local = local;
  s.remote = remote;
  s.inode = inode;
  s.cookie = inode * 10;
  s.uid = 1000;
  s.bytes_known = true;
  return s;
}

SocketInfo Udp(uint64_t inode, SocketEndpoint local, SocketEndpoint remote = {}) {
  SocketInfo s = Tcp(inode, remote.port != 0 ? SocketState::kEstablished : SocketState::kClose, local, remote);
  s.protocol = Protocol::kUdp;
  s.bytes_known = false;
  return s;
}

class SockDiagSourceTest : public ::testing::Test {
 protected:
  SockDiagSourceTest() {
    auto t = std::make_unique<FakeSocketTable>();
    table_ = t.get();
    source_ = std::make_unique<SockDiagConnectionSource>(std::move(t), env_, 1000);
  }

  void Own(int pid, uint64_t inode, int fd = 3) {
    env_.SetLink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd),
                 "socket:[" + std::to_string(inode) + "]");
  }

  std::vector<ConnectionRecord> Scan() {
    std::vector<ConnectionRecord> out;
    Status st = source_->Scan(&out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  FakeEnv env_;
  FakeSocketTable* table_;
  std::unique_ptr<SockDiagConnectionSource> source_;
};

TEST_F(SockDiagSourceTest, SocketsOpenAtTheBaselineAreNotReported) {
  table_->Add(Tcp(1, SocketState::kListen, V4(0, 0, 0, 0, 22)));
  table_->Add(Tcp(2, SocketState::kEstablished, V4(10, 0, 0, 1, 22), V4(10, 0, 0, 9, 50000)));
  ASSERT_TRUE(source_->Baseline().ok());
  EXPECT_EQ(source_->name(), "sock_diag");
  EXPECT_TRUE(Scan().empty());
  EXPECT_EQ(source_->tracked(), 2u);
}

TEST_F(SockDiagSourceTest, ANewOutboundConnectionIsAConnectOfItsProcess) {
  ASSERT_TRUE(source_->Baseline().ok());
  SocketInfo s = Tcp(77, SocketState::kEstablished, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443));
  table_->Add(s);
  Own(4321, 77);
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  const ConnectionRecord& r = out[0];
  EXPECT_EQ(r.kind, Kind::kConnect);
  EXPECT_EQ(r.protocol, Protocol::kTcp);
  EXPECT_EQ(r.family, 4);
  EXPECT_EQ(r.pid, 4321);
  EXPECT_EQ(r.uid, 1000);
  EXPECT_EQ(r.local.port, 41000);
  EXPECT_EQ(r.remote.port, 443);
  EXPECT_EQ(r.remote.addr[0], 192);
  EXPECT_EQ(r.socket_id, 77u);
  EXPECT_FALSE(r.bytes_known);  // bytes come with the close
  EXPECT_TRUE(Scan().empty());  // seen once
}

TEST_F(SockDiagSourceTest, AConnectionOnAListeningPortIsAnAccept) {
  table_->Add(Tcp(1, SocketState::kListen, V4(0, 0, 0, 0, 8080)));
  ASSERT_TRUE(source_->Baseline().ok());
  table_->Add(Tcp(5, SocketState::kEstablished, V4(127, 0, 0, 1, 8080), V4(127, 0, 0, 1, 45000)));  // server side
  table_->Add(Tcp(6, SocketState::kEstablished, V4(127, 0, 0, 1, 45000), V4(127, 0, 0, 1, 8080)));  // client side
  auto out = Scan();
  ASSERT_EQ(out.size(), 2u);
  for (const ConnectionRecord& r : out) {
    if (r.socket_id == 5) {
      EXPECT_EQ(r.kind, Kind::kAccept);
    }
    if (r.socket_id == 6) {
      EXPECT_EQ(r.kind, Kind::kConnect);
    }
    EXPECT_EQ(r.pid, -1);  // nobody holds them in this /proc
  }
}

TEST_F(SockDiagSourceTest, ASynSentSocketIsAConnectEvenFromAListeningPort) {
  table_->Add(Tcp(1, SocketState::kListen, V4(0, 0, 0, 0, 8080)));
  ASSERT_TRUE(source_->Baseline().ok());
  table_->Add(Tcp(5, SocketState::kSynSent, V4(10, 0, 0, 1, 8080), V4(192, 0, 2, 1, 80)));
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kConnect);
}

TEST_F(SockDiagSourceTest, ANewListenerIsAListenAndItsEndIsNotAClose) {
  ASSERT_TRUE(source_->Baseline().ok());
  table_->Add(Tcp(9, SocketState::kListen, V4(0, 0, 0, 0, 9000)));
  Own(50, 9);
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kListen);
  EXPECT_EQ(out[0].pid, 50);
  EXPECT_EQ(out[0].local.port, 9000);
  EXPECT_EQ(out[0].remote.port, 0);
  table_->Remove(9);
  EXPECT_TRUE(Scan().empty());
  EXPECT_EQ(source_->tracked(), 0u);
}

TEST_F(SockDiagSourceTest, AVanishedConnectionClosesWithTheBytesOfTheLastDump) {
  ASSERT_TRUE(source_->Baseline().ok());
  SocketInfo s = Tcp(77, SocketState::kEstablished, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443));
  table_->Add(s);
  Own(4321, 77);
  ASSERT_EQ(Scan().size(), 1u);
  s.bytes_in = 1000;
  s.bytes_out = 200;
  table_->Set({s});
  EXPECT_TRUE(Scan().empty());
  table_->Set({});
  env_.RemovePath("/proc/4321");
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kClose);
  EXPECT_EQ(out[0].pid, 4321);  // remembered: the process is gone
  EXPECT_EQ(out[0].socket_id, 77u);
  EXPECT_TRUE(out[0].bytes_known);
  EXPECT_EQ(out[0].bytes_in, 1000u);
  EXPECT_EQ(out[0].bytes_out, 200u);
  EXPECT_EQ(out[0].remote.port, 443);
}

TEST_F(SockDiagSourceTest, ASocketNoFileHoldsAnyMoreIsClosed) {
  ASSERT_TRUE(source_->Baseline().ok());
  SocketInfo s = Tcp(77, SocketState::kEstablished, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443));
  table_->Add(s);
  ASSERT_EQ(Scan().size(), 1u);
  s.inode = 0;  // the process closed it; the kernel is finishing the FIN handshake
  s.state = SocketState::kFinWait1;
  table_->Set({s});
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kClose);
}

TEST_F(SockDiagSourceTest, ConnectionsOpenAtTheBaselineCloseWithTheirOwner) {
  table_->Add(Tcp(2, SocketState::kEstablished, V4(10, 0, 0, 1, 22), V4(10, 0, 0, 9, 50000)));
  Own(700, 2);
  ASSERT_TRUE(source_->Baseline().ok());
  EXPECT_EQ(source_->owner_scans(), 1u);
  table_->Set({});
  auto out = Scan();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kClose);
  EXPECT_EQ(out[0].pid, 700);
}

TEST_F(SockDiagSourceTest, AReusedInodeIsANewSocket) {
  ASSERT_TRUE(source_->Baseline().ok());
  SocketInfo s = Tcp(77, SocketState::kEstablished, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443));
  table_->Add(s);
  ASSERT_EQ(Scan().size(), 1u);
  SocketInfo reused = Tcp(77, SocketState::kEstablished, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 8, 80));
  reused.cookie = 999;
  table_->Set({reused});
  auto out = Scan();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kClose);
  EXPECT_EQ(out[0].remote.port, 443);
  EXPECT_EQ(out[1].kind, Kind::kConnect);
  EXPECT_EQ(out[1].remote.port, 80);
}

TEST_F(SockDiagSourceTest, UdpBoundIsListenConnectedIsConnectAndAPeerChangeClosesTheOld) {
  table_->Add(Udp(1, V4(0, 0, 0, 0, 53)));
  ASSERT_TRUE(source_->Baseline().ok());
  SocketInfo client = Udp(2, V4(10, 0, 0, 1, 40000), V4(192, 0, 2, 53, 53));
  SocketInfo server = Udp(3, V4(10, 0, 0, 1, 53), V4(192, 0, 2, 9, 5353));  // connected, on the bound port
  SocketInfo bound = Udp(4, V4(0, 0, 0, 0, 5000));
  table_->Set({Udp(1, V4(0, 0, 0, 0, 53)), client, server, bound});
  auto out = Scan();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Kind::kListen);  // listens first
  EXPECT_EQ(out[0].socket_id, 4u);
  for (const ConnectionRecord& r : out) {
    EXPECT_EQ(r.protocol, Protocol::kUdp);
    EXPECT_FALSE(r.bytes_known);
    if (r.socket_id == 2) {
      EXPECT_EQ(r.kind, Kind::kConnect);
    }
    if (r.socket_id == 3) {
      EXPECT_EQ(r.kind, Kind::kAccept);
    }
  }
  client.remote = V4(192, 0, 2, 54, 53);  // connect(2) again, elsewhere
  bound.remote = V4(192, 0, 2, 1, 7);     // the bound socket connects
  table_->Set({Udp(1, V4(0, 0, 0, 0, 53)), client, server, bound});
  out = Scan();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, Kind::kClose);
  EXPECT_EQ(out[0].remote.addr[3], 53);
  EXPECT_EQ(out[1].kind, Kind::kConnect);
  EXPECT_EQ(out[2].kind, Kind::kConnect);
}

TEST_F(SockDiagSourceTest, LooksUpOwnersOncePerDumpOnlyForNewSockets) {
  ASSERT_TRUE(source_->Baseline().ok());
  EXPECT_EQ(source_->owner_scans(), 0u);
  table_->Add(Tcp(10, SocketState::kEstablished, V4(10, 0, 0, 1, 41000), V4(192, 0, 2, 7, 443)));
  table_->Add(Tcp(11, SocketState::kEstablished, V4(10, 0, 0, 1, 41001), V4(192, 0, 2, 7, 443)));
  Own(100, 10, 3);
  Own(100, 11, 4);
  auto out = Scan();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].pid, 100);
  EXPECT_EQ(out[1].pid, 100);
  EXPECT_EQ(source_->owner_scans(), 1u);
  EXPECT_TRUE(Scan().empty());
  EXPECT_EQ(source_->owner_scans(), 1u);
}

TEST_F(SockDiagSourceTest, ATableErrorIsReturned) {
  table_->SetError(Status::IoError("sock_diag: receive: boom"));
  EXPECT_EQ(source_->Baseline().code(), Status::Code::kIoError);
  table_->SetError(Status::Ok());
  ASSERT_TRUE(source_->Baseline().ok());
  table_->SetError(Status::IoError("boom"));
  std::vector<ConnectionRecord> out;
  EXPECT_FALSE(source_->Scan(&out).ok());
}

TEST_F(SockDiagSourceTest, ReadWaitsForTheIntervalAndInterruptEndsTheWait) {
  ASSERT_TRUE(source_->Baseline().ok());
  const int dumps = table_->dumps();
  std::vector<ConnectionRecord> out;
  uint64_t lost = 0;
  ASSERT_TRUE(source_->Read(10, &out, &lost).ok());  // the interval (1 s) has not passed
  EXPECT_EQ(table_->dumps(), dumps);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    source_->Interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(source_->Read(60'000, &out, &lost).ok());
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(table_->dumps(), dumps);
  EXPECT_EQ(lost, 0u);
}

TEST(SockDiagSourceRead, ScansOnceTheIntervalHasPassed) {
  FakeEnv env;
  auto t = std::make_unique<FakeSocketTable>();
  FakeSocketTable* table = t.get();
  SockDiagConnectionSource source(std::move(t), env, 20);
  std::vector<ConnectionRecord> out;
  uint64_t lost = 0;
  ASSERT_TRUE(source.Read(0, &out, &lost).ok());  // the first Read takes the baseline
  EXPECT_EQ(table->dumps(), 1);
  table->Add(Tcp(9, SocketState::kListen, V4(0, 0, 0, 0, 9000)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.empty() && std::chrono::steady_clock::now() < deadline) ASSERT_TRUE(source.Read(100, &out, &lost).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kListen);
}

}  // namespace
}  // namespace vigil::network
