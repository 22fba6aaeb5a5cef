#include "bench/bench_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace vigil::bench {

namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

namespace {
void OnSignal(int) { g_interrupted.store(true); }
}  // namespace

void CatchInterrupts() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteText(const std::string& path, const std::string& text, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  fchmod(fd, mode);  // open's mode is filtered by the umask
  return close(fd) == 0;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string LastLines(const std::string& text, int n) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return Trim(pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1));
}

// ---- child processes --------------------------------------------------------------------

namespace {

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> v;
  for (const auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

}  // namespace

// Runs a command to completion, capturing its output.
CommandResult RunCommand(const std::vector<std::string>& args) {
  CommandResult r;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  std::vector<char*> argv = Argv(args);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execvp(argv[0], argv.data());
    dprintf(2, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    r.output = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Starts a long-running process in its own session (a Ctrl-C on the terminal reaches only this
// driver, which then stops it in order), stdout and stderr to `log_path`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<char*> argv = Argv(args);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int in = open("/dev/null", O_RDONLY);
    int out = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execvp(argv[0], argv.data());
    dprintf(2, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

// Waits up to `timeout_ms` for `pid` to exit; true (and its status) when it did.
bool WaitExit(pid_t pid, int64_t timeout_ms, int* status) {
  const int64_t deadline = MonotonicMs() + timeout_ms;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;  // not our child any more
    if (MonotonicMs() >= deadline) return false;
    SleepMs(20);
  }
}

// Stops a spawned process: SIGTERM, then SIGKILL after `grace_ms`. True when it stopped in time.
bool Terminate(pid_t pid, int64_t grace_ms) {
  int status = 0;
  kill(pid, SIGTERM);
  if (WaitExit(pid, grace_ms, &status)) return true;
  kill(pid, SIGKILL);
  WaitExit(pid, 5000, &status);
  return false;
}

// ---- /proc ------------------------------------------------------------------------------

// utime + stime of a process, in clock ticks.
std::optional<uint64_t> CpuTicks(pid_t pid) {
  auto text = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  size_t close_paren = text->rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream in(text->substr(close_paren + 1));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // After the command come: state(3) ppid(4) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

// A "Key:   123 kB" line of /proc/PID/status, in kB.
std::optional<uint64_t> StatusKb(pid_t pid, const std::string& key) {
  auto text = ReadText("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") == 0)
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return std::nullopt;
}

// Processes whose comm is `comm`.
std::vector<pid_t> PidsNamed(const std::string& comm) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    auto c = ReadText(entry.path().string() + "/comm");
    if (c && Trim(*c) == comm) out.push_back(static_cast<pid_t>(std::atoi(name.c_str())));
  }
  return out;
}

// Waits until the CPU time of `pids` stops growing (at most one tick in 500 ms), up to
// `timeout_ms`. True when they went idle.
bool WaitIdle(const std::vector<pid_t>& pids, int64_t timeout_ms) {
  auto total = [&] {
    uint64_t t = 0;
    for (pid_t p : pids) t += CpuTicks(p).value_or(0);
    return t;
  };
  const int64_t deadline = MonotonicMs() + timeout_ms;
  uint64_t last = total();
  while (MonotonicMs() < deadline && !g_interrupted.load()) {
    SleepMs(500);
    uint64_t now = total();
    if (now <= last + 1) return true;
    last = now;
  }
  return false;
}

AgentRun::~AgentRun() {
  if (pid_ > 0) Terminate(pid_, 5000);
}

std::string AgentRun::Start(const std::string& extra_yaml, const std::string& stats_interval) {
  const std::string state = dir_ + "/state";
  const std::string config = dir_ + "/agent.yml";
  std::error_code ec;
  fs::create_directories(state, ec);
  if (ec) return "cannot create " + state + ": " + ec.message();
  const std::string yaml = "agent:\n  state_dir: \"" + state + "\"\noutput:\n  target: \"jsonl:" + events_path() +
                           "\"\nstats:\n  interval: " + stats_interval + "\n" + extra_yaml;
  if (!WriteText(config, yaml, 0644)) return "cannot write " + config;
  pid_ = Spawn({agent_, "run", "-c", config}, log_path());
  if (pid_ < 0) return std::string("fork: ") + std::strerror(errno);
  const int64_t deadline = MonotonicMs() + 30'000;
  for (;;) {
    if (log().find("running as device") != std::string::npos) return "";
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string how = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                : "signal " + std::to_string(WTERMSIG(status));
      const std::string tail = LastLines(log(), 5);
      return "vigil-agent exited before it was running (" + how + ")" + (tail.empty() ? "" : ": " + tail);
    }
    if (MonotonicMs() > deadline || g_interrupted.load()) break;
    SleepMs(50);
  }
  Terminate(pid_, 5000);
  pid_ = -1;
  return "vigil-agent was not running after 30 s: " + LastLines(log(), 5);
}

std::string AgentRun::CollectorSource(const std::string& collector) const {
  const std::string text = log();
  const std::string marker = "collector " + collector + ": started (";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return "!the " + collector + " collector did not start: " + LastLines(text, 5);
  const size_t end = text.find(')', at);
  const std::string inside = text.substr(at + marker.size(), end - at - marker.size());
  const size_t src = inside.find("source ");
  return src == std::string::npos ? "?" : inside.substr(src + 7);
}

bool AgentRun::Stop(int64_t grace_ms) {
  if (pid_ <= 0) return true;
  const bool in_time = Terminate(pid_, grace_ms);
  pid_ = -1;
  return in_time;
}

std::vector<std::string> AgentRun::Warnings() const {
  std::vector<std::string> out;
  std::istringstream in(log());
  std::string line;
  while (std::getline(in, line))
    if (line.find(" warn") != std::string::npos || line.find(" error") != std::string::npos) out.push_back(Trim(line));
  return out;
}

std::map<std::string, uint64_t> Drops(const std::optional<Json>& stats, const std::string& collector) {
  std::map<std::string, uint64_t> out;
  if (!stats || !stats->is_object()) return out;
  if (stats->contains("collectors") && (*stats)["collectors"].is_array()) {
    for (const auto& col : (*stats)["collectors"]) {
      if (!col.is_object() || col.value("collector", "") != collector || !col.contains("dropped")) continue;
      for (const auto& [reason, n] : col["dropped"].items())
        if (n.is_number_unsigned()) out[collector + "." + reason] += n.get<uint64_t>();
    }
  }
  if (stats->contains("bus") && (*stats)["bus"].is_object()) {
    const uint64_t bus = (*stats)["bus"].value("dropped", uint64_t{0});
    if (bus > 0) out["bus"] += bus;
  }
  return out;
}

// ---- report -----------------------------------------------------------------------------

std::string Thousands(uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void PrintTarget(const std::string& what, const std::string& figure, const char* verdict) {
  std::printf("  %-46s %-28s %s\n", what.c_str(), figure.c_str(), verdict);
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

bool ParseInt(const char* text, int lo, int hi, int* out) {
  if (!text) return false;
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

namespace {

// A free TCP port on 127.0.0.1: bound with port 0, read, closed.
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool TcpConnects(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

double ThreadCpuSeconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double MachineBusySeconds() {
  auto text = ReadText("/proc/stat");
  if (!text) return 0;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (std::sscanf(text->c_str(), "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait,
                  &irq, &softirq, &steal) < 4)
    return 0;
  return static_cast<double>(user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string MosquittoProcess::Start(const std::string& binary, const std::string& dir) {
  dir_ = dir;
  port_ = PickFreePort();
  if (port_ == 0) return "no free TCP port on 127.0.0.1";
  std::string conf = "# a Vigil benchmark's broker\n";
  if (geteuid() == 0) conf += "user root\n";  // else mosquitto drops to the `mosquitto` user
  conf +=
      "persistence false\nlog_dest stdout\nlog_type error\nlog_type warning\nset_tcp_nodelay true\n"
      "max_queued_messages 0\nallow_anonymous true\nlistener " +
      std::to_string(port_) + " 127.0.0.1\n";
  const std::string path = dir_ + "/mosquitto.conf";
  if (!WriteText(path, conf, 0644)) return "cannot write " + path;
  pid_ = Spawn({binary, "-c", path}, log_path());
  if (pid_ < 0) return std::string("fork: ") + std::strerror(errno);
  const int64_t deadline = MonotonicMs() + 10'000;
  while (!TcpConnects(port_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return binary + " exited at start: " + LastLines(ReadText(log_path()).value_or(""), 5);
    }
    if (MonotonicMs() > deadline || g_interrupted.load()) {
      Stop();
      return binary + " did not take connections on port " + std::to_string(port_) + " within 10 s";
    }
    SleepMs(10);
  }
  return "";
}

void MosquittoProcess::Stop() {
  if (pid_ > 0) Terminate(pid_, 5000);
  pid_ = -1;
}

}  // namespace vigil::bench
