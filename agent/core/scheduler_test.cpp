#include "agent/core/scheduler.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Scheduler, RunsTasksWhenDueAndReportsNextDeadline) {
  Scheduler s;
  int a = 0, b = 0;
  s.Add("a", 100, 100, [&](int64_t) { ++a; });
  s.Add("b", 250, 0, [&](int64_t) { ++b; });
  EXPECT_EQ(s.RunDue(0), 100);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(s.RunDue(100), 200);
  EXPECT_EQ(a, 1);
  s.RunDue(250);
  EXPECT_EQ(b, 2);
}

TEST(Scheduler, SkipsMissedPeriodsAfterAStall) {
  Scheduler s;
  int runs = 0;
  s.Add("t", 10, 0, [&](int64_t) { ++runs; });
  s.RunDue(0);
  s.RunDue(1000);  // 99 periods missed: one run, not 100
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(s.RunDue(1005), 1010);
}

TEST(Scheduler, RemovedTaskNeverRunsAgain) {
  Scheduler s;
  int a = 0, b = 0;
  const Scheduler::TaskId ida = s.Add("a", 10, 0, [&](int64_t) { ++a; });
  s.Add("b", 10, 0, [&](int64_t) { ++b; });
  s.RunDue(0);
  s.Remove(ida);
  s.Remove(ida);  // twice: ignored
  s.Remove(0);
  s.RunDue(10);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

TEST(Scheduler, RemoveWaitsForARunningTask) {
  Scheduler s;
  std::atomic<bool> entered{false}, release{false}, finished{false};
  const Scheduler::TaskId id = s.Add("slow", 10, 0, [&](int64_t) {
    entered = true;
    while (!release) std::this_thread::yield();
    finished = true;
  });
  std::thread pipeline([&] { s.RunDue(0); });
  while (!entered) std::this_thread::yield();
  std::thread remover([&] {
    s.Remove(id);
    EXPECT_TRUE(finished.load());  // Remove returned only after the task ended
  });
  release = true;
  remover.join();
  pipeline.join();
}

}  // namespace
}  // namespace vigil
