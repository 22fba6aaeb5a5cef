// Helpers shared by the benchmark drivers: files, child processes, /proc figures, and one
// vigil-agent run (config in a temp dir, JSON Lines output) with its lifecycle.
//
// Not thread-safe unless said otherwise; meant for single-threaded drivers.
#pragma once

#include <sys/types.h>

#include <ctime>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::bench {

using Json = nlohmann::json;

// Set by SIGINT/SIGTERM once CatchInterrupts has run; drivers stop early and clean up.
extern std::atomic<bool> g_interrupted;
void CatchInterrupts();

int64_t MonotonicMs();
double MonotonicSeconds();
void SleepMs(int64_t ms);

std::optional<std::string> ReadText(const std::string& path);
// Writes the file with exactly `mode` (not filtered by the umask).
bool WriteText(const std::string& path, const std::string& text, mode_t mode);
std::string Trim(std::string s);
// The last `n` lines of `text`, trimmed.
std::string LastLines(const std::string& text, int n);

struct CommandResult {
  int exit_code = -1;  // 127: could not be started
  std::string output;  // stdout and stderr
};
// Runs a command to completion (PATH searched), capturing its output.
CommandResult RunCommand(const std::vector<std::string>& args);
// Starts a long-running process in its own session (a Ctrl-C on the terminal reaches only the
// driver, which then stops it in order), stdout and stderr to `log_path`. -1 on error.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path);
// Waits up to `timeout_ms` for `pid` to exit; true (and its status) when it did.
bool WaitExit(pid_t pid, int64_t timeout_ms, int* status);
// SIGTERM, then SIGKILL after `grace_ms`. True when it stopped in time.
bool Terminate(pid_t pid, int64_t grace_ms);

// utime + stime of a process, in clock ticks.
std::optional<uint64_t> CpuTicks(pid_t pid);
// A "Key:   123 kB" line of /proc/PID/status, in kB.
std::optional<uint64_t> StatusKb(pid_t pid, const std::string& key);
// Processes whose comm is `comm`.
std::vector<pid_t> PidsNamed(const std::string& comm);
// Waits until the CPU time of `pids` stops growing (at most one tick in 500 ms), up to
// `timeout_ms`. True when they went idle.
bool WaitIdle(const std::vector<pid_t>& pids, int64_t timeout_ms);

// One vigil-agent process: `run -c DIR/agent.yml` with its state dir and JSON Lines output in
// DIR (created), agent_stats every `stats_interval`, and `extra_yaml` appended to that config.
class AgentRun {
 public:
  AgentRun(std::string agent, std::string dir) : agent_(std::move(agent)), dir_(std::move(dir)) {}
  ~AgentRun();  // kills the agent if still running
  AgentRun(const AgentRun&) = delete;
  AgentRun& operator=(const AgentRun&) = delete;

  // Starts it and waits (up to 30 s) until it logs that it runs. Empty on success, else why not.
  std::string Start(const std::string& extra_yaml, const std::string& stats_interval = "1s");
  // The source a started collector logged ("netlink", "ebpf", ...), or an error message
  // starting with "!" when the collector did not start.
  std::string CollectorSource(const std::string& collector) const;
  // SIGTERM (the agent flushes what it holds), SIGKILL after `grace_ms`. True when in time.
  bool Stop(int64_t grace_ms = 30'000);

  pid_t pid() const { return pid_; }
  std::string events_path() const { return dir_ + "/events.jsonl"; }
  std::string log_path() const { return dir_ + "/agent.log"; }
  std::string log() const { return ReadText(log_path()).value_or(""); }
  // Lines of its log at warn or error level, trimmed.
  std::vector<std::string> Warnings() const;

 private:
  std::string agent_;
  std::string dir_;
  pid_t pid_ = -1;
};

// Drops reported by an agent_stats event's `data`: the named collector's, by reason, as
// "<collector>.<reason>", and the bus's as "bus". Empty when there is no such event.
std::map<std::string, uint64_t> Drops(const std::optional<Json>& stats, const std::string& collector);

// Figures for the report.
// CPU seconds: of a clock (the calling thread's by default, or another thread's clock from
// pthread_getcpuclockid), of this process (user + system), and of the whole machine (all cores,
// from /proc/stat: user, nice, system, irq, softirq, steal; not idle nor iowait).
double ThreadCpuSeconds(clockid_t clock = CLOCK_THREAD_CPUTIME_ID);
double ProcessCpuSeconds();
double MachineBusySeconds();

// A Mosquitto broker for a benchmark: plain TCP on 127.0.0.1 and a free port, no persistence,
// no limit on queued messages, errors and warnings logged to <dir>/mosquitto.log.
class MosquittoProcess {
 public:
  ~MosquittoProcess() { Stop(); }
  // Writes the config in `dir`, starts `binary` and waits (10 s at most) until its port takes
  // connections. Empty on success, else why not.
  std::string Start(const std::string& binary, const std::string& dir);
  void Stop();
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log_path() const { return dir_ + "/mosquitto.log"; }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

std::string Thousands(uint64_t v);  // 1234567 -> "1,234,567"
std::string Fixed(double v, int decimals);
void PrintTarget(const std::string& what, const std::string& figure, const char* verdict);
// Parses a decimal int in [lo, hi].
bool ParseInt(const char* text, int lo, int hi, int* out);

}  // namespace vigil::bench
