// Exec storm: as many fork+exec of /bin/true as the machine does in a fixed time (one worker
// process per core), side by side in one run with no agent, with vigil-agent, and with auditd
// logging every execve.
//
// TARGETS
//   exec/s with vigil-agent running  >= 97 % of exec/s with no agent
//   exec/s with vigil-agent running  >  exec/s with auditd and one execve rule
//   events captured / execs done     =  100 % (sum of `count` of the agent's process exec events
//                                        for /bin/true, partial events included and reported)
// Also reported, without a target here (footprint.sh holds the memory target): the agent's CPU
// seconds per 1,000 execs (utime+stime from /proc/PID/stat) and its peak RSS (VmHWM), and the
// same for auditd (auditd plus the kauditd kernel thread) with the records it wrote for the
// storm's execs (SYSCALL records whose ppid is a storm worker).
//
// How: `workers` processes (default one per core) each loop fork() + execv("/bin/true") +
// waitpid() for a fixed time; exec/s counts those that completed inside the timed window.
// The three conditions take turns in rounds (default 5 rounds of 2 s each: 10 s per
// condition), each round starting one condition further along, so that a change in the
// machine's load falls on all of them alike; the table shows each round, and a note says when
// the no-agent rounds differ by more than the 3 % the first target turns on.
//   vigil-agent: a fresh `vigil-agent run -c CONFIG` per round, with every default except the
//     JSON Lines output and state dir (in a temp dir) and stats.interval 1s, so that the drop
//     counters of agent_stats are in the file. The process collector runs in its default mode
//     (auto: netlink proc connector, else polling /proc); the source in use is printed. The
//     storm starts once the agent's CPU time stops growing (its first /proc scan is over);
//     after it the agent is left until it has caught up, then stopped with SIGTERM, which
//     flushes the aggregated events; then its JSONL file is read.
//     Each exec is `/bin/true vigil-bench-PID`: the argument tells this run's execs apart from
//     any other /bin/true run on the machine meanwhile. Captured execs are the sum of `count`
//     of exec events with that command line (exe /bin/true, or /usr/bin/true where /bin leads
//     to /usr/bin), plus events without a command line (partial ones: the process was gone
//     before /proc was read; or an empty one, as /proc shows an exited process) whose exe is
//     /bin/true, or comm "true", or nothing else, and whose parent_exe is this benchmark. How
//     many were partial is reported. Partial events aggregate like the others (on exe, command
//     line and user) and keep the first one's parent; when other processes ran /bin/true
//     meanwhile, theirs and ours may be mixed, and a capture short of 100 % that such mixing
//     could explain is reported as UNCERTAIN rather than PASS or MISS.
//   auditd: when no auditd runs, one is started by hand (`auditd -n -c DIR`, logging to a temp
//     dir); the backlog limit is raised to 8192 as Debian's packaged audit.rules does. For its
//     slices audit is enabled and the rule `auditctl -a always,exit -F arch=b64 -S execve -k
//     vigilbench` (b32 on 32-bit) added; between them the rule is removed and audit disabled
//     (an auditd that was already running is left enabled). Everything is undone at the end,
//     also after Ctrl-C. Once audit has been enabled, the kernel gives every new task an audit
//     context until reboot; with audit disabled that costs next to nothing, and it falls on
//     every condition alike. When the kernel's audit cannot be used, "auditd: unavailable
//     (reason)" is printed instead of a figure.
//
// Usage: vigil-bench-exec-storm --agent PATH [--seconds N] [--rounds N] [--workers N] [--keep-temp]
//   --seconds is the time per condition. Needs root. Exit status: 0 when the benchmark ran,
//   whatever its figures (it is a measurement, not a test); 1 when it could not run; 2 on a
//   usage error.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_util.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxWorkers = 256;
constexpr const char* kAuditKey = "vigilbench";



// ---- the storm --------------------------------------------------------------------------

struct Shared {
  std::atomic<uint32_t> stop;
  std::atomic<uint64_t> done[kMaxWorkers];
  std::atomic<uint64_t> failed[kMaxWorkers];
};

struct StormResult {
  bool ran = false;
  uint64_t execs_in_window = 0;  // completed within the timed window
  uint64_t execs_total = 0;      // including those in flight when the window closed
  uint64_t failures = 0;         // fork failed, or the child did not exit 0
  double seconds = 0;
  std::vector<pid_t> worker_pids;  // the parents of the execs, as audit records name them (ppid)
  double rate() const { return seconds > 0 ? static_cast<double>(execs_in_window) / seconds : 0; }
  int slices = 0;  // how many results were added into this one
  void Add(const StormResult& o) {
    ran = slices == 0 ? o.ran : ran && o.ran;
    ++slices;
    execs_in_window += o.execs_in_window;
    execs_total += o.execs_total;
    failures += o.failures;
    seconds += o.seconds;
    worker_pids.insert(worker_pids.end(), o.worker_pids.begin(), o.worker_pids.end());
  }
};

