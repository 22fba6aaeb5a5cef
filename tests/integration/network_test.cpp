// The network collector on the real kernel (root needed): the socket table and the sock_diag
// source by themselves, then the whole agent with `network.mode: sock_diag` and with
// `network.mode: ebpf`, seen through its JSON Lines output. The test process holds both ends
// of every connection (a listener on loopback and a client), so every event must name this
// process and its executable. Every event the agent wrote is validated against the schema.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/collectors/network/sock_diag_source.h"
#include "agent/platform/env.h"
#include "agent/platform/socket_table.h"
#include "schema/schema.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using namespace std::chrono_literals;

// ---- sockets of the test ------------------------------------------------------------------

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd_ = o.fd_;
    o.fd_ = -1;
    return *this;
  }
  ~Fd() { Reset(); }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct Endpoint {
  int family = AF_INET;  // AF_INET or AF_INET6
  sockaddr_storage addr{};
  socklen_t len = 0;
  uint16_t port() const {
    return ntohs(family == AF_INET ? reinterpret_cast<const sockaddr_in&>(addr).sin_port
                                   : reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  }
  std::string ip() const { return family == AF_INET ? "127.0.0.1" : "::1"; }
  std::string family_name() const { return family == AF_INET ? "ipv4" : "ipv6"; }
};

Endpoint Loopback(int family) {
  Endpoint e;
  e.family = family;
  if (family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(e.addr);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    e.len = sizeof(sockaddr_in);
  } else {
    auto& a = reinterpret_cast<sockaddr_in6&>(e.addr);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    e.len = sizeof(sockaddr_in6);
  }
  return e;
}

// A socket bound to a free loopback port (TCP listening, or UDP bound); fails the test if it
// cannot be made. *where gets the address and port.
Fd Bound(int family, int type, Endpoint* where) {
  *where = Loopback(family);
  Fd fd(socket(family, type | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.ok()) << "socket: " << std::strerror(errno);
  if (!fd.ok()) return fd;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&where->addr), where->len) != 0) {
    ADD_FAILURE() << "bind to " << where->ip() << " (is " << where->family_name()
                  << " loopback configured?): " << std::strerror(errno);
    return Fd();
  }
  if (type == SOCK_STREAM && listen(fd.get(), 16) != 0) {
    ADD_FAILURE() << "listen: " << std::strerror(errno);
    return Fd();
  }
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&where->addr), &where->len);
  return fd;
}

