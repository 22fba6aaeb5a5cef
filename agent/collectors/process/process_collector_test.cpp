#include "agent/collectors/process/process_collector.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::process {
namespace {

using namespace std::string_literals;

void AddProc(FakeEnv& env, int pid, int ppid, const std::string& exe, const std::string& cmdline) {
  const std::string dir = "/proc/" + std::to_string(pid);
  env.SetLink(dir + "/exe", exe);
  env.SetFile(exe, "image " + exe);
  env.SetFile(dir + "/cmdline", cmdline);
  env.SetLink(dir + "/cwd", "/");
  env.SetFile(dir + "/stat", std::to_string(pid) + " (" + exe.substr(exe.rfind('/') + 1) + ") S " +
                                 std::to_string(ppid) + " 1 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n");
  env.SetFile(dir + "/status", "Name:\tx\nPPid:\t" + std::to_string(ppid) + "\nUid:\t0\t0\t0\t0\n");
}

TEST(ProcessDescriptor, DeclaresItsSettingsWithValidDefaults) {
  EXPECT_EQ(kDescriptor.name, "process");
  EXPECT_NE(kDescriptor.factory, nullptr);
  std::set<std::string> keys;
  for (const SettingSpec& spec : kDescriptor.settings) {
    keys.insert(std::string(spec.key));
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    auto v = ParseSettingValue(spec, spec.default_value);
    EXPECT_TRUE(v.ok()) << spec.key << ": " << v.status().ToString();
    if (spec.type == SettingType::kInt || spec.type == SettingType::kDuration || spec.type == SettingType::kSize) {
      EXPECT_LT(spec.min, spec.max) << spec.key;
      EXPECT_GE(spec.min, 0) << spec.key;
    }
  }
  EXPECT_EQ(keys,
            (std::set<std::string>{"mode", "poll_interval", "hash_max_size", "hash_cache_entries", "table_entries",
                                   "deleted_exe_interval"}));
}

class ProcessCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("process", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    ASSERT_TRUE(config_.Set(schema_, "process.mode", "poll").ok());
    ASSERT_TRUE(config_.Set(schema_, "process.poll_interval", "10ms").ok());
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    AddProc(env_, 1, 0, "/sbin/init", "/sbin/init\0"s);
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kMedium});
  }

  // Waits (bounded) for an event matching pred; everything popped is kept in seen_.
  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      for (const Event& e : seen_) {
        if (pred(e)) return e;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      bus_.PopAll(&seen_, std::chrono::milliseconds(50));
    }
  }

  FakeEnv env_;
  EventBus bus_{256};
  Scheduler scheduler_;
  CollectorStats stats_{"process"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  std::vector<Event> seen_;
};

TEST_F(ProcessCollectorTest, PollModeReportsExecAndExitOfANewProcess) {
  auto c = kDescriptor.factory(*ctx_);
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "poll");

  AddProc(env_, 4242, 1, "/usr/bin/unique-tool", "unique-tool\0--flag\0"s);
  auto exec = WaitFor([](const Event& e) { return e.action == "exec" && e.data.value("pid", 0) == 4242; });
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->type, "process");
  EXPECT_EQ(exec->collector, "process");
  EXPECT_EQ(exec->priority, Priority::kMedium);
  EXPECT_EQ(exec->ts_ms, env_.manual_clock().NowMs());
  EXPECT_EQ(exec->data["exe"], "/usr/bin/unique-tool");
  EXPECT_EQ(exec->data["cmdline"], "unique-tool --flag");
  EXPECT_EQ(exec->data["ppid"], 1);
  EXPECT_EQ(exec->data["user"], "root");
  EXPECT_EQ(exec->data["parent_exe"], "/sbin/init");

  env_.RemovePath("/proc/4242");
  auto exit = WaitFor([](const Event& e) { return e.action == "exit" && e.data.value("pid", 0) == 4242; });
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->data["exe"], "/usr/bin/unique-tool");
  EXPECT_FALSE(exit->data.contains("exit_code"));  // polling cannot know it
  c->Stop();
  c->Stop();  // idempotent
  EXPECT_EQ(stats_.dropped_total(), 0u);
}

TEST_F(ProcessCollectorTest, ProcessesAliveAtStartAreNotReported) {
  AddProc(env_, 77, 1, "/usr/sbin/crond", "crond\0"s);
  auto c = kDescriptor.factory(*ctx_);
  ASSERT_TRUE(c->Start().ok());
  AddProc(env_, 78, 1, "/bin/marker", "marker\0"s);
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.data.value("pid", 0) == 78; }).has_value());
  c->Stop();
  for (const Event& e : seen_) EXPECT_NE(e.data.value("pid", 0), 77) << e.data.dump();
}