// The argument every exec of the storm carries: it tells this run's execs apart from any other
// /bin/true run on the machine meanwhile (the agent reports it in cmdline).
char g_nonce[32] = "vigil-bench";

[[noreturn]] void WorkerLoop(Shared* shared, int index, int go_fd) {
  char c;
  while (read(go_fd, &c, 1) < 0 && errno == EINTR) {
  }
  char arg0[] = "true";
  char* argv[] = {arg0, g_nonce, nullptr};
  while (shared->stop.load(std::memory_order_relaxed) == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      execv("/bin/true", argv);
      _exit(127);
    }
    if (pid < 0) {
      shared->failed[index].fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      shared->done[index].fetch_add(1, std::memory_order_relaxed);
    else
      shared->failed[index].fetch_add(1, std::memory_order_relaxed);
  }
  _exit(0);
}

// `workers` processes each fork+exec /bin/true in a loop for `ms` milliseconds.
StormResult RunStorm(int workers, int64_t ms) {
  StormResult r;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::fprintf(stderr, "mmap: %s\n", std::strerror(errno));
    return r;
  }
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
      signal(SIGINT, SIG_IGN);  // the driver stops the workers itself
      signal(SIGTERM, SIG_DFL);
      close(go[1]);
      WorkerLoop(shared, i, go[0]);
    }
    if (pid > 0) pids.push_back(pid);
  }
  close(go[0]);
  const double t0 = MonotonicSeconds();
  close(go[1]);  // every worker starts now
  const int64_t end_ms = MonotonicMs() + ms;
  while (MonotonicMs() < end_ms && !g_interrupted.load()) SleepMs(std::min<int64_t>(50, end_ms - MonotonicMs()));
  uint64_t in_window = 0;
  for (int i = 0; i < workers; ++i) in_window += shared->done[i].load();
  r.seconds = MonotonicSeconds() - t0;
  shared->stop.store(1);
  for (pid_t p : pids) {
    int status = 0;
    while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
    }
  }
  r.execs_in_window = in_window;
  for (int i = 0; i < workers; ++i) {
    r.execs_total += shared->done[i].load();
    r.failures += shared->failed[i].load();
  }
  r.ran = static_cast<int>(pids.size()) == workers;
  r.worker_pids = pids;
  munmap(mem, sizeof(Shared));
  return r;
}

// ---- vigil-agent ------------------------------------------------------------------------

// What the agent reported about the storm's execs. Its exec events are aggregated (on exe,
// command line and user) and carry the first occurrence's other fields.
struct Capture {
  uint64_t exact = 0;            // events with this run's command line ("true NONCE")
  uint64_t by_exe = 0;           // no command line (or an empty one), exe /bin/true, parent_exe this driver
  uint64_t by_comm = 0;          // no command line or exe, comm "true", parent_exe this driver
  uint64_t by_parent = 0;        // partial, nothing but parent_exe this driver
  uint64_t partial = 0;          // of all the above, those in partial events (the process was gone early)
  uint64_t unknown_partial = 0;  // partial, /bin/true or nothing known, and no parent: anyone's
  uint64_t others_true = 0;      // /bin/true of other processes (other command line or parent)
  uint64_t others_partial = 0;   // partial events with another parent (may hide ours when mixed)
  uint64_t other_exec = 0;       // exec events of other programs (sum of count)
  uint64_t lines = 0;
  uint64_t bad_lines = 0;
  std::optional<Json> last_stats;  // the last agent_stats event's data

  uint64_t captured() const { return exact + by_exe + by_comm + by_parent; }
  void Add(const Capture& o) {
    exact += o.exact;
    by_exe += o.by_exe;
    by_comm += o.by_comm;
    by_parent += o.by_parent;
    partial += o.partial;
    unknown_partial += o.unknown_partial;
    others_true += o.others_true;
    others_partial += o.others_partial;
    other_exec += o.other_exec;
    lines += o.lines;
    bad_lines += o.bad_lines;
  }
};

