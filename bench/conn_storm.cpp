// Connection storm: as many short TCP connections to a loopback listener as the machine makes
// in a fixed time (one worker process per core), side by side in one run with no agent, with
// vigil-agent in `network.mode: ebpf`, and with vigil-agent in `network.mode: sock_diag`.
//
// TARGETS
//   connections/s with the agent in ebpf mode   >= 95 % of connections/s with no agent
//   connections captured / made, ebpf mode      =  100 % (sum of `count` of the agent's network
//                                                  connect events to the listener)
// Reported without a target: the same for sock_diag mode, which by design misses connections
// shorter than its poll interval (network.poll_interval, 1 s by default): its capture of a
// storm of short connections is near 0 %, and its cost is that of dumping the socket table
// every interval. Also reported: the agent's CPU per 1,000 connections (utime+stime from
// /proc/PID/stat), peak RSS (VmHWM), and drops from its last agent_stats event.
//
// How: an acceptor process accepts and closes every connection on a listener bound to
// 127.0.0.1 (backlog 4096); `workers` processes (default one per core) each loop
// socket() + connect() + close() for a fixed time, closing with SO_LINGER 0 (a reset: no
// TIME_WAIT, so the ephemeral ports never run out); connections/s counts the connects that
// completed inside the timed window. The three conditions take turns in rounds (default 5
// rounds of 2 s: 10 s per condition), each round starting one condition further along, so that
// a change in the machine's load falls on all of them alike.
//   Each agent round starts a fresh `vigil-agent run -c CONFIG` with every default except the
//   JSON Lines output and state dir (in a temp dir), stats.interval 1s and network.mode; the
//   storm starts once its CPU time stops growing. After the storm the agent is left until it
//   has caught up, then stopped with SIGTERM, which sends the aggregates it holds (network is
//   medium priority: one event per process and destination per interval, with `count`).
//   Captured = sum of `count` of `network` `connect` events whose remote port is the
//   listener's and whose process is this benchmark (exe, or comm when partial). When the
//   agent cannot run in a mode (eBPF not built in, or the kernel refuses it), that mode prints
//   "unavailable (reason)" instead of figures.
//
// Usage: vigil-bench-conn-storm --agent PATH [--seconds N] [--rounds N] [--workers N] [--keep-temp]
//   --seconds is the time per condition. Needs root. Exit status: 0 when the benchmark ran,
//   whatever its figures (it is a measurement, not a test); 1 when it could not run (no agent
//   mode ran); 2 on a usage error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxWorkers = 256;

// ---- the storm --------------------------------------------------------------------------

struct Shared {
  std::atomic<uint32_t> stop;
  std::atomic<uint64_t> done[kMaxWorkers];
  std::atomic<uint64_t> failed[kMaxWorkers];
};

struct StormResult {
  uint64_t in_window = 0;  // connections completed within the timed window
  uint64_t total = 0;      // including those in flight when it closed
  uint64_t failures = 0;   // connect failed
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(in_window) / seconds : 0; }
  void Add(const StormResult& o) {
    in_window += o.in_window;
    total += o.total;
    failures += o.failures;
    seconds += o.seconds;
  }
};

int Listen(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// The acceptor: accepts and closes until killed.
pid_t StartAcceptor(int listener) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    for (;;) {
      int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) close(c);
    }
  }
  return pid;
}

[[noreturn]] void WorkerLoop(Shared* shared, int index, int go_fd, uint16_t port) {
  char c;
  while (read(go_fd, &c, 1) < 0 && errno == EINTR) {
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  const linger reset{1, 0};
  while (shared->stop.load(std::memory_order_relaxed) == 0) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      shared->failed[index].fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0)
      shared->done[index].fetch_add(1, std::memory_order_relaxed);
    else
      shared->failed[index].fetch_add(1, std::memory_order_relaxed);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
  }
  _exit(0);
}

