// Volume: how many bytes a busy device's events take, sent raw (every event on its own) and
// aggregated (identical events merged per priority interval, the default), measured by two
// agents watching the same busy period side by side.
//
// TARGETS
//   aggregated bytes <= 20 % of raw bytes over the run (default: 10 minutes)
// REFERENCE printed beside: the raw agent of the same run, and the zstd-compressed size of
// both outputs (what an uplink sending compressed batches would carry), when the zstd command
// is installed.
//
// How: two `vigil-agent run` processes start with the same defaults except that in the "raw"
// one every collector's priority is high, and the high interval is 0 s (sent at once, never
// merged); agent_stats every 60 s in both. Then a workload like a busy device's runs for the
// given time:
//   - a health check every 200 ms: `/bin/sh -c "cat /proc/loadavg > /dev/null"` (two execs)
//   - an HTTP-like request every 500 ms: a TCP connection to a listener on 127.0.0.1, 200 bytes
//     up and 1,000 down, closed
//   - a DNS-like query every second: a UDP datagram to a local socket, answered
// and both agents are stopped with SIGTERM, which flushes what they hold. Each agent's JSON
// Lines output is then counted, by type.
//
// Usage: vigil-bench-volume --agent PATH [--seconds N] [--keep-temp]
//   Needs root. Exit status: 0 when it ran, whatever its figures; 1 when it could not run;
//   2 on a usage error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

// ---- the workload -----------------------------------------------------------------------

struct Workload {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> execs{0}, tcp{0}, udp{0}, failures{0};
};

int ListenTcp(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int BindUdp(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  timeval tv{0, 200'000};
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

void TcpServer(Workload* w, int listen_fd) {
  std::vector<char> reply(1000, 'r');
  while (!w->stop.load()) {
    int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;  // woken by shutdown() at the end
    char buf[512];
    if (recv(c, buf, sizeof(buf), 0) > 0) send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    close(c);
  }
}

void UdpServer(Workload* w, int fd) {
  char buf[512];
  while (!w->stop.load()) {
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0) sendto(fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

bool TcpRequest(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  std::string request(200, 'q');
  ok = ok && send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size());
  char buf[2048];
  size_t got = 0;
  for (ssize_t n; ok && (n = recv(fd, buf, sizeof(buf), 0)) > 0;) got += static_cast<size_t>(n);
  close(fd);
  return ok && got == 1000;
}

bool UdpQuery(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const char query[] = "vigil-bench-volume query";
  bool ok = sendto(fd, query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) > 0;
  char buf[64];
  ok = ok && recv(fd, buf, sizeof(buf), 0) > 0;
  close(fd);
  return ok;
}

bool HealthCheck() {
  CommandResult r = RunCommand({"/bin/sh", "-c", "cat /proc/loadavg > /dev/null"});
  return r.exit_code == 0;
}

// Runs the workload for `ms`; the counters say what it did.
void RunWorkload(Workload* w, int64_t ms, uint16_t tcp_port, uint16_t udp_port) {
  const int64_t start = MonotonicMs();
  int64_t next_exec = start, next_tcp = start, next_udp = start;
  while (!g_interrupted.load()) {
    const int64_t now = MonotonicMs();
    if (now - start >= ms) break;
    if (now >= next_exec) {
      (HealthCheck() ? w->execs : w->failures) += 1;
      next_exec += 200;
    }
    if (now >= next_tcp) {
      (TcpRequest(tcp_port) ? w->tcp : w->failures) += 1;
      next_tcp += 500;
    }
    if (now >= next_udp) {
      (UdpQuery(udp_port) ? w->udp : w->failures) += 1;
      next_udp += 1000;
    }
    SleepMs(std::max<int64_t>(1, std::min({next_exec, next_tcp, next_udp}) - MonotonicMs()));
  }
}

// ---- the agents -------------------------------------------------------------------------

// The sections of `vigil-agent config --print-defaults` that have a priority: the collectors
// (and `stats`, the agent's own, left out: its events are never merged).
std::vector<std::string> Collectors(const std::string& agent, std::string* error) {
  CommandResult r = RunCommand({agent, "config", "--print-defaults"});
  std::vector<std::string> out;
  if (r.exit_code != 0) {
    *error = "vigil-agent config --print-defaults: " + LastLines(r.output, 3);
    return out;
  }
  std::istringstream in(r.output);
  std::string line, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#' && line.back() == ':') section = line.substr(0, line.size() - 1);
    if (line.rfind("  priority:", 0) == 0 && !section.empty() && section != "stats") out.push_back(section);
  }
  return out;
}

struct Output {
  uint64_t lines = 0, bytes = 0, unreadable = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> lines, bytes
  std::string zstd;  // compressed size, or why there is none
};

Output Measure(const std::string& path) {
  Output o;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    ++o.lines;
    o.bytes += line.size() + 1;
    Json e = Json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      ++o.unreadable;
      continue;
    }
    auto& t = o.by_type[e.value("type", "?")];
    ++t.first;
    t.second += line.size() + 1;
  }
  CommandResult z = RunCommand({"zstd", "-q", "-3", "-c", path});
  if (z.exit_code == 0)
    o.zstd = Thousands(z.output.size()) + " B";
  else
    o.zstd = z.exit_code == 127 ? "n/a (zstd not installed)" : "n/a (zstd failed)";
  return o;
}

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --agent PATH [--seconds N] [--keep-temp]\n", argv0);
  return 2;
}

}  // namespace