Capture ReadCapture(const std::string& jsonl_path, const std::set<std::string>& true_paths,
                    const std::string& driver_exe) {
  Capture c;
  const std::string our_cmdline = std::string("true ") + g_nonce;
  int64_t last_stats_seq = -1;
  std::vector<std::string> files = {jsonl_path};
  for (int i = 1; i <= 100; ++i) {
    if (fs::exists(jsonl_path + "." + std::to_string(i))) files.push_back(jsonl_path + "." + std::to_string(i));
  }
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++c.lines;
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        ++c.bad_lines;
        continue;
      }
      const std::string type = j.value("type", "");
      if (type == "agent_stats") {
        int64_t seq = j.value("seq", int64_t{0});
        if (seq > last_stats_seq && j.contains("data")) {
          last_stats_seq = seq;
          c.last_stats = j["data"];
        }
        continue;
      }
      if (type != "process" || j.value("action", "") != "exec" || !j.contains("data") || !j["data"].is_object())
        continue;
      const Json& d = j["data"];
      const uint64_t count = j.value("count", uint64_t{1});
      const bool partial = d.value("partial", false);
      const std::string exe = d.value("exe", "");
      const std::string comm = d.value("comm", "");
      const std::string parent_exe = d.value("parent_exe", "");
      const bool is_true = true_paths.count(exe) > 0 || (exe.empty() && comm == "true");
      const bool ours_by_parent = !driver_exe.empty() && parent_exe == driver_exe;
      // An empty command line is what /proc shows once the process has exited (not yet reaped).
      const std::string cmdline =
          d.contains("cmdline") && d["cmdline"].is_string() ? d["cmdline"].get<std::string>() : "";
      if (!cmdline.empty()) {
        if (cmdline == our_cmdline && (exe.empty() || true_paths.count(exe))) {
          c.exact += count;
          if (partial) c.partial += count;
        } else if (is_true) {
          c.others_true += count;
        } else {
          c.other_exec += count;
        }
        continue;
      }
      if (!partial && !exe.empty() && !is_true) {
        c.other_exec += count;
      } else if (is_true || (partial && exe.empty() && comm.empty())) {
        if (ours_by_parent) {
          if (!exe.empty())
            c.by_exe += count;
          else if (!comm.empty())
            c.by_comm += count;
          else
            c.by_parent += count;
          if (partial) c.partial += count;
        } else if (parent_exe.empty()) {
          c.unknown_partial += count;
        } else {
          if (is_true) c.others_true += count;
          // A partial aggregate keeps its first event's parent: ours may hide in another's.
          if (partial) c.others_partial += count;
          if (!is_true) c.other_exec += count;
        }
      } else {
        c.other_exec += count;
      }
    }
  }
  return c;
}

// One agent process around one storm slice.
struct AgentSlice {
  std::string error;  // non-empty: the agent could not be measured
  std::vector<std::string> notes;
  std::string process_source;  // from the agent's log: netlink, poll, ...
  StormResult storm;
  double cpu_seconds = 0;
  bool caught_up = false;
  uint64_t hwm_kb = 0;
  Capture capture;
  std::map<std::string, uint64_t> drops;
  std::string counters;  // the process collector's named counters, as JSON
};

