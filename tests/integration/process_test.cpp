// The process collector on the real kernel (root needed): the proc connector source by itself,
// then the whole agent in netlink and in poll mode, seen through its JSON Lines output.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/platform/process_source.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::Reap;
using testing::Spawn;
using namespace std::chrono_literals;

std::string UniqueToken(const std::string& what) {
  std::random_device rd;
  return "vigil-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(rd());
}

bool IsProcess(const json& e, const std::string& action) {
  return e.value("type", "") == "process" && e.value("action", "") == action && e.contains("data");
}

bool CmdlineHas(const json& e, const std::string& token) {
  return e["data"].value("cmdline", "").find(token) != std::string::npos;
}

// The collector subscribes while the agent starts: run marker processes until one is seen,
// so the test's own process is not started before the agent listens.
bool WaitUntilCollecting(AgentProcess& agent) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  const std::string token = UniqueToken("ready");
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t pid = Spawn({"/bin/sh", "-c", "sleep 0.3; :", token});
    if (pid < 0) return false;
    auto seen = agent.WaitFor([&](const json& e) { return IsProcess(e, "exec") && CmdlineHas(e, token); }, 1s);
    Reap(pid);
    if (seen) return true;
  }
  return false;
}

// --- The kernel source by itself ---------------------------------------------------------

class ProcConnectorIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    auto src = OpenKernelProcessSource(KernelProcessSourceOptions{});
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    source_ = std::move(*src);
  }

  // Reads until pred holds for one event (bounded); keeps everything read in seen_.
  bool ReadUntil(const std::function<bool(const ProcEvent&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    size_t checked = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t overruns = 0;
      if (!source_->Read(100, &seen_, &overruns).ok()) return false;
      for (; checked < seen_.size(); ++checked) {
        if (pred(seen_[checked])) return true;
      }
    }
    return false;
  }

  std::unique_ptr<ProcessSource> source_;
  std::vector<ProcEvent> seen_;
  std::atomic<bool> interrupted_seen_{false};
};

TEST_F(ProcConnectorIntegration, ReportsForkExecAndExitWithStatusOfAChild) {
  EXPECT_EQ(source_->name(), "netlink");
  pid_t child = Spawn({"/bin/sh", "-c", "exit 5"});
  ASSERT_GT(child, 0);
  Reap(child);
  bool fork = false, exec = false;
  ASSERT_TRUE(ReadUntil([&](const ProcEvent& ev) {
    if (ev.pid != child) return false;
    if (ev.kind == ProcEvent::Kind::kFork) {
      fork = true;
      EXPECT_EQ(ev.ppid, getpid());
    }
    if (ev.kind == ProcEvent::Kind::kExec) exec = true;
    if (ev.kind == ProcEvent::Kind::kExit) {
      EXPECT_TRUE(WIFEXITED(ev.exit_status));
      EXPECT_EQ(WEXITSTATUS(ev.exit_status), 5);
      return true;
    }
    return false;
  }));
  EXPECT_TRUE(fork);
  EXPECT_TRUE(exec);
}

TEST_F(ProcConnectorIntegration, ThreadsAreNotReportedAsProcesses) {
  pid_t tid = 0;
  std::thread t([&] { tid = gettid(); });
  t.join();
  // A process started afterwards marks the point by which the thread's events have arrived.
  pid_t marker = Spawn({"/bin/true"});
  ASSERT_GT(marker, 0);
  Reap(marker);
  ASSERT_TRUE(ReadUntil([&](const ProcEvent& ev) { return ev.pid == marker && ev.kind == ProcEvent::Kind::kExit; }));
  ASSERT_NE(tid, 0);
  for (const ProcEvent& ev : seen_) EXPECT_NE(ev.pid, tid) << "thread reported, kind " << static_cast<int>(ev.kind);
}

TEST_F(ProcConnectorIntegration, KeepsForkExecExitOrderOfEveryProcess) {
  // Two children at a time, so notifications of several processes interleave.
  std::vector<pid_t> children;
  for (int i = 0; i < 100; ++i) {
    pid_t a = Spawn({"/bin/true"});
    pid_t b = Spawn({"/bin/sh", "-c", ":"});
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    Reap(a);
    Reap(b);
    children.push_back(a);
    children.push_back(b);
  }
  const pid_t last = children.back();
  ASSERT_TRUE(ReadUntil([&](const ProcEvent& ev) { return ev.pid == last && ev.kind == ProcEvent::Kind::kExit; }));
  for (pid_t child : children) {
    std::vector<ProcEvent::Kind> kinds;
    for (const ProcEvent& ev : seen_) {
      if (ev.pid == child) kinds.push_back(ev.kind);
    }
    EXPECT_EQ(kinds,
              (std::vector<ProcEvent::Kind>{ProcEvent::Kind::kFork, ProcEvent::Kind::kExec, ProcEvent::Kind::kExit}))
        << "pid " << child;
  }
  uint64_t prev = 0;
  for (const ProcEvent& ev : seen_) {
    EXPECT_GE(ev.ts_ns, prev) << "handed on out of time order";
    prev = ev.ts_ns;
  }
}