Fd ConnectTo(const Endpoint& to, int type) {
  Fd fd(socket(to.family, type | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.ok()) << "socket: " << std::strerror(errno);
  if (fd.ok() && connect(fd.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
    ADD_FAILURE() << "connect to " << to.ip() << " port " << to.port() << ": " << std::strerror(errno);
    return Fd();
  }
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(a).sin_port
                                      : reinterpret_cast<sockaddr_in6&>(a).sin6_port);
}

bool SendAll(int fd, size_t n) {
  std::string data(n, 'x');
  size_t off = 0;
  while (off < n) {
    ssize_t w = send(fd, data.data() + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

bool RecvAll(int fd, size_t n) {
  char buf[4096];
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, buf, std::min(sizeof(buf), n - got), 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// A TCP connection of this process to its own listener: the client and the accepted socket.
struct TcpPair {
  Fd client;
  Fd server;
  uint16_t client_port = 0;
};

TcpPair Connected(const Fd& listener, const Endpoint& where) {
  TcpPair p;
  p.client = ConnectTo(where, SOCK_STREAM);
  if (!p.client.ok()) return p;
  p.server = Fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(p.server.ok()) << "accept: " << std::strerror(errno);
  p.client_port = LocalPort(p.client.get());
  return p;
}

std::string SelfExe() { return std::filesystem::canonical("/proc/self/exe").string(); }

// ---- events ---------------------------------------------------------------------------------

bool IsNetwork(const json& e, const std::string& action) {
  return e.value("type", "") == "network" && e.value("action", "") == action && e.contains("data");
}

// An event of this process with the given ports (0: any).
std::function<bool(const json&)> Ours(const std::string& action, const std::string& protocol, uint16_t local_port,
                                      uint16_t remote_port) {
  const int pid = getpid();
  return [=](const json& e) {
    if (!IsNetwork(e, action)) return false;
    const json& d = e["data"];
    return d.value("pid", 0) == pid && d.value("protocol", "") == protocol &&
           (local_port == 0 || d.value("local_port", 0) == local_port) &&
           (remote_port == 0 || d.value("remote_port", 0) == remote_port);
  };
}

void ExpectProcessFields(const json& e) {
  const json& d = e["data"];
  EXPECT_EQ(d.value("pid", 0), getpid()) << e.dump();
  EXPECT_EQ(d.value("exe", ""), SelfExe()) << e.dump();
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(geteuid())) << e.dump();
  EXPECT_EQ(d.value("user", ""), geteuid() == 0 ? "root" : std::to_string(geteuid())) << e.dump();
  EXPECT_FALSE(d.contains("partial")) << e.dump();
}

void ExpectAllValid(AgentProcess& agent) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  int network = 0;
  for (const json& e : agent.Events()) {
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
    if (e.value("type", "") == "network") ++network;
  }
  EXPECT_GT(network, 0);
}

std::string SourceInStats(AgentProcess& agent) {
  auto stats = agent.WaitFor(
      [](const json& e) {
        if (e.value("type", "") != "agent_stats") return false;
        for (const json& c : e["data"]["collectors"])
          if (c.value("collector", "") == "network") return true;
        return false;
      },
      10s);
  if (!stats) return "(no agent_stats)";
  for (const json& c : (*stats)["data"]["collectors"])
    if (c.value("collector", "") == "network") return c.value("source", "");
  return "";
}

// ---- the socket table and the sock_diag source by themselves -------------------------------

TEST(SocketTableIntegration, DumpsListenersAndConnectionsWithByteCounters) {
  auto table = OpenSocketTable();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  for (int family : {AF_INET, AF_INET6}) {
    Endpoint where;
    Fd listener = Bound(family, SOCK_STREAM, &where);
    ASSERT_TRUE(listener.ok());
    TcpPair pair = Connected(listener, where);
    ASSERT_TRUE(pair.server.ok());
    ASSERT_TRUE(SendAll(pair.client.get(), 1000));
    ASSERT_TRUE(RecvAll(pair.server.get(), 1000));
    ASSERT_TRUE(SendAll(pair.server.get(), 300));
    ASSERT_TRUE(RecvAll(pair.client.get(), 300));
    std::vector<SocketInfo> sockets;
    SocketQuery q{.tcp_states = StateBit(SocketState::kListen) | StateBit(SocketState::kEstablished),
                  .udp = true,
                  .tcp_bytes = true};
    ASSERT_TRUE((*table)->Dump(q, &sockets).ok());
    const uint8_t fam = family == AF_INET ? 4 : 6;
    bool saw_listener = false, saw_client = false;
    for (const SocketInfo& s : sockets) {
      if (s.family != fam || s.protocol != ConnectionRecord::Protocol::kTcp) continue;
      if (s.state == SocketState::kListen && s.local.port == where.port()) {
        saw_listener = true;
        EXPECT_NE(s.inode, 0u);
        EXPECT_EQ(s.uid, static_cast<int64_t>(geteuid()));
      }
      if (s.state == SocketState::kEstablished && s.local.port == pair.client_port) {
        saw_client = true;
        EXPECT_EQ(s.remote.port, where.port());
        ASSERT_TRUE(s.bytes_known);
        EXPECT_GE(s.bytes_out, 1000u);  // acknowledged (the SYN may count one more)
        EXPECT_LE(s.bytes_out, 1001u);
        EXPECT_EQ(s.bytes_in, 300u);
      }
    }
    EXPECT_TRUE(saw_listener) << "family " << int(fam);
    EXPECT_TRUE(saw_client) << "family " << int(fam);
  }
}

TEST(SockDiagSourceIntegration, ReportsAConnectionOfThisProcessAndItsClose) {
  auto table = OpenSocketTable();
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto env = NewPlatformEnv();
  network::SockDiagConnectionSource source(std::move(*table), *env, 50);
  Endpoint where;
  Fd listener = Bound(AF_INET, SOCK_STREAM, &where);
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(source.Baseline().ok());
  TcpPair pair = Connected(listener, where);
  ASSERT_TRUE(pair.server.ok());
  std::vector<ConnectionRecord> seen;
  // Reads until a record matches (bounded); returns it. Everything read stays in `seen`.
  auto read_until = [&](const std::function<bool(const ConnectionRecord&)>& pred) -> std::optional<ConnectionRecord> {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    size_t checked = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t lost = 0;
      if (!source.Read(100, &seen, &lost).ok()) return std::nullopt;
      for (; checked < seen.size(); ++checked)
        if (pred(seen[checked])) return seen[checked];
    }
    return std::nullopt;
  };
  auto connect = read_until([&](const ConnectionRecord& r) {
    return r.kind == ConnectionRecord::Kind::kConnect && r.local.port == pair.client_port;
  });
  ASSERT_TRUE(connect.has_value());
  EXPECT_EQ(connect->pid, getpid());
  EXPECT_EQ(connect->remote.port, where.port());
  auto accept = read_until([&](const ConnectionRecord& r) {
    return r.kind == ConnectionRecord::Kind::kAccept && r.local.port == where.port() &&
           r.remote.port == pair.client_port;
  });
  ASSERT_TRUE(accept.has_value());
  EXPECT_EQ(accept->pid, getpid());
  pair.client.Reset();
  auto close = read_until([&](const ConnectionRecord& r) {
    return r.kind == ConnectionRecord::Kind::kClose && r.local.port == pair.client_port;
  });
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->pid, getpid());
  EXPECT_TRUE(close->bytes_known);
}

// ---- the agent, in each mode ------------------------------------------------------------------

class NetworkAgent : public ::testing::TestWithParam<std::string> {
 protected:
  // Starts the agent with the network collector in mode GetParam() at `priority` (high: every
  // connection its own event, at once), and waits until the collector has started.
  void StartAgent(const std::string& priority = "high", const std::string& extra = "") {
    const std::string mode = GetParam();
    agent_ = AgentProcess::Start("network:\n  priority: " + priority + "\n  mode: " + mode +
                                 "\n  poll_interval: 100ms\nstats:\n  interval: 1s\n" + extra);
    ASSERT_NE(agent_, nullptr);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string log = agent_->Log();
      if (log.find("collector network: started") != std::string::npos) return;
      if (size_t at = log.find("collector network: not available here"); at != std::string::npos) {
        FAIL() << "network.mode " << mode
               << ": the collector could not start: " << log.substr(at, log.find('\n', at) - at)
               << (mode == "ebpf" ? "\n(the eBPF connection source, OpenEbpfConnectionSource in agent/platform/ebpf.h, "
                                    "is not available in this build or on this kernel)"
                                  : "");
      }
      if (agent_->WaitFor([](const json&) { return false; }, 50ms)) break;  // also notices an exit
    }
    FAIL() << "the network collector did not start within 20 s; agent log:\n" << agent_->Log();
  }

  std::optional<json> Wait(const std::function<bool(const json&)>& pred, const std::string& what) {
    auto e = agent_->WaitFor(pred, 10s);
    if (!e) ADD_FAILURE() << "no event: " << what << "; agent log:\n" << agent_->Log();
    return e;
  }

  void TearDown() override {
    if (agent_ && !HasFatalFailure()) ExpectAllValid(*agent_);
  }

  std::unique_ptr<AgentProcess> agent_;
};

