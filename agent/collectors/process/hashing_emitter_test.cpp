#include "agent/collectors/process/hashing_emitter.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil::process {
namespace {

class Collected {
 public:
  void Add(Event&& e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  bool WaitForCount(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return events_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

Event Named(const std::string& name) {
  Event e;
  e.type = "process";
  e.action = name;
  return e;
}

class HashingEmitterTest : public ::testing::Test {
 protected:
  HashingEmitterTest() {
    env_.SetFile("/bin/tool", "tool bytes");
    env_.SetLink("/proc/42/exe", "/bin/tool");
  }
  HashJob JobFor(const std::string& proc_path, const std::string& path) {
    return HashJob{FileKey::From(*env_.Stat(path)), proc_path, path};
  }

  FakeEnv env_;
  CollectorStats stats_{"process"};
  HashCache cache_{8};
  Collected out_;
};

TEST_F(HashingEmitterTest, KeepsOrderWhileAnEventWaitsForItsDigest) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  em.Start();
  em.Submit(Named("first"), JobFor("/proc/42/exe", "/bin/tool"));
  em.Submit(Named("second"), std::nullopt);
  em.Flush();  // "second" is either queued behind "first" or batched, depending on timing
  ASSERT_TRUE(out_.WaitForCount(2));
  auto events = out_.events();
  EXPECT_EQ(events[0].action, "first");
  EXPECT_EQ(events[0].data["sha256"], *env_.Sha256File("/bin/tool", 1 << 20));
  EXPECT_EQ(events[1].action, "second");
  em.Stop();
  EXPECT_EQ(em.pending(), 0u);
}

TEST_F(HashingEmitterTest, HoldsEventsWithoutJobsUntilFlush) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  em.Start();
  em.Submit(Named("a"), std::nullopt);
  em.Submit(Named("b"), std::nullopt);
  EXPECT_EQ(out_.size(), 0u);
  EXPECT_EQ(em.batched(), 2u);
  em.Flush();
  EXPECT_EQ(out_.size(), 2u);  // on the caller's thread, before Flush returned
  EXPECT_EQ(out_.events()[0].action, "a");
  em.Stop();
}

TEST_F(HashingEmitterTest, BatchedEventsGoBeforeALaterEventWithAJob) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  em.Start();
  em.Submit(Named("held"), std::nullopt);
  em.Submit(Named("hashed"), JobFor("/proc/42/exe", "/bin/tool"));
  ASSERT_TRUE(out_.WaitForCount(2));
  auto events = out_.events();
  EXPECT_EQ(events[0].action, "held");
  EXPECT_EQ(events[1].action, "hashed");
  em.Stop();
}

TEST_F(HashingEmitterTest, StopFlushesTheBatch) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  em.Start();
  em.Submit(Named("held"), std::nullopt);
  em.Stop();
  EXPECT_EQ(out_.size(), 1u);
}

TEST_F(HashingEmitterTest, HashesTheFileAtItsPathWhenTheProcessIsGone) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  HashJob job = JobFor("/proc/43/exe", "/bin/tool");  // no such process
  EXPECT_EQ(em.Hash(job), *env_.Sha256File("/bin/tool", 1 << 20));
  EXPECT_EQ(stats_.count("hashed"), 1u);
  EXPECT_TRUE(cache_.Get(job.key).has_value());
}

TEST_F(HashingEmitterTest, DoesNotHashAnotherVersionOfTheFile) {
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [this](Event&& e) { out_.Add(std::move(e)); });
  HashJob job = JobFor("/proc/43/exe", "/bin/tool");
  env_.SetFile("/bin/tool", "replaced since");  // new inode and size
  EXPECT_EQ(em.Hash(job), "");
  EXPECT_EQ(stats_.count("hash_failed"), 1u);
}

TEST_F(HashingEmitterTest, FullQueueEmitsWithoutDigestRatherThanDropping) {
  // A queue of one, and an emit that holds the hashing thread on its first event, so the one
  // slot stays taken while the second event arrives.
  std::mutex gate;
  gate.lock();
  HashingEmitter em(env_, cache_, stats_, 1 << 20, 1, [&](Event&& e) {
    if (e.action == "slow") std::lock_guard wait(gate);  // holds the hashing thread here
    out_.Add(std::move(e));
  });
  em.Start();
  em.Submit(Named("slow"), JobFor("/proc/42/exe", "/bin/tool"));
  // The worker is either hashing or blocked in emit: the one slot is taken until we open.
  em.Submit(Named("overflow"), JobFor("/proc/42/exe", "/bin/tool"));
  EXPECT_EQ(stats_.count("hash_skipped_busy"), 1u);
  gate.unlock();
  ASSERT_TRUE(out_.WaitForCount(2));
  em.Stop();
  auto events = out_.events();
  ASSERT_EQ(events.size(), 2u);
  const Event& overflow = events[0].action == "overflow" ? events[0] : events[1];
  EXPECT_FALSE(overflow.data.contains("sha256"));
}

TEST_F(HashingEmitterTest, StopEmitsWhatIsQueued) {
  std::vector<Event> got;
  {
    HashingEmitter em(env_, cache_, stats_, 1 << 20, 16, [&](Event&& e) { got.push_back(std::move(e)); });
    em.Start();
    for (int i = 0; i < 5; ++i) em.Submit(Named("e" + std::to_string(i)), JobFor("/proc/42/exe", "/bin/tool"));
    em.Stop();
    EXPECT_EQ(em.pending(), 0u);
  }
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i].action, "e" + std::to_string(i));
}

}  // namespace
}  // namespace vigil::process
