#include "agent/collectors/process/poll_source.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil::process {
namespace {

void AddPid(FakeEnv& env, int pid) {
  env.SetFile("/proc/" + std::to_string(pid) + "/stat", std::to_string(pid) + " (x) S 1");
}

TEST(PollProcessSource, FirstScanIsTheBaseline) {
  FakeEnv env;
  AddPid(env, 1);
  AddPid(env, 50);
  env.SetFile("/proc/meminfo", "");
  env.SetFile("/proc/self/stat", "");
  PollProcessSource src(env, 100);
  std::vector<ProcEvent> out;
  ASSERT_TRUE(src.Scan(&out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(src.known(), (std::vector<int32_t>{1, 50}));
}

TEST(PollProcessSource, DiffYieldsExecForNewAndExitForVanishedPids) {
  FakeEnv env;
  AddPid(env, 1);
  AddPid(env, 50);
  AddPid(env, 70);
  PollProcessSource src(env, 100);
  std::vector<ProcEvent> out;
  ASSERT_TRUE(src.Scan(&out).ok());

  env.RemovePath("/proc/50");
  AddPid(env, 60);
  AddPid(env, 100);
  ASSERT_TRUE(src.Scan(&out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kExit);
  EXPECT_EQ(out[0].pid, 50);
  EXPECT_EQ(out[0].exit_status, -1);
  EXPECT_EQ(out[1].kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(out[1].pid, 60);
  EXPECT_EQ(out[2].kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(out[2].pid, 100);

  out.clear();
  ASSERT_TRUE(src.Scan(&out).ok());
  EXPECT_TRUE(out.empty());  // nothing changed
}

// A process first listed between fork and exec (or in the middle of its exec, with no command
// line yet) is reported again once its command line has changed, at the next listing only.
TEST(PollProcessSource, ANewProcessWhoseCommandLineChangedByTheNextListingIsReportedAgain) {
  FakeEnv env;
  AddPid(env, 1);
  PollProcessSource src(env, 100);
  std::vector<ProcEvent> out;
  ASSERT_TRUE(src.Scan(&out).ok());

  AddPid(env, 60);
  env.SetFile("/proc/60/cmdline", std::string("bash\0script\0", 12));  // forked, not yet exec'd
  AddPid(env, 61);
  env.SetFile("/proc/61/cmdline", "");  // mid-exec
  AddPid(env, 62);
  env.SetFile("/proc/62/cmdline", std::string("sleep\0" "9\0", 8));
  ASSERT_TRUE(src.Scan(&out).ok());
  ASSERT_EQ(out.size(), 3u);

  out.clear();
  env.SetFile("/proc/60/cmdline", std::string("/bin/sh\0-c\0true\0", 16));
  env.SetFile("/proc/61/cmdline", std::string("/usr/bin/top\0", 13));
  ASSERT_TRUE(src.Scan(&out).ok());
  ASSERT_EQ(out.size(), 2u) << "62 did not change";
  EXPECT_EQ(out[0].kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(out[0].pid, 60);
  EXPECT_EQ(out[1].kind, ProcEvent::Kind::kExec);
  EXPECT_EQ(out[1].pid, 61);

  out.clear();
  env.SetFile("/proc/60/cmdline", std::string("/bin/true\0", 10));
  ASSERT_TRUE(src.Scan(&out).ok());
  EXPECT_TRUE(out.empty()) << "only a process's first interval is watched";
}

TEST(PollProcessSource, FailsWhenProcCannotBeListed) {
  FakeEnv env;
  env.DenyPrefix("/proc");
  PollProcessSource src(env, 100);
  std::vector<ProcEvent> out;
  EXPECT_FALSE(src.Scan(&out).ok());
}

TEST(PollProcessSource, ReadScansOnceEveryInterval) {
  FakeEnv env;
  AddPid(env, 1);
  PollProcessSource src(env, 20);
  std::vector<ProcEvent> out;
  uint64_t overruns = 0;
  ASSERT_TRUE(src.Read(1000, &out, &overruns).ok());  // first Read: the baseline, at once
  AddPid(env, 2);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (out.empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(src.Read(1000, &out, &overruns).ok());
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].pid, 2);
  EXPECT_EQ(overruns, 0u);
}

TEST(PollProcessSource, InterruptEndsAWaitingRead) {
  FakeEnv env;
  AddPid(env, 1);
  PollProcessSource src(env, 60'000);
  std::vector<ProcEvent> out;
  uint64_t overruns = 0;
  ASSERT_TRUE(src.Read(0, &out, &overruns).ok());  // baseline
  std::thread stopper([&] { src.Interrupt(); });
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(src.Read(60'000, &out, &overruns).ok());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Sticky: later reads return at once.
  const auto again = std::chrono::steady_clock::now();
  ASSERT_TRUE(src.Read(60'000, &out, &overruns).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::seconds(10));
}

}  // namespace
}  // namespace vigil::process