TEST_P(NetworkAgent, TcpConnectionsAreReportedWithProcessDirectionAndBytes) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  EXPECT_EQ(SourceInStats(*agent_), GetParam());
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "IPv4" : "IPv6");
    Endpoint where;
    Fd listener = Bound(family, SOCK_STREAM, &where);
    ASSERT_TRUE(listener.ok());
    auto listen = Wait(Ours("listen", "tcp", where.port(), 0), "listen on port " + std::to_string(where.port()));
    ASSERT_TRUE(listen);
    ExpectProcessFields(*listen);
    EXPECT_EQ((*listen)["data"].value("local_ip", ""), where.ip());
    EXPECT_EQ((*listen)["data"].value("family", ""), where.family_name());

    TcpPair pair = Connected(listener, where);
    ASSERT_TRUE(pair.server.ok());
    // The connection stays open until it is reported (sock_diag sees it at its next dump).
    auto connect = Wait(Ours("connect", "tcp", pair.client_port, where.port()), "connect");
    ASSERT_TRUE(connect);
    ExpectProcessFields(*connect);
    const json& c = (*connect)["data"];
    EXPECT_EQ(c.value("direction", ""), "outbound");
    EXPECT_EQ(c.value("initiated", false), true);
    EXPECT_EQ(c.value("remote_ip", ""), where.ip());
    EXPECT_EQ(c.value("local_ip", ""), where.ip());
    EXPECT_EQ(c.value("family", ""), where.family_name());
    EXPECT_EQ((*connect)["priority"], "high");
    EXPECT_FALSE(connect->contains("count"));
    auto accept = Wait(Ours("accept", "tcp", where.port(), pair.client_port), "accept");
    ASSERT_TRUE(accept);
    ExpectProcessFields(*accept);
    EXPECT_EQ((*accept)["data"].value("direction", ""), "inbound");
    EXPECT_EQ((*accept)["data"].value("initiated", true), false);

    ASSERT_TRUE(SendAll(pair.client.get(), 1000));
    ASSERT_TRUE(RecvAll(pair.server.get(), 1000));
    ASSERT_TRUE(SendAll(pair.server.get(), 300));
    ASSERT_TRUE(RecvAll(pair.client.get(), 300));
    // sock_diag knows bytes as of its last dump: a marker connection reported after the data
    // moved proves a dump since.
    TcpPair marker = Connected(listener, where);
    ASSERT_TRUE(marker.server.ok());
    ASSERT_TRUE(Wait(Ours("connect", "tcp", marker.client_port, where.port()), "marker connect"));

    pair.client.Reset();
    pair.server.Reset();
    auto close = Wait(Ours("close", "tcp", pair.client_port, where.port()), "close of the client");
    ASSERT_TRUE(close);
    ExpectProcessFields(*close);
    const json& x = (*close)["data"];
    EXPECT_EQ(x.value("direction", ""), "outbound");
    ASSERT_TRUE(x.contains("bytes_out")) << close->dump();
    EXPECT_GE(x.value("bytes_out", 0), 1000);
    EXPECT_LE(x.value("bytes_out", 0), 1002);  // SYN and FIN may count
    EXPECT_GE(x.value("bytes_in", 0), 300);
    EXPECT_LE(x.value("bytes_in", 0), 302);
    auto server_close = Wait(Ours("close", "tcp", where.port(), pair.client_port), "close of the accepted socket");
    ASSERT_TRUE(server_close);
    EXPECT_EQ((*server_close)["data"].value("direction", ""), "inbound");
    EXPECT_GE((*server_close)["data"].value("bytes_in", 0), 1000);
  }
}

