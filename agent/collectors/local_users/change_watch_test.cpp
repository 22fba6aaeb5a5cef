#include "agent/collectors/local_users/change_watch.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil::local_users {
namespace {

TEST(StatPollWatch, SeesReplacementRemovalAndCreation) {
  FakeEnv env;
  env.SetFile("/etc/passwd", "a");
  StatPollWatch watch(env, {"/etc/passwd", "/etc/group"}, 1000);
  EXPECT_FALSE(watch.CheckNow());
  env.SetFile("/etc/passwd", "b");  // a new inode, as a rename leaves
  EXPECT_TRUE(watch.CheckNow());
  EXPECT_FALSE(watch.CheckNow());
  env.SetFile("/etc/group", "g");
  EXPECT_TRUE(watch.CheckNow());
  env.RemovePath("/etc/group");
  EXPECT_TRUE(watch.CheckNow());
  EXPECT_FALSE(watch.CheckNow());
}

TEST(StatPollWatch, WaitReturnsOnTimeoutAndOnInterrupt) {
  FakeEnv env;
  env.SetFile("/etc/passwd", "a");
  StatPollWatch watch(env, {"/etc/passwd"}, 10);
  auto r = watch.Wait(30);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  env.SetFile("/etc/passwd", "b");
  r = watch.Wait(1000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);

  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    watch.Interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  r = watch.Wait(60'000);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace vigil::local_users
