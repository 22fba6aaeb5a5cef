// The eBPF sources on the running kernel (root): the programs load and attach, and the
// records for connections and processes this test makes itself carry its pid, the ports and
// byte counts, the exec'd filename and argv, and the exit code. Every wait is for a record,
// with a deadline; nothing sleeps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/ebpf.h"

extern char** environ;

namespace vigil {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Kind = ConnectionRecord::Kind;
using Protocol = ConnectionRecord::Protocol;

std::string OwnComm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

std::unique_ptr<ConnectionSource> OpenConnections(size_t ring_bytes = 256 << 10) {
  if (geteuid() != 0) {
    ADD_FAILURE() << "this test loads eBPF programs: run it as root";
    return nullptr;
  }
  EbpfOptions options;
  options.ring_buffer_bytes = ring_bytes;
  Result<std::unique_ptr<ConnectionSource>> source = OpenEbpfConnectionSource(options);
  if (!source.ok()) {
    ADD_FAILURE() << source.status().ToString();
    return nullptr;
  }
  return std::move(*source);
}

// Everything a source has delivered so far, and waiting for more.
template <typename Source, typename Record>
class Delivered {
 public:
  explicit Delivered(Source* source) : source_(source) {}

  // The first record (delivered so far or within `timeout`) for which pred is true.
  std::optional<Record> WaitFor(const std::function<bool(const Record&)>& pred,
                                std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    size_t checked = 0;
    for (;;) {
      for (; checked < all_.size(); ++checked) {
        if (pred(all_[checked])) return all_[checked];
      }
      if (Clock::now() >= deadline) return std::nullopt;
      Status st = source_->Read(50, &all_, &lost_);
      if (!st.ok()) {
        ADD_FAILURE() << st.ToString();
        return std::nullopt;
      }
    }
  }

  size_t Count(const std::function<bool(const Record&)>& pred) const {
    size_t n = 0;
    for (const Record& r : all_) n += pred(r) ? 1 : 0;
    return n;
  }

  uint64_t lost() const { return lost_; }