// `workers` processes each make connections to `port` for `ms` milliseconds.
StormResult RunStorm(int workers, int64_t ms, uint16_t port) {
  StormResult r;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return r;
  Shared* shared = new (mem) Shared();
  int go[2];
  if (pipe(go) != 0) {
    munmap(mem, sizeof(Shared));
    return r;
  }
  std::vector<pid_t> pids;
  for (int i = 0; i < workers; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGINT, SIG_IGN);
      signal(SIGTERM, SIG_DFL);
      close(go[1]);
      WorkerLoop(shared, i, go[0], port);
    }
    if (pid > 0) pids.push_back(pid);
  }
  close(go[0]);
  const double t0 = MonotonicSeconds();
  close(go[1]);  // every worker starts now
  const int64_t end_ms = MonotonicMs() + ms;
  while (MonotonicMs() < end_ms && !g_interrupted.load()) SleepMs(std::min<int64_t>(50, end_ms - MonotonicMs()));
  for (int i = 0; i < workers; ++i) r.in_window += shared->done[i].load();
  r.seconds = MonotonicSeconds() - t0;
  shared->stop.store(1);
  for (pid_t p : pids) {
    int status = 0;
    while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (int i = 0; i < workers; ++i) {
    r.total += shared->done[i].load();
    r.failures += shared->failed[i].load();
  }
  munmap(mem, sizeof(Shared));
  return r;
}

// ---- vigil-agent ------------------------------------------------------------------------

struct Capture {
  uint64_t connects = 0;  // sum of count of connect events to the listener from this benchmark
  uint64_t events = 0;    // how many events that took
  uint64_t partial = 0;   // of `connects`, in partial events (named by comm)
  uint64_t closed = 0;    // sum of `closed` of those events (ended within their interval)
  uint64_t lines = 0;
  std::optional<Json> last_stats;
};

Capture ReadCapture(const std::string& jsonl_path, uint16_t port, const std::string& driver_exe,
                    const std::string& driver_comm) {
  Capture c;
  int64_t last_stats_seq = -1;
  std::vector<std::string> files = {jsonl_path};
  for (int i = 1; i <= 100; ++i)
    if (fs::exists(jsonl_path + "." + std::to_string(i))) files.push_back(jsonl_path + "." + std::to_string(i));
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++c.lines;
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;
      const std::string type = j.value("type", "");
      if (type == "agent_stats") {
        const int64_t seq = j.value("seq", int64_t{0});
        if (seq > last_stats_seq && j.contains("data")) {
          last_stats_seq = seq;
          c.last_stats = j["data"];
        }
        continue;
      }
      if (type != "network" || j.value("action", "") != "connect" || !j.contains("data") || !j["data"].is_object())
        continue;
      const Json& d = j["data"];
      if (d.value("remote_port", 0) != port || d.value("remote_ip", "") != "127.0.0.1") continue;
      const bool partial = d.value("partial", false);
      const bool ours = d.value("exe", "") == driver_exe || (partial && d.value("comm", "") == driver_comm);
      if (!ours) continue;
      const uint64_t count = j.value("count", uint64_t{1});
      c.connects += count;
      ++c.events;
      if (partial) c.partial += count;
      c.closed += d.value("closed", uint64_t{0});
    }
  }
  return c;
}

struct AgentSlice {
  std::string error;  // non-empty: this mode could not be measured
  std::vector<std::string> notes;
  std::string source;
  StormResult storm;
  double cpu_seconds = 0;
  bool caught_up = false;
  uint64_t hwm_kb = 0;
  Capture capture;
  std::map<std::string, uint64_t> drops;
};