int Main(int argc, char** argv) {
  std::string agent;
  int seconds = 600;
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--agent" && value) {
      agent = value;
      ++i;
    } else if (a == "--seconds" && ParseInt(value, 10, 86'400, &seconds)) {
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (agent.empty()) return Usage(argv[0]);
  if (geteuid() != 0) {
    std::fprintf(stderr, "volume: run as root (the agent's kernel sources need it)\n");
    return 1;
  }
  CatchInterrupts();
  std::string error;
  const std::vector<std::string> collectors = Collectors(agent, &error);
  if (!error.empty()) {
    std::fprintf(stderr, "volume: %s\n", error.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/vigil-volume.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::fprintf(stderr, "volume: mkdtemp: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string tmp = tmpl;

  std::string raw_yaml = "priorities:\n  high_interval: 0s\n";
  for (const std::string& c : collectors) raw_yaml += c + ":\n  priority: high\n";
  AgentRun raw(agent, tmp + "/raw"), aggregated(agent, tmp + "/aggregated");
  for (auto [run, yaml] : {std::pair{&raw, raw_yaml}, std::pair{&aggregated, std::string()}}) {
    error = run->Start(yaml, "60s");
    if (!error.empty()) {
      std::fprintf(stderr, "volume: %s\n", error.c_str());
      return 1;
    }
  }
  // Their first look at the device (process table, sockets, inventories) must be over.
  WaitIdle({raw.pid(), aggregated.pid()}, 20'000);

  std::printf("== volume: events of a busy device, raw vs aggregated ==\n");
  std::printf("   %d s of: a health check (2 execs) every 200 ms, a TCP request every 500 ms, a UDP query\n"
              "   every second; two agents side by side, one sending every event alone (all priorities\n"
              "   high, high interval 0 s), one with the default priorities. Collectors: ",
              seconds);
  for (size_t i = 0; i < collectors.size(); ++i) std::printf("%s%s", i ? ", " : "", collectors[i].c_str());
  std::printf("\n");
  std::fflush(stdout);

  Workload w;
  uint16_t tcp_port = 0, udp_port = 0;
  int lfd = ListenTcp(&tcp_port), ufd = BindUdp(&udp_port);
  if (lfd < 0 || ufd < 0) {
    std::fprintf(stderr, "volume: cannot open the loopback listeners: %s\n", std::strerror(errno));
    return 1;
  }
  std::thread tcp_server(TcpServer, &w, lfd), udp_server(UdpServer, &w, ufd);
  RunWorkload(&w, int64_t{seconds} * 1000, tcp_port, udp_port);
  w.stop = true;
  shutdown(lfd, SHUT_RDWR);
  tcp_server.join();
  udp_server.join();
  close(lfd);
  close(ufd);

  const bool raw_stopped = raw.Stop(), aggregated_stopped = aggregated.Stop();
  const Output r = Measure(raw.events_path()), a = Measure(aggregated.events_path());
  std::printf("   workload: %s health checks, %s TCP requests, %s UDP queries, %s failed\n",
              Thousands(w.execs).c_str(), Thousands(w.tcp).c_str(), Thousands(w.udp).c_str(),
              Thousands(w.failures).c_str());
  std::printf("\n   %-18s %14s %16s %14s %16s\n", "type", "raw events", "raw bytes", "aggr. events", "aggr. bytes");
  std::map<std::string, bool> types;
  for (const auto& [t, v] : r.by_type) types[t] = true;
  for (const auto& [t, v] : a.by_type) types[t] = true;
  for (const auto& [t, unused] : types) {
    auto rv = r.by_type.count(t) ? r.by_type.at(t) : std::pair<uint64_t, uint64_t>{0, 0};
    auto av = a.by_type.count(t) ? a.by_type.at(t) : std::pair<uint64_t, uint64_t>{0, 0};
    std::printf("   %-18s %14s %16s %14s %16s\n", t.c_str(), Thousands(rv.first).c_str(), Thousands(rv.second).c_str(),
                Thousands(av.first).c_str(), Thousands(av.second).c_str());
  }
  std::printf("   %-18s %14s %16s %14s %16s\n", "total", Thousands(r.lines).c_str(), Thousands(r.bytes).c_str(),
              Thousands(a.lines).c_str(), Thousands(a.bytes).c_str());
  std::printf("   %-18s %31s %31s\n", "zstd -3", r.zstd.c_str(), a.zstd.c_str());
  const double minutes = seconds / 60.0;
  std::printf("   per minute: raw %s B, aggregated %s B\n", Thousands(static_cast<uint64_t>(r.bytes / minutes)).c_str(),
              Thousands(static_cast<uint64_t>(a.bytes / minutes)).c_str());
  if (r.unreadable + a.unreadable > 0)
    std::printf("   note: unreadable lines: raw %s, aggregated %s\n", Thousands(r.unreadable).c_str(),
                Thousands(a.unreadable).c_str());
  if (!raw_stopped || !aggregated_stopped) std::printf("   note: an agent did not stop within 30 s and was killed\n");
  for (AgentRun* run : {&raw, &aggregated})
    for (const std::string& warning : run->Warnings()) std::printf("   note: agent log: %s\n", warning.c_str());

  const double ratio = r.bytes > 0 ? 100.0 * static_cast<double>(a.bytes) / static_cast<double>(r.bytes) : 0;
  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  PrintTarget("aggregated bytes <= 20 % of raw", Fixed(ratio, 1) + " %", r.bytes > 0 && ratio <= 20.0 ? "PASS" : "MISS");
  if (keep_temp)
    std::printf("   outputs kept in %s\n", tmp.c_str());
  else
    fs::remove_all(tmp);
  return 0;
}

}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