 private:
  Source* source_;
  std::vector<Record> all_;
  uint64_t lost_ = 0;
};

using Records = Delivered<ConnectionSource, ConnectionRecord>;
using ProcRecords = Delivered<ProcessSource, ProcEvent>;

// A loopback socket address of `family` and `port` (host order).
sockaddr_storage Loopback(int family, uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = in6addr_loopback;
    sin6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
  }
  return ss;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// A socket of `type` bound to the loopback address on a free port.
int BoundSocket(int family, int type) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t len = 0;
  sockaddr_storage ss = Loopback(family, 0, &len);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, size_t n) {
  std::string data(n, 'x');
  size_t done = 0;
  while (done < n) {
    ssize_t w = send(fd, data.data() + done, n - done, 0);
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

bool RecvAll(int fd, size_t n) {
  std::string buf(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = recv(fd, buf.data() + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

const std::array<uint8_t, 16>& LoopbackBytes(int family) {
  static const std::array<uint8_t, 16> v4{127, 0, 0, 1};
  static const std::array<uint8_t, 16> v6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return family == AF_INET ? v4 : v6;
}

void CheckTcpConnection(int family) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->name(), "ebpf");
  Records records(source.get());
  const int32_t pid = getpid();
  const std::string comm = OwnComm();
  const uint8_t fam = family == AF_INET ? 4 : 6;

  int listener = BoundSocket(family, SOCK_STREAM);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(listen(listener, 4), 0);
  const uint16_t server_port = LocalPort(listener);

  int client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  socklen_t len = 0;
  sockaddr_storage to = Loopback(family, server_port, &len);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), len), 0);
  const uint16_t client_port = LocalPort(client);
  int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);

  constexpr size_t kUp = 12345, kDown = 54321;
  ASSERT_TRUE(SendAll(client, kUp));
  ASSERT_TRUE(RecvAll(server, kUp));
  ASSERT_TRUE(SendAll(server, kDown));
  ASSERT_TRUE(RecvAll(client, kDown));
  close(client);
  close(server);

  auto listen_rec = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kListen && r.protocol == Protocol::kTcp && r.local.port == server_port;
  });
  ASSERT_TRUE(listen_rec.has_value()) << "no listen record for port " << server_port;
  EXPECT_EQ(listen_rec->pid, pid);
  EXPECT_EQ(listen_rec->family, fam);
  EXPECT_EQ(listen_rec->comm, comm);
  EXPECT_EQ(listen_rec->uid, static_cast<int64_t>(geteuid()));

  auto connect_rec = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kConnect && r.protocol == Protocol::kTcp && r.local.port == client_port &&
           r.remote.port == server_port;
  });
  ASSERT_TRUE(connect_rec.has_value()) << "no connect record " << client_port << " -> " << server_port;
  EXPECT_EQ(connect_rec->pid, pid);
  EXPECT_EQ(connect_rec->comm, comm);
  EXPECT_EQ(connect_rec->family, fam);
  EXPECT_EQ(connect_rec->local.addr, LoopbackBytes(family));
  EXPECT_EQ(connect_rec->remote.addr, LoopbackBytes(family));
  EXPECT_NE(connect_rec->socket_id, 0u);
  EXPECT_NE(connect_rec->ts_ns, 0u);

  auto accept_rec = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kAccept && r.protocol == Protocol::kTcp && r.local.port == server_port &&
           r.remote.port == client_port;
  });
  ASSERT_TRUE(accept_rec.has_value()) << "no accept record " << client_port << " -> " << server_port;
  EXPECT_EQ(accept_rec->pid, pid) << "the accepting process";
  EXPECT_EQ(accept_rec->comm, comm);
  EXPECT_NE(accept_rec->socket_id, connect_rec->socket_id);

  auto client_close = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == connect_rec->socket_id; });
  ASSERT_TRUE(client_close.has_value()) << "no close record for the client socket";
  EXPECT_EQ(client_close->pid, pid);
  EXPECT_EQ(client_close->local.port, client_port);
  EXPECT_EQ(client_close->remote.port, server_port);
  ASSERT_TRUE(client_close->bytes_known);
  EXPECT_EQ(client_close->bytes_out, kUp);
  EXPECT_EQ(client_close->bytes_in, kDown);

  auto server_close = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == accept_rec->socket_id; });
  ASSERT_TRUE(server_close.has_value()) << "no close record for the accepted socket";
  EXPECT_EQ(server_close->pid, pid);
  ASSERT_TRUE(server_close->bytes_known);
  EXPECT_EQ(server_close->bytes_in, kUp);
  EXPECT_EQ(server_close->bytes_out, kDown);

  close(listener);
  auto listener_close = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == listen_rec->socket_id; });
  ASSERT_TRUE(listener_close.has_value()) << "no close record for the listening socket";
  EXPECT_FALSE(listener_close->bytes_known);
  EXPECT_EQ(listener_close->local.port, server_port);
  EXPECT_EQ(records.lost(), 0u);
}

TEST(EbpfConnectionSource, TcpOverIpv4) { CheckTcpConnection(AF_INET); }

TEST(EbpfConnectionSource, TcpOverIpv6) { CheckTcpConnection(AF_INET6); }

TEST(EbpfConnectionSource, RefusedTcpConnectIsReportedAndClosed) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  Records records(source.get());
  // A port nobody listens on: bind it and close it again without listening.
  int probe = BoundSocket(AF_INET, SOCK_STREAM);
  ASSERT_GE(probe, 0);
  const uint16_t dead_port = LocalPort(probe);
  close(probe);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage to = Loopback(AF_INET, dead_port, &len);
  ASSERT_NE(connect(client, reinterpret_cast<sockaddr*>(&to), len), 0);
  close(client);
  auto attempt = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kConnect && r.protocol == Protocol::kTcp && r.remote.port == dead_port;
  });
  ASSERT_TRUE(attempt.has_value());
  EXPECT_EQ(attempt->pid, getpid());
  auto closed = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == attempt->socket_id; });
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->bytes_known);
  EXPECT_EQ(closed->bytes_in, 0u);
  EXPECT_EQ(closed->bytes_out, 0u);
}