TEST_F(ProcessCollectorTest, ReportsEachProcessWhoseFileIsDeletedOnce) {
  ASSERT_TRUE(config_.Set(schema_, "process.deleted_exe_interval", "20ms").ok());
  AddProc(env_, 90, 1, "/tmp/early", "early\0"s);  // running before the collector starts
  auto c = kDescriptor.factory(*ctx_);
  ASSERT_TRUE(c->Start().ok());
  env_.SetLink("/proc/90/exe", "/tmp/early (deleted)");
  auto first = WaitFor([](const Event& e) { return e.action == "exe_deleted" && e.data.value("pid", 0) == 90; });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type, "process");
  EXPECT_EQ(first->priority, Priority::kMedium);
  EXPECT_EQ(first->data["exe"], "/tmp/early (deleted)");
  EXPECT_EQ(first->data["cmdline"], "early");
  EXPECT_EQ(first->data["user"], "root");

  AddProc(env_, 91, 1, "/tmp/late", "late\0"s);
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.action == "exec" && e.data.value("pid", 0) == 91; }).has_value());
  env_.SetLink("/proc/91/exe", "/tmp/late (deleted)");
  ASSERT_TRUE(
      WaitFor([](const Event& e) { return e.action == "exe_deleted" && e.data.value("pid", 0) == 91; }).has_value());
  c->Stop();
  // Many scans ran between the two deletions; the first process was reported by one only.
  EXPECT_EQ(std::count_if(seen_.begin(), seen_.end(),
                          [](const Event& e) { return e.action == "exe_deleted" && e.data.value("pid", 0) == 90; }),
            1);
}

TEST_F(ProcessCollectorTest, DeletedExeIntervalZeroTurnsTheScanOff) {
  ASSERT_TRUE(config_.Set(schema_, "process.deleted_exe_interval", "0s").ok());
  AddProc(env_, 92, 1, "/tmp/gone", "gone\0"s);
  env_.SetLink("/proc/92/exe", "/tmp/gone (deleted)");
  auto c = kDescriptor.factory(*ctx_);
  ASSERT_TRUE(c->Start().ok());
  AddProc(env_, 93, 1, "/bin/marker", "marker\0"s);
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.data.value("pid", 0) == 93; }).has_value());
  c->Stop();
  for (const Event& e : seen_) EXPECT_NE(e.action, "exe_deleted") << e.data.dump();
}

TEST_F(ProcessCollectorTest, PollModeFailsToStartWithoutProc) {
  env_.DenyPrefix("/proc");
  auto c = kDescriptor.factory(*ctx_);
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  c->Stop();
}

// A ProcessSource that hands out scripted batches, one per Read, then blocks until Interrupt.
class ScriptedSource final : public ProcessSource {
 public:
  struct Batch {
    std::vector<ProcEvent> events;
    uint64_t overruns = 0;
    bool fail = false;
  };
  explicit ScriptedSource(std::vector<Batch> batches) : batches_(std::move(batches)) {}
  std::string_view name() const override { return "scripted"; }
  Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) override {
    std::unique_lock lock(mu_);
    if (next_ < batches_.size()) {
      const Batch& b = batches_[next_++];
      if (b.fail) return Status::IoError("scripted failure");
      out->insert(out->end(), b.events.begin(), b.events.end());
      *overruns += b.overruns;
      return Status::Ok();
    }
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return interrupted_; });
    return Status::Ok();
  }
  void Interrupt() override {
    std::lock_guard lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Batch> batches_;
  size_t next_ = 0;
  bool interrupted_ = false;
};

ProcEvent Ev(ProcEvent::Kind kind, int pid, int ppid = -1, int status = -1) {
  ProcEvent e;
  e.kind = kind;
  e.pid = pid;
  e.ppid = ppid;
  e.exit_status = status;
  return e;
}

TEST_F(ProcessCollectorTest, CountsKernelOverrunsAsDrops) {
  AddProc(env_, 500, 1, "/bin/echo", "echo\0hi\0"s);
  env_.SetFile("/proc/500/status", "Name:\techo\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n");
  std::vector<ScriptedSource::Batch> script;
  script.push_back({{}, 2});
  script.push_back({{Ev(ProcEvent::Kind::kFork, 500, 1), Ev(ProcEvent::Kind::kExec, 500)}, 1});
  auto c = NewProcessCollector(*ctx_, std::make_unique<ScriptedSource>(std::move(script)));
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "scripted");
  auto exec = WaitFor([](const Event& e) { return e.action == "exec" && e.data.value("pid", 0) == 500; });
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->data["cmdline"], "echo hi");
  // After an overrun the uid a fork would pass on (init's, 0) is not trusted: it is read
  // from the child's status.
  EXPECT_EQ(exec->data["uid"], 1000);
  c->Stop();
  EXPECT_EQ(stats_.dropped("kernel_overrun"), 3u);
}

TEST_F(ProcessCollectorTest, ExitCodeFromTheSourceReachesTheEvent) {
  AddProc(env_, 501, 1, "/bin/false", "false\0"s);
  std::vector<ScriptedSource::Batch> script;
  script.push_back({{Ev(ProcEvent::Kind::kExec, 501)}, 0});
  script.push_back({{Ev(ProcEvent::Kind::kExit, 501, 1, 1 << 8)}, 0});
  auto c = NewProcessCollector(*ctx_, std::make_unique<ScriptedSource>(std::move(script)));
  ASSERT_TRUE(c->Start().ok());
  auto exit = WaitFor([](const Event& e) { return e.action == "exit" && e.data.value("pid", 0) == 501; });
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->data["exit_code"], 1);
  EXPECT_EQ(exit->data["exe"], "/bin/false");
  c->Stop();
}

TEST_F(ProcessCollectorTest, AFailingSourceStopsTheCollectorAndClearsItsSource) {
  std::vector<ScriptedSource::Batch> script;
  script.push_back({{}, 0, /*fail=*/true});
  auto c = NewProcessCollector(*ctx_, std::make_unique<ScriptedSource>(std::move(script)));
  ASSERT_TRUE(c->Start().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stats_.source().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(stats_.source(), "");
  c->Stop();
}

}  // namespace
}  // namespace vigil::process