TEST_P(NetworkAgent, UdpDatagramsToALocalListenerAreReported) {
  ASSERT_NO_FATAL_FAILURE(StartAgent());
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "IPv4" : "IPv6");
    Endpoint where;
    Fd server = Bound(family, SOCK_DGRAM, &where);
    ASSERT_TRUE(server.ok());
    auto listen = Wait(Ours("listen", "udp", where.port(), 0), "listen (UDP bind)");
    ASSERT_TRUE(listen);
    ExpectProcessFields(*listen);
    Fd client = ConnectTo(where, SOCK_DGRAM);
    ASSERT_TRUE(client.ok());
    const uint16_t client_port = LocalPort(client.get());
    ASSERT_EQ(send(client.get(), "ping", 4, 0), 4);
    char buf[16];
    ASSERT_EQ(recv(server.get(), buf, sizeof(buf), 0), 4);
    // The client socket stays open (connected to the server) until its event comes. Found by
    // its peer (the server's port is unique); its own port is checked apart, so that a source
    // that reports the datagram but not the port says so.
    auto connect = Wait(Ours("connect", "udp", 0, where.port()), "UDP connect");
    ASSERT_TRUE(connect);
    ExpectProcessFields(*connect);
    EXPECT_EQ((*connect)["data"].value("local_port", 0), client_port)
        << "the UDP connect event does not carry the client's port: " << connect->dump();
    EXPECT_EQ((*connect)["data"].value("local_ip", ""), where.ip()) << connect->dump();
    EXPECT_EQ((*connect)["data"].value("direction", ""), "outbound");
    EXPECT_EQ((*connect)["data"].value("remote_ip", ""), where.ip());
    EXPECT_EQ((*connect)["data"].value("family", ""), where.family_name());
  }
}