AgentSlice RunAgentSlice(const std::string& agent, const std::string& tmp, int round, int workers, int64_t slice_ms,
                         const std::set<std::string>& true_paths, const std::string& driver_exe) {
  AgentSlice run;
  AgentRun agent_run(agent, tmp + "/agent-" + std::to_string(round));
  // Defaults for everything else (priorities, bus, process collector mode).
  run.error = agent_run.Start("");
  if (!run.error.empty()) return run;
  const pid_t pid = agent_run.pid();
  run.process_source = agent_run.CollectorSource("process");
  if (run.process_source.starts_with("!")) {
    run.error = run.process_source.substr(1);
    return run;
  }
  // Its first /proc scan must be over before the storm starts.
  if (!WaitIdle({pid}, 10'000)) run.notes.push_back("the agent was still busy 10 s after starting");

  const uint64_t cpu0 = CpuTicks(pid).value_or(0);
  run.storm = RunStorm(workers, slice_ms);
  run.caught_up = WaitIdle({pid}, 30'000);
  if (!run.caught_up) run.notes.push_back("the agent was still busy 30 s after the storm; its CPU figure is partial");
  const uint64_t cpu1 = CpuTicks(pid).value_or(0);
  run.cpu_seconds = static_cast<double>(cpu1 - cpu0) / static_cast<double>(sysconf(_SC_CLK_TCK));
  run.hwm_kb = StatusKb(pid, "VmHWM").value_or(0);
  SleepMs(1200);  // one more agent_stats event (interval 1 s), with the counters after the storm
  if (!agent_run.Stop())
    run.notes.push_back("vigil-agent did not stop within 30 s of SIGTERM and was killed (held events lost)");
  run.capture = ReadCapture(agent_run.events_path(), true_paths, driver_exe);
  run.drops = Drops(run.capture.last_stats, "process");
  if (run.capture.last_stats && run.capture.last_stats->contains("collectors")) {
    for (const auto& col : (*run.capture.last_stats)["collectors"])
      if (col.is_object() && col.value("collector", "") == "process" && col.contains("counters"))
        run.counters = col["counters"].dump();
  }
  for (std::string& w : agent_run.Warnings()) run.notes.push_back("agent log: " + w);
  return run;
}

// ---- auditd -----------------------------------------------------------------------------

std::map<std::string, std::string> AuditStatus(std::string* error) {
  std::map<std::string, std::string> out;
  CommandResult r = RunCommand({"auditctl", "-s"});
  if (r.exit_code != 0) {
    *error = "auditctl -s: " + (Trim(r.output).empty() ? "exit " + std::to_string(r.exit_code) : Trim(r.output));
    return out;
  }
  std::istringstream in(r.output);
  std::string key, value;
  while (in >> key >> value) {
    out[key] = value;
    std::string rest;
    std::getline(in, rest);  // e.g. "loginuid_immutable 0 unlocked"
  }
  return out;
}

int64_t StatusInt(const std::map<std::string, std::string>& s, const std::string& key, int64_t fallback) {
  auto it = s.find(key);
  return it == s.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
}

std::string AuditdConf(const std::string& dir) {
  // Debian's packaged auditd.conf, but logging to our temp dir with room for the whole storm
  // (no rotation mid-run) and no plugins.
  return "local_events = yes\n"
         "write_logs = yes\n"
         "log_file = " +
         dir +
         "/audit.log\n"
         "log_format = ENRICHED\n"
         "flush = INCREMENTAL_ASYNC\n"
         "freq = 50\n"
         "max_log_file = 2048\n"
         "num_logs = 2\n"
         "max_log_file_action = ROTATE\n"
         "priority_boost = 4\n"
         "name_format = NONE\n"
         "space_left = 75\n"
         "space_left_action = SYSLOG\n"
         "admin_space_left = 50\n"
         "admin_space_left_action = SUSPEND\n"
         "disk_full_action = SUSPEND\n"
         "disk_error_action = SUSPEND\n"
         "q_depth = 2000\n"
         "overflow_action = SYSLOG\n"
         "plugin_dir = " +
         dir +
         "/plugins.d\n"
         "end_of_event_timeout = 2\n";
}

struct AuditRecords {
  uint64_t ours = 0;    // SYSCALL records with our key, for /bin/true, whose ppid is a storm worker
  uint64_t others = 0;  // the same for other parents
};

AuditRecords CountAuditRecords(const std::string& dir, const std::set<std::string>& true_paths,
                               const std::set<pid_t>& workers) {
  AuditRecords n;
  std::error_code ec;
  const std::string key = std::string("key=\"") + kAuditKey + "\"";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("audit.log", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("type=SYSCALL ", 0) != 0 || line.find(key) == std::string::npos) continue;
      bool is_true = false;
      for (const auto& p : true_paths) is_true = is_true || line.find("exe=\"" + p + "\"") != std::string::npos;
      if (!is_true) continue;
      const size_t at = line.find(" ppid=");
      const pid_t ppid = at == std::string::npos ? 0 : static_cast<pid_t>(std::atoi(line.c_str() + at + 6));
      if (workers.count(ppid))
        ++n.ours;
      else
        ++n.others;
    }
  }
  return n;
}

// auditd with the execve rule, slice by slice between the other conditions.
class AuditBench {
 public:
  AuditBench(std::string tmp, std::set<std::string> true_paths)
      : dir_(std::move(tmp) + "/audit"), true_paths_(std::move(true_paths)) {}

  // Starts auditd when none runs and raises the backlog limit. Returns why audit cannot be
  // measured, or "" when it can.
  std::string Setup() {
    if (RunCommand({"auditctl", "-v"}).exit_code == 127)
      return "auditctl not found; `scripts/deps.sh bench` installs the auditd package";
    std::string error;
    auto before = AuditStatus(&error);
    if (!error.empty()) return error;
    prev_enabled_ = StatusInt(before, "enabled", -1);
    prev_backlog_ = StatusInt(before, "backlog_limit", -1);
    if (prev_enabled_ == 2) return "the kernel's audit configuration is locked (enabled 2) until reboot";
    daemon_ = static_cast<pid_t>(StatusInt(before, "pid", 0));
    fs::create_directories(dir_ + "/plugins.d");
    chmod(dir_.c_str(), 0700);
    if (daemon_ == 0) {
      if (!WriteText(dir_ + "/auditd.conf", AuditdConf(dir_), 0640)) return "cannot write " + dir_ + "/auditd.conf";
      daemon_ = Spawn({"auditd", "-n", "-c", dir_}, dir_ + "/auditd.out");
      own_daemon_ = true;
      const int64_t deadline = MonotonicMs() + 10'000;
      for (;;) {
        int status = 0;
        if (waitpid(daemon_, &status, WNOHANG) == daemon_) {
          own_daemon_ = false;
          return "auditd exited at start: " + LastLines(ReadText(dir_ + "/auditd.out").value_or(""), 3);
        }
        std::string err;
        if (StatusInt(AuditStatus(&err), "pid", 0) == daemon_) break;
        if (MonotonicMs() > deadline) {
          Terminate(daemon_, 5000);
          own_daemon_ = false;
          return "auditd did not register with the kernel within 10 s: " +
                 LastLines(ReadText(dir_ + "/auditd.out").value_or(""), 3);
        }
        SleepMs(50);
      }
    } else {
      notes.push_back("auditd was already running (pid " + std::to_string(daemon_) +
                      "): used as it is, audit left enabled between slices, its records not counted");
    }
    raised_backlog_ = prev_backlog_ >= 0 && prev_backlog_ < 8192;
    if (raised_backlog_) RunCommand({"auditctl", "-b", "8192"});
    std::string err;
    lost0_ = StatusInt(AuditStatus(&err), "lost", 0);
    cpu_pids_ = PidsNamed("kauditd");
    cpu_pids_.push_back(daemon_);
    ready_ = true;
    Quiet();
    return "";
  }

  // Audit off for the other conditions' slices (only with our own daemon).
  void Quiet() {
    if (ready_ && own_daemon_) RunCommand({"auditctl", "-e", "0"});
  }

  // One storm slice with the rule in place. Sets `unavailable` if the rule cannot be added.
  StormResult Slice(int workers, int64_t ms) {
    StormResult r;
    if (!ready_ || !unavailable.empty()) return r;
    if (own_daemon_) RunCommand({"auditctl", "-e", "1"});
    CommandResult add = RuleCommand("-a");
    if (add.exit_code != 0) {
      unavailable = "auditctl -a always,exit -F " + Arch() + " -S execve: " + Trim(add.output);
      Quiet();
      return r;
    }
    uint64_t cpu0 = CpuTotal();
    r = RunStorm(workers, ms);
    worker_pids_.insert(r.worker_pids.begin(), r.worker_pids.end());
    if (!WaitIdle(cpu_pids_, 30'000)) notes.push_back("auditd was still busy 30 s after a slice");
    cpu_seconds += static_cast<double>(CpuTotal() - cpu0) / static_cast<double>(sysconf(_SC_CLK_TCK));
    CommandResult del = RuleCommand("-d");
    if (del.exit_code != 0) notes.push_back("could not remove the audit rule: " + Trim(del.output));
    Quiet();
    storm.Add(r);
    ++slices_;
    return r;
  }

  // Undoes everything (also after an interruption) and counts the records.
  void Teardown() {
    if (!ready_) return;
    ready_ = false;
    RuleCommand("-d");  // in case a slice was interrupted; fails harmlessly otherwise
    std::string err;
    lost = StatusInt(AuditStatus(&err), "lost", 0) - lost0_;
    hwm_kb = StatusKb(daemon_, "VmHWM").value_or(0);
    if (raised_backlog_) RunCommand({"auditctl", "-b", std::to_string(prev_backlog_)});
    if (own_daemon_) {
      if (!Terminate(daemon_, 15'000)) notes.push_back("auditd did not stop within 15 s of SIGTERM and was killed");
      records = CountAuditRecords(dir_, true_paths_, worker_pids_);
    }
    auto after = AuditStatus(&err);
    if (prev_enabled_ >= 0 && StatusInt(after, "enabled", prev_enabled_) != prev_enabled_)
      RunCommand({"auditctl", "-e", std::to_string(prev_enabled_)});
  }

  bool measured() const { return unavailable.empty() && slices_ > 0 && storm.ran; }
  bool own_daemon() const { return own_daemon_; }

  std::string unavailable;  // why no figure
  std::vector<std::string> notes;
  StormResult storm;                    // all slices
  std::optional<AuditRecords> records;  // SYSCALL records with our key for /bin/true (our daemon only)
  int64_t lost = 0;                     // records the kernel lost meanwhile
  double cpu_seconds = 0;               // auditd + kauditd, during and after the slices
  uint64_t hwm_kb = 0;                  // auditd

 private:
  static std::string Arch() { return sizeof(void*) == 8 ? "arch=b64" : "arch=b32"; }
  CommandResult RuleCommand(const char* op) const {
    return RunCommand({"auditctl", op, "always,exit", "-F", Arch(), "-S", "execve", "-k", kAuditKey});
  }
  uint64_t CpuTotal() const {
    uint64_t t = 0;
    for (pid_t p : cpu_pids_) t += CpuTicks(p).value_or(0);
    return t;
  }

  const std::string dir_;
  const std::set<std::string> true_paths_;
  bool ready_ = false;
  bool own_daemon_ = false;
  bool raised_backlog_ = false;
  pid_t daemon_ = 0;
  int64_t prev_enabled_ = -1;
  int64_t prev_backlog_ = -1;
  int64_t lost0_ = 0;
  std::vector<pid_t> cpu_pids_;
  std::set<pid_t> worker_pids_;
  int slices_ = 0;
};

// ---- report -----------------------------------------------------------------------------

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --agent PATH [--seconds N] [--rounds N] [--workers N] [--keep-temp]\n", argv0);
  return 2;
}

}  // namespace

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
    } else if (a == "--seconds" && ParseInt(value, 1, 3600, &seconds)) {
      ++i;
    } else if (a == "--rounds" && ParseInt(value, 1, 100, &rounds)) {
      ++i;
    } else if (a == "--workers" && ParseInt(value, 1, kMaxWorkers, &workers)) {
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      return Usage(argv[0]);
    }
  }
  if (agent.empty()) return Usage(argv[0]);
  if (access(agent.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "exec storm: %s is not an executable (build it with `make bench`)\n", agent.c_str());
    return 1;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "exec storm: needs root (the netlink proc connector and auditctl)\n");
    return 1;
  }
  if (access("/bin/true", X_OK) != 0) {
    std::fprintf(stderr, "exec storm: /bin/true is missing\n");
    return 1;
  }
  CatchInterrupts();

  char tmpl[] = "/tmp/vigil-exec-storm.XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::fprintf(stderr, "exec storm: mkdtemp: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string tmp = tmpl;
  std::set<std::string> true_paths = {"/bin/true", "/usr/bin/true"};
  std::error_code ec;
  true_paths.insert(fs::canonical("/bin/true", ec).string());
  const std::string driver_exe = fs::read_symlink("/proc/self/exe", ec).string();
  const int64_t slice_ms = int64_t{seconds} * 1000 / rounds;
  std::snprintf(g_nonce, sizeof(g_nonce), "vigil-bench-%d", static_cast<int>(getpid()));

  std::printf("== Exec storm: fork+exec of /bin/true by %d worker processes (one per core)\n", workers);
  std::printf("   no agent, vigil-agent and auditd take turns in %d rounds of %.1f s each (%d s per condition)\n",
              rounds, static_cast<double>(slice_ms) / 1000.0, seconds);
  std::printf("   agent: %s (default configuration; output and state in a temp dir; stats.interval 1s)\n",
              agent.c_str());
  for (const char* other : {"vigil-agent", "auditd"}) {
    for (pid_t p : PidsNamed(other))
      std::printf("   note: %s (pid %d) was already running; every condition includes its cost\n", other, p);
  }
  if (auto load = ReadText("/proc/loadavg")) std::printf("   load average before: %s\n", LastLines(*load, 1).c_str());
  std::fflush(stdout);

  AuditBench audit(tmp, true_paths);
  audit.unavailable = audit.Setup();

  // The conditions take turns, each round starting one further along, so that a change in the
  // machine's load falls on all of them alike.
  enum Condition { kNone = 0, kAgent = 1, kAudit = 2 };
  std::vector<StormResult> none_slices(static_cast<size_t>(rounds));
  std::vector<std::optional<AgentSlice>> agent_slices(static_cast<size_t>(rounds));
  std::vector<std::optional<StormResult>> audit_slices(static_cast<size_t>(rounds));
  std::string agent_error;
  for (int r = 0; r < rounds && !g_interrupted.load(); ++r) {
    for (int step = 0; step < 3 && !g_interrupted.load(); ++step) {
      const auto ri = static_cast<size_t>(r);
      switch (static_cast<Condition>((r + step) % 3)) {
        case kNone:
          none_slices[ri] = RunStorm(workers, slice_ms);
          break;
        case kAgent:
          if (!agent_error.empty()) break;
          agent_slices[ri] = RunAgentSlice(agent, tmp, r, workers, slice_ms, true_paths, driver_exe);
          if (!agent_slices[ri]->error.empty()) agent_error = agent_slices[ri]->error;
          break;
        case kAudit:
          if (!audit.unavailable.empty()) break;
          audit_slices[ri] = audit.Slice(workers, slice_ms);
          break;
      }
    }
    std::printf("   round %d/%d done\n", r + 1, rounds);
    std::fflush(stdout);
  }
  audit.Teardown();

  if (g_interrupted.load()) {
    std::printf("exec storm: interrupted; the audit rule and the processes it started were removed\n");
    if (!keep_temp) fs::remove_all(tmp, ec);
    return 1;
  }

  StormResult none;
  for (const auto& s : none_slices) none.Add(s);
  const bool agent_ok = agent_error.empty();
  StormResult with_agent;
  Capture capture;
  double agent_cpu = 0;
  uint64_t agent_hwm_kb = 0;
  bool caught_up = true;
  std::set<std::string> sources;
  std::map<std::string, uint64_t> drops;
  std::vector<std::string> agent_notes;
  std::string last_counters;
  for (size_t i = 0; i < agent_slices.size(); ++i) {
    if (!agent_slices[i]) continue;
    const AgentSlice& a = *agent_slices[i];
    for (const auto& n : a.notes) agent_notes.push_back("round " + std::to_string(i + 1) + ": " + n);
    if (!a.error.empty()) continue;
    with_agent.Add(a.storm);
    capture.Add(a.capture);
    if (!a.capture.last_stats) agent_notes.push_back("round " + std::to_string(i + 1) + ": no agent_stats event");
    agent_cpu += a.cpu_seconds;
    agent_hwm_kb = std::max(agent_hwm_kb, a.hwm_kb);
    caught_up = caught_up && a.caught_up;
    sources.insert(a.process_source);
    for (const auto& [k, v] : a.drops) drops[k] += v;
    if (!a.counters.empty()) last_counters = a.counters;
  }
  const bool audit_ok = audit.measured();
  const double none_rate = none.rate();

  std::printf("\n  %-24s %10s %12s %9s %9s\n", "condition", "exec/s", "execs", "time", "vs none");
  auto row = [&](const char* name, const StormResult& r) {
    std::printf("  %-24s %10.0f %12s %7.1f s %7.1f %%", name, r.rate(), Thousands(r.execs_total).c_str(), r.seconds,
                none_rate > 0 ? 100.0 * r.rate() / none_rate : 0.0);
    if (r.failures > 0) std::printf("   (%s failed)", Thousands(r.failures).c_str());
    std::printf("\n");
  };
  row("no agent", none);
  if (agent_ok)
    row("vigil-agent", with_agent);
  else
    std::printf("  vigil-agent: unavailable (%s)\n", agent_error.c_str());
  if (audit_ok)
    row("auditd (execve rule)", audit.storm);
  else
    std::printf("  auditd: unavailable (%s)\n", audit.unavailable.c_str());

  // Per round: the spread shows how steady the machine was.
  std::printf("\n  round   no agent exec/s   agent exec/s  agent/none   auditd exec/s  auditd/none\n");
  double lo = 1e18, hi = 0;
  std::vector<double> agent_ratios, audit_ratios;
  for (size_t i = 0; i < none_slices.size(); ++i) {
    const double base = none_slices[i].rate();
    std::printf("  %5zu   %15.0f", i + 1, base);
    if (agent_slices[i] && agent_slices[i]->error.empty() && base > 0) {
      const double rate = agent_slices[i]->storm.rate();
      agent_ratios.push_back(100.0 * rate / base);
      std::printf("   %12.0f   %7.1f %%", rate, agent_ratios.back());
    } else {
      std::printf("   %12s   %9s", "-", "-");
    }
    if (audit_slices[i] && audit_slices[i]->ran && base > 0) {
      const double rate = audit_slices[i]->rate();
      audit_ratios.push_back(100.0 * rate / base);
      std::printf("   %13.0f   %8.1f %%", rate, audit_ratios.back());
    }
    std::printf("\n");
    if (base > 0) {
      lo = std::min(lo, base);
      hi = std::max(hi, base);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.empty() ? 0.0 : v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  if (agent_ratios.size() > 1 || audit_ratios.size() > 1)
    std::printf("  median of the rounds: agent/none %.1f %%, auditd/none %.1f %%\n", median(agent_ratios),
                median(audit_ratios));
  const double spread = hi > 0 && none_slices.size() > 1 ? 100.0 * (hi - lo) / lo : 0;
  if (spread > 3.0)
    std::printf(
        "  note: the no-agent rounds differ by up to %.1f %%, more than the 3 %% margin of the first target: the\n"
        "  machine was not steady, so that verdict is uncertain\n",
        spread);

  std::printf("\n");
  double captured_pct = 0;
  // PASS / MISS, or UNCERTAIN when other /bin/true runs make partial events ambiguous.
  const char* capture_verdict = "MISS";
  if (agent_ok) {
    const uint64_t done = with_agent.execs_total;
    const uint64_t captured = capture.captured();
    captured_pct = done > 0 ? 100.0 * static_cast<double>(captured) / static_cast<double>(done) : 0;
    std::string source;
    for (const auto& s : sources) source += (source.empty() ? "" : ", ") + s;
    std::printf("  vigil-agent, process source: %s%s\n", source.c_str(),
                source == "netlink" ? "" : "  (NOT the netlink proc connector; see the notes)");
    std::printf("    captured %s of %s execs (%.3f %%)\n", Thousands(captured).c_str(), Thousands(done).c_str(),
                captured_pct);
    std::printf("      with this run's command line \"true %s\": %s\n", g_nonce, Thousands(capture.exact).c_str());
    std::printf(
        "      without a command line, this benchmark as parent: %s (exe /bin/true %s, comm \"true\" only %s,\n"
        "      nothing but the parent %s)\n",
        Thousands(captured - capture.exact).c_str(), Thousands(capture.by_exe).c_str(),
        Thousands(capture.by_comm).c_str(), Thousands(capture.by_parent).c_str());
    std::printf("      in partial events (\"partial\": true): %s\n", Thousands(capture.partial).c_str());
    if (capture.unknown_partial > 0)
      std::printf("    %s execs in partial events without a parent, whoever ran them (not counted)\n",
                  Thousands(capture.unknown_partial).c_str());
    const bool others = capture.others_true > 0 || capture.others_partial > 0;
    if (others)
      std::printf(
          "    note: other processes ran /bin/true meanwhile (%s execs seen; %s execs in partial events of\n"
          "    other parents). Partial events aggregate on exe, command line and user and keep the first one's\n"
          "    parent, so partial events of theirs and ours may be mixed: the partial part of the count is uncertain\n",
          Thousands(capture.others_true).c_str(), Thousands(capture.others_partial).c_str());
    if (captured > done)
      std::printf("    note: %s more than done: partial events of other programs aggregated with ours\n",
                  Thousands(captured - done).c_str());
    // At most this many could be ours: a partial aggregate keeps one parent for all it holds.
    const uint64_t upper = captured + capture.unknown_partial + capture.others_partial;
    if (done > 0 && capture.exact >= done)
      capture_verdict = "PASS";
    else if (done == 0 || upper < done)
      capture_verdict = "MISS";
    else if (!others && capture.unknown_partial == 0)
      capture_verdict = captured >= done ? "PASS" : "MISS";
    else
      capture_verdict = "UNCERTAIN";
    std::printf("    other programs' execs %s; JSONL lines %s (%s unreadable)\n", Thousands(capture.other_exec).c_str(),
                Thousands(capture.lines).c_str(), Thousands(capture.bad_lines).c_str());
    std::printf("    CPU %.3f s = %.3f s per 1,000 execs%s; peak RSS (VmHWM) %.1f MB\n", agent_cpu,
                done > 0 ? agent_cpu * 1000.0 / static_cast<double>(done) : 0.0,
                caught_up ? "" : " (it was still busy: partial)", static_cast<double>(agent_hwm_kb) / 1024.0);
    std::string drop_text;
    for (const auto& [k, v] : drops) drop_text += " " + k + "=" + Thousands(v);
    std::printf("    dropped (agent_stats):%s\n", drop_text.empty() ? " none" : drop_text.c_str());
    if (!last_counters.empty()) std::printf("    process collector counters (last round): %s\n", last_counters.c_str());
  }
  for (const auto& n : agent_notes) std::printf("    note: %s\n", n.c_str());
  if (audit_ok) {
    const uint64_t done = audit.storm.execs_total;
    std::printf("  auditd (%s):\n", audit.own_daemon() ? "started for this run" : "already running");
    if (audit.records)
      std::printf("    %s SYSCALL records for %s execs (and %s for other processes' /bin/true); the kernel lost %lld\n",
                  Thousands(audit.records->ours).c_str(), Thousands(done).c_str(),
                  Thousands(audit.records->others).c_str(), static_cast<long long>(audit.lost));
    else
      std::printf("    the kernel lost %lld records\n", static_cast<long long>(audit.lost));
    if (audit.hwm_kb > 0)
      std::printf("    CPU (auditd + kauditd) %.3f s = %.3f s per 1,000 execs; auditd peak RSS (VmHWM) %.1f MB\n",
                  audit.cpu_seconds, done > 0 ? audit.cpu_seconds * 1000.0 / static_cast<double>(done) : 0.0,
                  static_cast<double>(audit.hwm_kb) / 1024.0);
    else
      std::printf("    auditd's CPU and RSS unknown: its process was gone at the end\n");
  }
  for (const auto& n : audit.notes) std::printf("    note: %s\n", n.c_str());

  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  if (agent_ok) {
    const double ratio = none_rate > 0 ? 100.0 * with_agent.rate() / none_rate : 0;
    PrintTarget("exec/s with agent >= 97 % of without", Fixed(ratio, 1) + " %", ratio >= 97.0 ? "PASS" : "MISS");
    if (audit_ok) {
      PrintTarget("exec/s with agent > with auditd",
                  Fixed(with_agent.rate(), 0) + " vs " + Fixed(audit.storm.rate(), 0),
                  with_agent.rate() > audit.storm.rate() ? "PASS" : "MISS");
    } else {
      PrintTarget("exec/s with agent > with auditd", "auditd unavailable", "NOT MEASURED");
    }
    PrintTarget("agent captures 100 % of execs", Fixed(captured_pct, 3) + " %", capture_verdict);
  } else {
    for (const char* t :
         {"exec/s with agent >= 97 % of without", "exec/s with agent > with auditd", "agent captures 100 % of execs"})
      PrintTarget(t, "agent did not run", "NOT MEASURED");
  }
  if (keep_temp)
    std::printf("  temp files kept in %s\n", tmp.c_str());
  else
    fs::remove_all(tmp, ec);
  std::fflush(stdout);
  return agent_ok ? 0 : 1;
}

}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