TEST(EbpfConnectionSource, ResetConnectionCountsDataOnly) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  Records records(source.get());
  int listener = BoundSocket(AF_INET, SOCK_STREAM);
  ASSERT_GE(listener, 0);
  ASSERT_EQ(listen(listener, 1), 0);
  const uint16_t server_port = LocalPort(listener);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage to = Loopback(AF_INET, server_port, &len);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), len), 0);
  int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);
  ASSERT_TRUE(SendAll(client, 1000));
  ASSERT_TRUE(RecvAll(server, 400));
  close(server);  // 600 bytes unread: the kernel answers with a reset, not a FIN
  char c;
  EXPECT_LE(recv(client, &c, 1, 0), 0);
  close(client);
  close(listener);

  auto connect_rec = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kConnect && r.protocol == Protocol::kTcp && r.remote.port == server_port;
  });
  ASSERT_TRUE(connect_rec.has_value());
  auto accept_rec = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kAccept && r.protocol == Protocol::kTcp && r.local.port == server_port;
  });
  ASSERT_TRUE(accept_rec.has_value());
  auto client_close = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == connect_rec->socket_id; });
  ASSERT_TRUE(client_close.has_value());
  ASSERT_TRUE(client_close->bytes_known);
  EXPECT_EQ(client_close->bytes_out, 1000u);
  EXPECT_EQ(client_close->bytes_in, 0u);
  auto server_close = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == accept_rec->socket_id; });
  ASSERT_TRUE(server_close.has_value());
  ASSERT_TRUE(server_close->bytes_known);
  EXPECT_EQ(server_close->bytes_in, 1000u) << "received by the kernel, read or not";
  EXPECT_EQ(server_close->bytes_out, 0u);
}

void CheckUdp(int family) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  Records records(source.get());
  const int32_t pid = getpid();
  const uint8_t fam = family == AF_INET ? 4 : 6;

  int server = BoundSocket(family, SOCK_DGRAM);
  ASSERT_GE(server, 0);
  const uint16_t server_port = LocalPort(server);
  int client = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0);
  socklen_t len = 0;
  sockaddr_storage to = Loopback(family, server_port, &len);
  for (int i = 0; i < 3; ++i) {  // three datagrams: one record
    ASSERT_EQ(sendto(client, "hello", 5, 0, reinterpret_cast<sockaddr*>(&to), len), 5);
  }
  const uint16_t client_port = LocalPort(client);
  for (int i = 0; i < 3; ++i) {
    char buf[16];
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ASSERT_EQ(recvfrom(server, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &from_len), 5);
  }
  close(client);
  close(server);

  auto bound = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kListen && r.protocol == Protocol::kUdp && r.local.port == server_port;
  });
  ASSERT_TRUE(bound.has_value()) << "no bind record for UDP port " << server_port;
  EXPECT_EQ(bound->pid, pid);
  EXPECT_EQ(bound->family, fam);

  auto is_sent = [&](const ConnectionRecord& r) {
    return r.kind == Kind::kConnect && r.protocol == Protocol::kUdp && r.remote.port == server_port &&
           r.local.port == client_port;
  };
  auto sent = records.WaitFor(is_sent);
  ASSERT_TRUE(sent.has_value()) << "no record of the datagrams " << client_port << " -> " << server_port;
  EXPECT_EQ(sent->pid, pid);
  EXPECT_EQ(sent->comm, OwnComm());
  EXPECT_EQ(sent->family, fam);
  EXPECT_EQ(sent->remote.addr, LoopbackBytes(family));

  auto is_received = [&](const ConnectionRecord& r) {
    return r.kind == Kind::kAccept && r.protocol == Protocol::kUdp && r.local.port == server_port &&
           r.remote.port == client_port;
  };
  auto received = records.WaitFor(is_received);
  ASSERT_TRUE(received.has_value()) << "no record of the datagrams received on " << server_port;
  EXPECT_EQ(received->pid, pid);
  EXPECT_EQ(received->socket_id, bound->socket_id);

  auto client_close = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kClose && r.protocol == Protocol::kUdp && r.socket_id == sent->socket_id;
  });
  ASSERT_TRUE(client_close.has_value()) << "no close record for the UDP client";
  EXPECT_EQ(client_close->pid, pid);
  auto server_close = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kClose && r.protocol == Protocol::kUdp && r.socket_id == bound->socket_id;
  });
  ASSERT_TRUE(server_close.has_value()) << "no close record for the UDP server";
  // This kernel (6.3 or later) has the tracepoints for byte counts.
  ASSERT_TRUE(client_close->bytes_known);
  EXPECT_EQ(client_close->bytes_out, 15u);
  EXPECT_EQ(client_close->bytes_in, 0u);
  ASSERT_TRUE(server_close->bytes_known);
  EXPECT_EQ(server_close->bytes_in, 15u);
  EXPECT_EQ(server_close->bytes_out, 0u);

  // The closes come after every datagram's record: each peer was reported once.
  EXPECT_EQ(records.Count(is_sent), 1u);
  EXPECT_EQ(records.Count(is_received), 1u);
}

