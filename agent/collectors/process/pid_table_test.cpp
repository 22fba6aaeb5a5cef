#include "agent/collectors/process/pid_table.h"

#include <gtest/gtest.h>

namespace vigil::process {
namespace {

ProcEntry WithPpid(int32_t ppid) {
  ProcEntry e;
  e.ppid = ppid;
  return e;
}

TEST(PidTable, FindsPutsAndTakes) {
  PidTable t(4);
  EXPECT_EQ(t.Find(10), nullptr);
  EXPECT_FALSE(t.Put(10, WithPpid(1)));
  ASSERT_NE(t.Find(10), nullptr);
  EXPECT_EQ(t.Find(10)->ppid, 1);
  auto taken = t.Take(10);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->ppid, 1);
  EXPECT_EQ(t.Find(10), nullptr);
  EXPECT_FALSE(t.Take(10).has_value());
}

TEST(PidTable, EvictsTheOldestInsertionWhenFull) {
  PidTable t(3);
  t.Put(1, WithPpid(0));
  t.Put(2, WithPpid(0));
  t.Put(3, WithPpid(0));
  t.Put(1, WithPpid(9));  // re-inserted: now the newest
  EXPECT_TRUE(t.Put(4, WithPpid(0)));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.Find(2), nullptr);
  ASSERT_NE(t.Find(1), nullptr);
  EXPECT_EQ(t.Find(1)->ppid, 9);
  EXPECT_NE(t.Find(3), nullptr);
  EXPECT_NE(t.Find(4), nullptr);
}

TEST(PidTable, StaysBoundedUnderChurn) {
  PidTable t(64);
  for (int32_t pid = 1; pid < 100000; ++pid) {
    t.Put(pid, WithPpid(1));
    if (pid % 3 == 0) t.Take(pid - 1);
    if (pid % 7 == 0) t.Put(pid - 2, WithPpid(2));
  }
  EXPECT_LE(t.size(), 64u);
  EXPECT_NE(t.Find(99999), nullptr);
}

}  // namespace
}  // namespace vigil::process
