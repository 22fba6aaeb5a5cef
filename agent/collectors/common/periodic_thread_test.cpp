#include "agent/collectors/common/periodic_thread.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

namespace vigil::common {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicThread, WorksAfterTheFirstDelayThenEveryInterval) {
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  PeriodicThread t;
  t.Start(0, 1, [&] {
    std::lock_guard lock(mu);
    ++runs;
    cv.notify_all();
  });
  EXPECT_TRUE(t.running());
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return runs >= 3; })) << runs << " runs";
  lock.unlock();
  t.Stop();
  EXPECT_FALSE(t.running());
}

TEST(PeriodicThread, StopDoesNotWaitOutTheInterval) {
  std::atomic<int> runs{0};
  PeriodicThread t;
  t.Start(3'600'000, 3'600'000, [&] { ++runs; });
  const auto before = std::chrono::steady_clock::now();
  t.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s) << "an hour's wait was not cut short";
  EXPECT_EQ(runs.load(), 0);
  t.Stop();  // again: nothing to do
}

TEST(PeriodicThread, CanBeStartedAgainAfterAStop) {
  std::atomic<int> runs{0};
  PeriodicThread t;
  t.Start(3'600'000, 3'600'000, [&] { ++runs; });
  t.Stop();
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false;
  t.Start(0, 3'600'000, [&] {
    std::lock_guard lock(mu);
    ran = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return ran; }));
  lock.unlock();
  t.Stop();
}

}  // namespace
}  // namespace vigil::common