TEST(EbpfConnectionSource, UdpOverIpv4) { CheckUdp(AF_INET); }

TEST(EbpfConnectionSource, UdpOverIpv6) { CheckUdp(AF_INET6); }

// A connected socket's record carries the port and address the kernel chose at connect(2),
// whether the socket then sends, or only closes.
void CheckConnectedUdp(bool send_first) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  Records records(source.get());
  int server = BoundSocket(AF_INET, SOCK_DGRAM);
  ASSERT_GE(server, 0);
  const uint16_t server_port = LocalPort(server);
  int client = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  socklen_t len = 0;
  sockaddr_storage to = Loopback(AF_INET, server_port, &len);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), len), 0);
  const uint16_t client_port = LocalPort(client);
  if (send_first) {
    ASSERT_EQ(send(client, "x", 1, 0), 1);
    ASSERT_EQ(send(client, "yz", 2, 0), 2);
  }
  close(client);
  close(server);
  auto connected = records.WaitFor([&](const ConnectionRecord& r) {
    return r.kind == Kind::kConnect && r.protocol == Protocol::kUdp && r.remote.port == server_port;
  });
  ASSERT_TRUE(connected.has_value());
  EXPECT_EQ(connected->pid, getpid());
  EXPECT_EQ(connected->local.port, client_port);
  EXPECT_EQ(connected->local.addr, LoopbackBytes(AF_INET));
  auto closed = records.WaitFor(
      [&](const ConnectionRecord& r) { return r.kind == Kind::kClose && r.socket_id == connected->socket_id; });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->remote.port, server_port) << "a connected socket closes with its peer";
  ASSERT_TRUE(closed->bytes_known);
  EXPECT_EQ(closed->bytes_out, send_first ? 3u : 0u);
  EXPECT_EQ(records.Count([&](const ConnectionRecord& r) { return r.socket_id == connected->socket_id; }), 2u);
}

TEST(EbpfConnectionSource, ConnectedUdpSocketThatSends) { CheckConnectedUdp(true); }

TEST(EbpfConnectionSource, ConnectedUdpSocketThatOnlyCloses) { CheckConnectedUdp(false); }