// Sums `count` (and data fields) over the events matching pred written so far.
struct Sums {
  int events = 0;
  int64_t count = 0;
  int64_t closed = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
};
Sums SumOf(AgentProcess& agent, const std::function<bool(const json&)>& pred) {
  Sums s;
  for (const json& e : agent.Events()) {
    if (!pred(e)) continue;
    ++s.events;
    s.count += e.value("count", 1);
    s.closed += e["data"].value("closed", 0);
    s.bytes_in += e["data"].value("bytes_in", 0);
    s.bytes_out += e["data"].value("bytes_out", 0);
  }
  return s;
}

// Waits (bounded) until done(sums of the events matching pred) holds; returns the last sums.
Sums WaitForSums(AgentProcess& agent, const std::function<bool(const json&)>& pred,
                 const std::function<bool(const Sums&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  Sums s = SumOf(agent, pred);
  while (!done(s) && std::chrono::steady_clock::now() < deadline) {
    agent.WaitFor([](const json&) { return false; }, 100ms);
    s = SumOf(agent, pred);
  }
  return s;
}

TEST_P(NetworkAgent, ConnectionsAggregatePerIntervalWithCountsAndByteSums) {
  ASSERT_NO_FATAL_FAILURE(StartAgent("medium", "priorities:\n  medium_interval: 1s\n"));
  Endpoint where, other;
  Fd listener = Bound(AF_INET, SOCK_STREAM, &where);
  Fd marker_listener = Bound(AF_INET, SOCK_STREAM, &other);
  ASSERT_TRUE(listener.ok() && marker_listener.ok());
  std::vector<TcpPair> pairs;
  for (int i = 0; i < 3; ++i) {
    pairs.push_back(Connected(listener, where));
    ASSERT_TRUE(pairs.back().server.ok());
  }
  for (TcpPair& p : pairs) {
    ASSERT_TRUE(SendAll(p.client.get(), 100));
    ASSERT_TRUE(RecvAll(p.server.get(), 100));
  }
  // A connection made after those is reported in the same aggregation interval or a later one:
  // once its event is out, theirs are too (and sock_diag has dumped the bytes above).
  TcpPair marker = Connected(marker_listener, other);
  ASSERT_TRUE(marker.server.ok());
  ASSERT_TRUE(Wait(Ours("connect", "tcp", 0, other.port()), "marker connect"));
  // Events of one flush may be written in any order: wait for the sums.
  const Sums connects =
      WaitForSums(*agent_, Ours("connect", "tcp", 0, where.port()), [](const Sums& s) { return s.count >= 3; });
  EXPECT_EQ(connects.count, 3);
  EXPECT_LT(connects.events, 3) << "three connections of one key in one interval should share an event";
  const Sums accepts =
      WaitForSums(*agent_, Ours("accept", "tcp", where.port(), 0), [](const Sums& s) { return s.count >= 3; });
  EXPECT_EQ(accepts.count, 3);
  for (const json& e : agent_->Events()) {
    if (!Ours("connect", "tcp", 0, where.port())(e)) continue;
    EXPECT_EQ(e["priority"], "medium");
    if (e.value("count", 1) > 1) {
      EXPECT_TRUE(e.contains("first_ts") && e.contains("last_ts")) << e.dump();
      EXPECT_FALSE(e.contains("agg_key")) << e.dump();
    }
  }

  // They end in a later interval: close events, aggregated, with the bytes summed.
  for (TcpPair& p : pairs) {
    p.client.Reset();
    p.server.Reset();
  }
  const Sums closes = WaitForSums(*agent_, Ours("close", "tcp", 0, where.port()),
                                  [&](const Sums& s) { return s.count + connects.closed >= 3; });
  EXPECT_EQ(closes.count + connects.closed, 3) << "agent log:\n" << agent_->Log();
  EXPECT_GE(closes.bytes_out + connects.bytes_out, 300);
  EXPECT_LE(closes.bytes_out + connects.bytes_out, 306);
}

INSTANTIATE_TEST_SUITE_P(Modes, NetworkAgent, ::testing::Values("sock_diag", "ebpf"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// eBPF sees connections however short: those that open and close within one interval are
// counted in their connect event (`closed`, and their bytes), not as close events.
class EbpfNetworkAgent : public NetworkAgent {};

TEST_P(EbpfNetworkAgent, ShortConnectionsMergeIntoTheirConnectEvent) {
  ASSERT_NO_FATAL_FAILURE(StartAgent("medium", "priorities:\n  medium_interval: 2s\n"));
  Endpoint where, other;
  Fd listener = Bound(AF_INET, SOCK_STREAM, &where);
  Fd marker_listener = Bound(AF_INET, SOCK_STREAM, &other);
  ASSERT_TRUE(listener.ok() && marker_listener.ok());
  for (int i = 0; i < 5; ++i) {
    TcpPair p = Connected(listener, where);
    ASSERT_TRUE(p.server.ok());
    ASSERT_TRUE(SendAll(p.client.get(), 100));
    ASSERT_TRUE(RecvAll(p.server.get(), 100));
  }  // closed here
  TcpPair marker = Connected(marker_listener, other);
  ASSERT_TRUE(marker.server.ok());
  ASSERT_TRUE(Wait(Ours("connect", "tcp", 0, other.port()), "marker connect"));
  const Sums connects =
      WaitForSums(*agent_, Ours("connect", "tcp", 0, where.port()), [](const Sums& s) { return s.count >= 5; });
  const Sums closes = WaitForSums(*agent_, Ours("close", "tcp", 0, where.port()),
                                  [&](const Sums& s) { return connects.closed + s.count >= 5; });
  EXPECT_EQ(connects.count, 5);
  EXPECT_EQ(connects.closed + closes.count, 5);
  EXPECT_GE(connects.bytes_out + closes.bytes_out, 500);
  EXPECT_LE(connects.bytes_out + closes.bytes_out, 510);
}

INSTANTIATE_TEST_SUITE_P(Modes, EbpfNetworkAgent, ::testing::Values("ebpf"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace vigil
