#include "agent/core/scheduler.h"

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

}  // namespace
}  // namespace vigil