TEST(EbpfConnectionSource, CountsRecordsLostWhenTheRingIsFull) {
  std::unique_ptr<ConnectionSource> source = OpenConnections(4096);  // room for about 36 records
  ASSERT_NE(source, nullptr);
  Records records(source.get());
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {  // 200 listen records with nobody reading
    int fd = BoundSocket(AF_INET, SOCK_STREAM);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(listen(fd, 1), 0);
    fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  records.WaitFor([](const ConnectionRecord&) { return false; }, 300ms);  // drains what is there
  EXPECT_GE(records.lost(), 100u);
}

TEST(EbpfConnectionSource, InterruptWakesAReadAndLaterReadsReturnAtOnce) {
  std::unique_ptr<ConnectionSource> source = OpenConnections();
  ASSERT_NE(source, nullptr);
  std::thread interrupter([&] {
    std::this_thread::sleep_for(100ms);  // lets Read block first; the assertion is on Read's return
    source->Interrupt();
  });
  std::vector<ConnectionRecord> out;
  uint64_t lost = 0;
  const auto start = Clock::now();
  ASSERT_TRUE(source->Read(10000, &out, &lost).ok());
  EXPECT_LT(Clock::now() - start, 5s);
  interrupter.join();
  const auto again = Clock::now();
  ASSERT_TRUE(source->Read(10000, &out, &lost).ok());
  EXPECT_LT(Clock::now() - again, 1s);
}

TEST(EbpfConnectionSource, RefusesARingBufferSizeThatIsNotAPowerOfTwo) {
  EbpfOptions options;
  options.ring_buffer_bytes = 100000;
  Result<std::unique_ptr<ConnectionSource>> source = OpenEbpfConnectionSource(options);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

std::unique_ptr<ProcessSource> OpenProcesses(size_t ring_bytes = 256 << 10) {
  if (geteuid() != 0) {
    ADD_FAILURE() << "this test loads eBPF programs: run it as root";
    return nullptr;
  }
  EbpfOptions options;
  options.ring_buffer_bytes = ring_bytes;
  Result<std::unique_ptr<ProcessSource>> source = OpenEbpfProcessSource(options);
  if (!source.ok()) {
    ADD_FAILURE() << source.status().ToString();
    return nullptr;
  }
  return std::move(*source);
}

// Starts argv[0] (a path) with exactly `argv`; returns its pid.
pid_t Start(const std::vector<std::string>& argv) {
  std::vector<char*> raw;
  for (const std::string& a : argv) raw.push_back(const_cast<char*>(a.c_str()));
  raw.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, raw.data(), environ) != 0) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return -1;
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = -1;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    out += a;
    out.push_back('\0');
  }
  return out;
}

TEST(EbpfProcessSource, ExecCarriesFilenameArgsPathsAndIdentity) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->name(), "ebpf");
  ProcRecords records(source.get());
  const std::vector<std::string> argv = {"/bin/true", "vigil-ebpf-test", "two words", "", "last"};
  const pid_t child = Start(argv);
  ASSERT_GT(child, 0);
  EXPECT_EQ(Wait(child), 0);

  auto exec = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec && e.pid == child; });
  ASSERT_TRUE(exec.has_value()) << "no exec record for pid " << child;
  EXPECT_TRUE(exec->from_kernel);
  EXPECT_EQ(exec->filename, "/bin/true");
  EXPECT_FALSE(exec->filename_truncated);
  EXPECT_EQ(exec->args, Joined(argv));
  EXPECT_FALSE(exec->args_truncated);
  char exe[PATH_MAX];
  ASSERT_NE(realpath("/bin/true", exe), nullptr);
  EXPECT_EQ(exec->exe, exe);
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(exec->cwd, cwd);
  EXPECT_EQ(exec->ppid, getpid());
  EXPECT_EQ(exec->ruid, getuid());
  EXPECT_EQ(exec->euid, geteuid());
  EXPECT_EQ(exec->comm, "true");
  EXPECT_NE(exec->ts_ns, 0u);

  auto fork = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kFork && e.pid == child; });
  ASSERT_TRUE(fork.has_value()) << "no fork record for pid " << child;
  EXPECT_EQ(fork->ppid, getpid());
  EXPECT_LE(fork->ts_ns, exec->ts_ns);

  auto exit = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == child; });
  ASSERT_TRUE(exit.has_value()) << "no exit record for pid " << child;
  EXPECT_EQ(exit->exit_status, 0);
  EXPECT_EQ(exit->comm, "true");
  EXPECT_TRUE(exit->filename.empty()) << "strings are for execs only";
  EXPECT_EQ(records.lost(), 0u);
}