AgentSlice RunAgentSlice(const std::string& agent, const std::string& dir, const std::string& mode, int workers,
                         int64_t slice_ms, uint16_t port, const std::string& driver_exe,
                         const std::string& driver_comm) {
  AgentSlice run;
  AgentRun a(agent, dir);
  if (std::string err = a.Start("network:\n  mode: " + mode + "\n"); !err.empty()) {
    run.error = err;
    return run;
  }
  run.source = a.CollectorSource("network");
  if (run.source.starts_with("!")) {
    // The agent says why in one line: "collector network: not available here: <reason>".
    const std::string log = a.log();
    const std::string marker = "collector network: not available here: ";
    const size_t at = log.find(marker);
    run.error = at == std::string::npos ? run.source.substr(1)
                                        : log.substr(at + marker.size(), log.find('\n', at) - at - marker.size());
    a.Stop();
    return run;
  }
  if (!WaitIdle({a.pid()}, 10'000)) run.notes.push_back("the agent was still busy 10 s after starting");
  const uint64_t cpu0 = CpuTicks(a.pid()).value_or(0);
  run.storm = RunStorm(workers, slice_ms, port);
  run.caught_up = WaitIdle({a.pid()}, 30'000);
  if (!run.caught_up) run.notes.push_back("the agent was still busy 30 s after the storm; its CPU figure is partial");
  const uint64_t cpu1 = CpuTicks(a.pid()).value_or(0);
  run.cpu_seconds = static_cast<double>(cpu1 - cpu0) / static_cast<double>(sysconf(_SC_CLK_TCK));
  run.hwm_kb = StatusKb(a.pid(), "VmHWM").value_or(0);
  SleepMs(1200);  // one more agent_stats event (interval 1 s), with the counters after the storm
  if (!a.Stop(30'000)) run.notes.push_back("vigil-agent did not stop within 30 s of SIGTERM and was killed");
  run.capture = ReadCapture(a.events_path(), port, driver_exe, driver_comm);
  run.drops = Drops(run.capture.last_stats, "network");
  for (const std::string& w : a.Warnings()) run.notes.push_back("agent log: " + w);
  return run;
}

// The figures of one agent mode over all its rounds.
struct ModeTotals {
  std::string error;
  std::string source;
  StormResult storm;
  Capture capture;
  double cpu = 0;
  uint64_t hwm_kb = 0;
  bool caught_up = true;
  std::map<std::string, uint64_t> drops;
  std::vector<std::string> notes;

  void Add(const AgentSlice& s, int round) {
    for (const auto& n : s.notes) notes.push_back("round " + std::to_string(round) + ": " + n);
    if (!s.error.empty()) {
      error = s.error;
      return;
    }
    source = s.source;
    storm.Add(s.storm);
    capture.connects += s.capture.connects;
    capture.events += s.capture.events;
    capture.partial += s.capture.partial;
    capture.closed += s.capture.closed;
    capture.lines += s.capture.lines;
    cpu += s.cpu_seconds;
    hwm_kb = std::max(hwm_kb, s.hwm_kb);
    caught_up = caught_up && s.caught_up;
    for (const auto& [k, v] : s.drops) drops[k] += v;
  }
  bool ran() const { return error.empty() && storm.seconds > 0; }
  double captured_pct() const {
    return storm.total > 0 ? 100.0 * static_cast<double>(capture.connects) / static_cast<double>(storm.total) : 0;
  }
};

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --agent PATH [--seconds N] [--rounds N] [--workers N] [--keep-temp]\n", argv0);
  return 2;
}

int Main(int argc, char** argv) {
  std::string agent;
  int seconds = 10;
  int rounds = 5;
  int workers = static_cast<int>(std::clamp<long>(sysconf(_SC_NPROCESSORS_ONLN), 1, kMaxWorkers));
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--agent" && value) {
      agent = value;
      ++i;
    } else if ((a == "--seconds" && ParseInt(value, 1, 3600, &seconds)) ||
               (a == "--rounds" && ParseInt(value, 1, 100, &rounds)) ||
               (a == "--workers" && ParseInt(value, 1, kMaxWorkers, &workers))) {
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (agent.empty()) return Usage(argv[0]);
  if (access(agent.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "conn storm: %s is not an executable (build it with `make bench`)\n", agent.c_str());
    return 1;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "conn storm: needs root (eBPF, and /proc/PID/fd of every process for sock_diag)\n");
    return 1;
  }
  CatchInterrupts();
  signal(SIGPIPE, SIG_IGN);

  char tmpl[] = "/tmp/vigil-conn-storm.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::fprintf(stderr, "conn storm: mkdtemp: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string tmp = tmpl;
  std::error_code ec;
  const std::string driver_exe = fs::read_symlink("/proc/self/exe", ec).string();
  const std::string driver_comm = Trim(ReadText("/proc/self/comm").value_or(""));
  uint16_t port = 0;
  const int listener = Listen(&port);
  if (listener < 0) {
    std::fprintf(stderr, "conn storm: cannot listen on 127.0.0.1: %s\n", std::strerror(errno));
    return 1;
  }
  const pid_t acceptor = StartAcceptor(listener);
  const int64_t slice_ms = int64_t{seconds} * 1000 / rounds;

  std::printf("== Connection storm: short TCP connections to 127.0.0.1:%u by %d worker processes (one per core)\n",
              port, workers);
  std::printf("   targets: conn/s with the agent in ebpf mode >= 95 %% of without; ebpf captures 100 %% of them;\n");
  std::printf(
      "   sock_diag mode is shown without a target: it misses connections shorter than its poll interval (1 s)\n");
  std::printf("   no agent, ebpf and sock_diag take turns in %d rounds of %.1f s each (%d s per condition)\n", rounds,
              static_cast<double>(slice_ms) / 1000.0, seconds);
  std::printf("   agent: %s (default configuration but network.mode; output and state in a temp dir)\n", agent.c_str());
  for (pid_t p : PidsNamed("vigil-agent"))
    std::printf("   note: vigil-agent (pid %d) was already running; every condition includes its cost\n", p);
  std::fflush(stdout);

  const std::vector<std::string> modes = {"ebpf", "sock_diag"};
  StormResult none;
  std::vector<double> none_rates;
  std::map<std::string, ModeTotals> totals;
  std::map<std::string, std::vector<double>> ratios;
  for (int r = 0; r < rounds && !g_interrupted.load(); ++r) {
    double base = 0;
    std::map<std::string, double> rates;
    for (int step = 0; step < 3 && !g_interrupted.load(); ++step) {
      const int condition = (r + step) % 3;
      if (condition == 0) {
        StormResult s = RunStorm(workers, slice_ms, port);
        none.Add(s);
        base = s.rate();
        none_rates.push_back(base);
        continue;
      }
      const std::string& mode = modes[static_cast<size_t>(condition - 1)];
      ModeTotals& t = totals[mode];
      if (!t.error.empty()) continue;
      const std::string dir = tmp + "/" + mode + "-" + std::to_string(r);
      const AgentSlice s = RunAgentSlice(agent, dir, mode, workers, slice_ms, port, driver_exe, driver_comm);
      t.Add(s, r + 1);
      if (s.error.empty()) rates[mode] = s.storm.rate();
    }
    for (const auto& [mode, rate] : rates)
      if (base > 0) ratios[mode].push_back(100.0 * rate / base);
    std::printf("   round %d/%d done\n", r + 1, rounds);
    std::fflush(stdout);
  }
  kill(acceptor, SIGTERM);
  waitpid(acceptor, nullptr, 0);
  close(listener);
  if (g_interrupted.load()) {
    std::printf("conn storm: interrupted\n");
    if (!keep_temp) fs::remove_all(tmp, ec);
    return 1;
  }

  const double none_rate = none.rate();
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.empty() ? 0.0 : v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  std::printf("\n  %-22s %10s %12s %9s %9s %11s %12s %9s\n", "condition", "conn/s", "connections", "time", "vs none",
              "captured", "CPU/1k conn", "peak RSS");
  std::printf("  %-22s %10.0f %12s %7.1f s %9s %11s %12s %9s", "no agent", none_rate, Thousands(none.total).c_str(),
              none.seconds, "100.0 %", "-", "-", "-");
  if (none.failures > 0) std::printf("   (%s failed)", Thousands(none.failures).c_str());
  std::printf("\n");
  for (const std::string& mode : modes) {
    const ModeTotals& t = totals[mode];
    const std::string name = "agent, " + mode;
    if (!t.ran()) {
      std::printf("  %-22s unavailable (%s)\n", name.c_str(), t.error.empty() ? "did not run" : t.error.c_str());
      continue;
    }
    std::printf("  %-22s %10.0f %12s %7.1f s %7.1f %% %9.3f %% %10.3f s %6.1f MB", name.c_str(), t.storm.rate(),
                Thousands(t.storm.total).c_str(), t.storm.seconds,
                none_rate > 0 ? 100.0 * t.storm.rate() / none_rate : 0.0, t.captured_pct(),
                t.storm.total > 0 ? t.cpu * 1000.0 / static_cast<double>(t.storm.total) : 0.0,
                static_cast<double>(t.hwm_kb) / 1024.0);
    if (t.storm.failures > 0) std::printf("   (%s failed)", Thousands(t.storm.failures).c_str());
    std::printf("\n");
  }
  std::printf("\n");
  for (const std::string& mode : modes) {
    const ModeTotals& t = totals[mode];
    if (!t.ran()) continue;
    std::printf("  agent, %s: source %s%s\n", mode.c_str(), t.source.c_str(),
                t.source == mode ? "" : "  (NOT the mode asked for)");
    std::printf(
        "    captured %s of %s connections in %s events (%s partial); %s of them also closed within their interval\n",
        Thousands(t.capture.connects).c_str(), Thousands(t.storm.total).c_str(), Thousands(t.capture.events).c_str(),
        Thousands(t.capture.partial).c_str(), Thousands(t.capture.closed).c_str());
    std::string drop_text;
    for (const auto& [k, v] : t.drops) drop_text += " " + k + "=" + Thousands(v);
    std::printf("    dropped (agent_stats):%s%s\n", drop_text.empty() ? " none" : drop_text.c_str(),
                t.caught_up ? "" : "; the agent was still busy after the storm (CPU figure partial)");
    if (ratios[mode].size() > 1)
      std::printf("    median of the rounds' conn/s vs none: %.1f %%\n", median(ratios[mode]));
    for (const auto& n : t.notes) std::printf("    note: %s\n", n.c_str());
  }
  if (none_rates.size() > 1) {
    const auto [lo, hi] = std::minmax_element(none_rates.begin(), none_rates.end());
    const double spread = *lo > 0 ? 100.0 * (*hi - *lo) / *lo : 0;
    if (spread > 5.0)
      std::printf(
          "  note: the no-agent rounds differ by up to %.1f %%, more than the 5 %% margin of the first target:\n"
          "  the machine was not steady, so that verdict is uncertain\n",
          spread);
  }

  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  const ModeTotals& e = totals["ebpf"];
  if (e.ran()) {
    const double ratio = none_rate > 0 ? 100.0 * e.storm.rate() / none_rate : 0;
    PrintTarget("conn/s with agent (ebpf) >= 95 % of without", Fixed(ratio, 1) + " %", ratio >= 95.0 ? "PASS" : "MISS");
    PrintTarget("agent (ebpf) captures 100 % of connections", Fixed(e.captured_pct(), 3) + " %",
                e.capture.connects >= e.storm.total && e.storm.total > 0 ? "PASS" : "MISS");
  } else {
    for (const char* t : {"conn/s with agent (ebpf) >= 95 % of without", "agent (ebpf) captures 100 % of connections"})
      PrintTarget(t, "ebpf mode did not run", "NOT MEASURED");
  }
  const ModeTotals& s = totals["sock_diag"];
  if (s.ran()) {
    const double ratio = none_rate > 0 ? 100.0 * s.storm.rate() / none_rate : 0;
    PrintTarget("conn/s with agent (sock_diag), no target", Fixed(ratio, 1) + " %", "INFO");
    PrintTarget("agent (sock_diag) capture, no target", Fixed(s.captured_pct(), 3) + " %", "INFO");
  }
  if (keep_temp)
    std::printf("  temp files kept in %s\n", tmp.c_str());
  else
    fs::remove_all(tmp, ec);
  std::fflush(stdout);
  return e.ran() || s.ran() ? 0 : 1;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