TEST(ProcConnectorOverrun, ReportsOverrunWhenTheReceiverFallsBehind) {
  KernelProcessSourceOptions options;
  options.receive_buffer_bytes = 1;  // the kernel's minimum: a few notifications
  auto src = OpenKernelProcessSource(options);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  for (int i = 0; i < 50; ++i) Reap(Spawn({"/bin/true"}));  // not reading meanwhile
  std::vector<ProcEvent> out;
  uint64_t overruns = 0;
  ASSERT_TRUE((*src)->Read(100, &out, &overruns).ok());
  EXPECT_GE(overruns, 1u);
  // And it keeps delivering afterwards (with so small a buffer, other processes' notifications
  // may crowd out any particular one, so any will do).
  Reap(Spawn({"/bin/true"}));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  out.clear();
  while (out.empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*src)->Read(100, &out, &overruns).ok());
  }
  EXPECT_FALSE(out.empty());
}

// True once thread `tid` of this process sleeps (blocked in a syscall), within a deadline.
bool WaitUntilSleeping(pid_t tid) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    size_t close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'S') return true;
    std::this_thread::yield();
  }
  return false;
}

TEST_F(ProcConnectorIntegration, InterruptWakesABlockedRead) {
  std::atomic<pid_t> reader_tid{0};
  std::atomic<bool> returned{false};
  std::chrono::steady_clock::duration blocked_for{};
  std::thread reader([&] {
    reader_tid = gettid();
    std::vector<ProcEvent> out;
    uint64_t overruns = 0;
    const auto start = std::chrono::steady_clock::now();
    // Keep reading until the interrupt: notifications from other processes may end a Read.
    while (!returned) {
      ASSERT_TRUE(source_->Read(60'000, &out, &overruns).ok());
      if (std::chrono::steady_clock::now() - start > 50s) break;
      returned = interrupted_seen_.load();
    }
    blocked_for = std::chrono::steady_clock::now() - start;
  });
  while (reader_tid == 0) std::this_thread::yield();
  ASSERT_TRUE(WaitUntilSleeping(reader_tid));
  interrupted_seen_ = true;
  source_->Interrupt();
  reader.join();
  EXPECT_TRUE(returned);
  EXPECT_LT(blocked_for, 30s);  // woken, not timed out (the timeout is 60 s)
}

// --- The agent ----------------------------------------------------------------------------

// Checks the exec and exit events of one /bin/sh child that lives about 0.3 s and exits 7.
void CheckChildIsReported(AgentProcess& agent, bool exit_code_known) {
  const std::string token = UniqueToken("child");
  const std::string script = "sleep 0.3; exit 7";
  const auto started = std::chrono::steady_clock::now();
  pid_t child = Spawn({"/bin/sh", "-c", script, token});
  ASSERT_GT(child, 0);

  auto exec = agent.WaitFor([&](const json& e) { return IsProcess(e, "exec") && CmdlineHas(e, token); }, 1s);
  const auto latency = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(exec.has_value()) << "no exec event within 1 s; agent log:\n" << agent.Log();
  EXPECT_LE(latency, 1s);
  const json& d = (*exec)["data"];
  EXPECT_EQ(d.value("pid", 0), child);
  EXPECT_EQ(d.value("ppid", 0), getpid());
  EXPECT_EQ(d.value("exe", ""), std::filesystem::canonical("/bin/sh").string());
  EXPECT_EQ(d.value("cmdline", ""), "/bin/sh -c " + script + " " + token);
  EXPECT_EQ(d["argv"], json::array({"/bin/sh", "-c", script, token}));
  EXPECT_EQ(d.value("uid", -1), 0);
  EXPECT_EQ(d.value("user", ""), "root");
  EXPECT_EQ(d.value("cwd", ""), std::filesystem::current_path().string());
  EXPECT_EQ(d.value("parent_exe", ""), std::filesystem::canonical("/proc/self/exe").string());
  EXPECT_EQ(d.value("sha256", "").size(), 64u) << d.dump();
  EXPECT_FALSE(d.contains("partial")) << d.dump();

  int status = Reap(child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 7);
  auto exit =
      agent.WaitFor([&](const json& e) { return IsProcess(e, "exit") && e["data"].value("pid", 0) == child; }, 3s);
  ASSERT_TRUE(exit.has_value()) << "no exit event; agent log:\n" << agent.Log();
  const json& x = (*exit)["data"];
  EXPECT_EQ(x.value("exe", ""), d.value("exe", "x"));
  EXPECT_EQ(x.value("user", ""), "root");
  EXPECT_TRUE(CmdlineHas(*exit, token)) << x.dump();
  if (exit_code_known)
    EXPECT_EQ(x.value("exit_code", -1), 7) << x.dump();
  else
    EXPECT_FALSE(x.contains("exit_code")) << x.dump();
}

std::string SourceInStats(AgentProcess& agent) {
  auto stats = agent.WaitFor(
      [](const json& e) {
        if (e.value("type", "") != "agent_stats") return false;
        for (const json& c : e["data"]["collectors"]) {
          if (c.value("collector", "") == "process") return true;
        }
        return false;
      },
      10s);
  if (!stats) return "(no agent_stats)";
  for (const json& c : (*stats)["data"]["collectors"]) {
    if (c.value("collector", "") == "process") return c.value("source", "");
  }
  return "";
}

TEST(ProcessIntegration, NetlinkReportsExecAndExitOfAChild) {
  auto agent = AgentProcess::Start("process:\n  priority: high\n  mode: netlink\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitUntilCollecting(*agent)) << "the agent reported no process; log:\n" << agent->Log();
  CheckChildIsReported(*agent, /*exit_code_known=*/true);
  EXPECT_EQ(SourceInStats(*agent), "netlink");
}

TEST(ProcessIntegration, PollFallbackReportsAProcessLivingTwoIntervals) {
  auto agent =
      AgentProcess::Start("process:\n  priority: high\n  mode: poll\n  poll_interval: 100ms\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitUntilCollecting(*agent)) << "the agent reported no process; log:\n" << agent->Log();
  CheckChildIsReported(*agent, /*exit_code_known=*/false);
  EXPECT_EQ(SourceInStats(*agent), "poll");
}

// A program whose file is deleted while it runs (as Mirai does to its own binary) is
// reported once by the periodic check of /proc/PID/exe, with the kernel's suffix.
TEST(ProcessIntegration, ReportsARunningProgramWhoseFileWasDeleted) {
  auto agent = AgentProcess::Start(
      "process:\n  priority: high\n  mode: netlink\n  deleted_exe_interval: 200ms\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitUntilCollecting(*agent)) << "the agent reported no process; log:\n" << agent->Log();

  testing::TempDir dir;
  const std::string token = "31" + std::to_string(getpid() % 1000);  // seconds: long enough, and ours
  // Runs a copy of sleep named `name`, awaits its exec, deletes the file; returns its pid.
  auto run_and_delete = [&](const std::string& name) -> pid_t {
    const std::string copy = dir / name;
    std::filesystem::copy_file("/bin/sleep", copy);
    std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
    pid_t child = Spawn({copy, token});
    if (child <= 0) return -1;
    auto exec = agent->WaitFor(
        [&](const json& e) { return IsProcess(e, "exec") && e["data"].value("pid", 0) == child; }, 5s);
    EXPECT_TRUE(exec.has_value()) << agent->Log();
    if (exec) {
      EXPECT_EQ((*exec)["data"].value("exe", ""), copy);
    }
    std::filesystem::remove(copy);
    return child;
  };
  auto deleted_event = [&](pid_t child) {
    return agent->WaitFor(
        [&](const json& e) { return IsProcess(e, "exe_deleted") && e["data"].value("pid", 0) == child; }, 5s);
  };

  const pid_t first = run_and_delete("vigil-sleeper");
  ASSERT_GT(first, 0);
  auto deleted = deleted_event(first);
  // A second one, reported by a later check: by then the first was checked again.
  const pid_t second = run_and_delete("vigil-sleeper2");
  auto deleted2 = second > 0 ? deleted_event(second) : std::nullopt;
  for (pid_t p : {first, second}) {
    if (p <= 0) continue;
    kill(p, SIGKILL);
    Reap(p);
  }
  ASSERT_TRUE(deleted.has_value()) << "no exe_deleted event; log:\n" << agent->Log();
  const std::string copy = dir / "vigil-sleeper";
  const json& d = (*deleted)["data"];
  EXPECT_EQ(d.value("exe", ""), copy + " (deleted)");
  EXPECT_EQ(d.value("cmdline", ""), copy + " " + token);
  EXPECT_EQ(d["argv"], json::array({copy, token}));
  EXPECT_EQ(d.value("comm", ""), "vigil-sleeper");
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(getuid()));
  EXPECT_EQ(d.value("user", ""), "root");
  EXPECT_EQ(d.value("ppid", 0), getpid());
  ASSERT_TRUE(deleted2.has_value()) << "no exe_deleted event for the second program";
  EXPECT_EQ((*deleted2)["data"].value("exe", ""), dir / "vigil-sleeper2" + " (deleted)");
  size_t reported = 0;
  for (const json& e : agent->Events())
    if (IsProcess(e, "exe_deleted") && e["data"].value("pid", 0) == first) ++reported;
  EXPECT_EQ(reported, 1u);
  testing::StopAndValidate(*agent);
}

}  // namespace
}  // namespace vigil