TEST(EbpfProcessSource, ExitCarriesTheExitCodeAndTheKillingSignal) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  ProcRecords records(source.get());
  const pid_t code7 = Start({"/bin/sh", "-c", "exit 7"});
  const pid_t killed = Start({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_GT(code7, 0);
  ASSERT_GT(killed, 0);
  const int code7_status = Wait(code7);
  const int killed_status = Wait(killed);
  EXPECT_EQ(code7_status, 7 << 8);
  EXPECT_EQ(killed_status, SIGKILL);

  auto exit7 = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == code7; });
  ASSERT_TRUE(exit7.has_value());
  EXPECT_EQ(exit7->exit_status, code7_status);
  auto exit9 = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == killed; });
  ASSERT_TRUE(exit9.has_value());
  EXPECT_EQ(exit9->exit_status, killed_status);
}

TEST(EbpfProcessSource, ThreadsAreNotProcesses) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  ProcRecords records(source.get());
  std::thread([] {}).join();  // a thread of this process starts and ends: no fork, no exit
  // A child whose main thread ends first, and whose second thread then ends the process
  // with status 5: one fork, one exit, with the process's status.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pthread_t t;
    pthread_create(
        &t, nullptr,
        [](void*) -> void* {
          usleep(20000);  // inside the child: lets the main thread end first
          _exit(5);
        },
        nullptr);
    syscall(SYS_exit, 0);  // this thread only
  }
  EXPECT_EQ(Wait(child), 5 << 8);
  auto exit = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == child; });
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_status, 5 << 8);
  // Everything of the child and of this process's thread came before the child's exit.
  EXPECT_EQ(records.Count([](const ProcEvent& e) { return e.pid == getpid(); }), 0u);
  EXPECT_EQ(records.Count([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kFork && e.pid == child; }), 1u);
  EXPECT_EQ(records.Count([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == child; }), 1u);
  EXPECT_EQ(records.Count([&](const ProcEvent& e) { return e.ppid == child; }), 0u);
}

TEST(EbpfProcessSource, ExitByTheThreadOnlyExitCallStillHasTheCode) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  ProcRecords records(source.get());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) syscall(SYS_exit, 6);  // exit(2), not exit_group(2): no group exit status
  EXPECT_EQ(Wait(child), 6 << 8);
  auto exit = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExit && e.pid == child; });
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_status, 6 << 8);
}

TEST(EbpfProcessSource, LongArgvIsTruncatedAndFlagged) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  ProcRecords records(source.get());
  const std::vector<std::string> argv = {"/bin/true", std::string(3000, 'a'), std::string(3000, 'b')};
  const pid_t child = Start(argv);
  ASSERT_GT(child, 0);
  Wait(child);
  auto exec = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec && e.pid == child; });
  ASSERT_TRUE(exec.has_value());
  EXPECT_TRUE(exec->args_truncated);
  EXPECT_EQ(exec->args, Joined(argv).substr(0, 4096));
}

TEST(EbpfProcessSource, RelativeExecKeepsTheGivenNameAndResolvesTheFile) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  ProcRecords records(source.get());
  char cwd[PATH_MAX];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir("/usr/bin"), 0);
  const pid_t child = Start({"./true", "x"});
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_GT(child, 0);
  Wait(child);
  auto exec = records.WaitFor([&](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec && e.pid == child; });
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->filename, "./true");
  EXPECT_EQ(exec->exe, "/usr/bin/true");
  EXPECT_EQ(exec->cwd, "/usr/bin");
}

TEST(EbpfProcessSource, InterruptWakesAReadAndLaterReadsReturnAtOnce) {
  std::unique_ptr<ProcessSource> source = OpenProcesses();
  ASSERT_NE(source, nullptr);
  std::thread interrupter([&] {
    std::this_thread::sleep_for(100ms);  // lets Read block first; the assertion is on Read's return
    source->Interrupt();
  });
  std::vector<ProcEvent> out;
  uint64_t overruns = 0;
  const auto start = Clock::now();
  ASSERT_TRUE(source->Read(10000, &out, &overruns).ok());
  EXPECT_LT(Clock::now() - start, 5s);
  interrupter.join();
  const auto again = Clock::now();
  ASSERT_TRUE(source->Read(10000, &out, &overruns).ok());
  EXPECT_LT(Clock::now() - again, 1s);
}

}  // namespace
}  // namespace vigil
