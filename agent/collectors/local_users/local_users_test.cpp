#include "agent/collectors/local_users/local_users.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::local_users {
namespace {

using namespace std::chrono_literals;

// A ChangeWatch the test pokes. Wait returns within a few ms so the collector's loop looks at
// the (manual) clock often.
class FakeWatch : public ChangeWatch {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int pokes = 0;
    bool fail = false;
    bool interrupted = false;
  };
  explicit FakeWatch(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Result<bool> Wait(int64_t timeout_ms) override {
    std::unique_lock lock(s_->mu);
    s_->cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 5)),
                    [&] { return s_->pokes > 0 || s_->fail || s_->interrupted; });
    if (s_->interrupted) return false;
    if (s_->fail) return Status::IoError("fake watch broke");
    if (s_->pokes > 0) {
      --s_->pokes;
      return true;
    }
    return false;
  }
  void Interrupt() override {
    std::lock_guard lock(s_->mu);
    s_->interrupted = true;
    s_->cv.notify_all();
  }
  std::string_view name() const override { return "fake"; }

 private:
  std::shared_ptr<Shared> s_;
};

constexpr char kPasswd[] = "root:x:0:0:root:/root:/bin/bash\n";
constexpr char kGroup[] = "root:x:0:\n";
constexpr char kShadow[] = "root:$6$a$b:1::::::\n";

class LocalUsersCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("local_users", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    env_.SetFile("/etc/passwd", kPasswd);
    env_.SetFile("/etc/group", kGroup);
    env_.SetFile("/etc/shadow", kShadow);
  }

  std::unique_ptr<Collector> Make() {
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, kDescriptor.default_priority});
    return NewLocalUsersCollector(*ctx_, std::make_unique<FakeWatch>(watch_));
  }

  void Poke() {
    std::lock_guard lock(watch_->mu);
    ++watch_->pokes;
    watch_->cv.notify_all();
  }

  // Events until `n` have arrived or `within` has passed.
  std::vector<Event> Drain(size_t n, std::chrono::milliseconds within = 5s) {
    std::vector<Event> out;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) bus_.PopAll(&out, 50ms);
    return out;
  }

  FakeEnv env_;
  EventBus bus_{64};
  Scheduler scheduler_;
  CollectorStats stats_{"local_users"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  std::shared_ptr<FakeWatch::Shared> watch_ = std::make_shared<FakeWatch::Shared>();
};

TEST_F(LocalUsersCollectorTest, SnapshotAtStartThenOneEventPerChange) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "snapshot");
  EXPECT_EQ(events[0].priority, Priority::kHigh);
  EXPECT_EQ(stats_.source(), "fake");

  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  env_.SetFile("/etc/group", std::string(kGroup) + "eve:x:1001:\n");
  Poke();
  events = Drain(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "user_added");
  EXPECT_EQ(events[0].data["user"], "eve");
  EXPECT_EQ(events[1].action, "group_added");
  EXPECT_TRUE(events[0].agg_key.empty());

  c->Stop();
}

TEST_F(LocalUsersCollectorTest, HalfWrittenFilesAreReadAgainAfterTheNextChange) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  Poke();
  EXPECT_TRUE(Drain(1, 300ms).empty());  // shadow not written yet
  env_.SetFile("/etc/shadow", std::string(kShadow) + "eve:!:1::::::\n");
  Poke();
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "user_added");
  EXPECT_EQ(events[0].data["password_locked"], true);
  EXPECT_EQ(stats_.count("incomplete_reads"), 1u);
  c->Stop();
}

TEST_F(LocalUsersCollectorTest, HalfWrittenFilesAreTakenAsTheyAreAfterADeadline) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  Poke();
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "user_added");
  EXPECT_FALSE(events[0].data.contains("password_locked"));
  c->Stop();
}

TEST_F(LocalUsersCollectorTest, SendsASnapshotEveryInterval) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  env_.manual_clock().Advance(3'600'000);
  // The periodic pass re-reads first, so a change no watch reported still shows.
  std::vector<Event> events = Drain(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "user_added");
  EXPECT_EQ(events[1].action, "snapshot");
  EXPECT_EQ(events[1].data["user_count"], 2);
  c->Stop();
}

TEST_F(LocalUsersCollectorTest, FallsBackToPollingWhenTheWatchBreaks) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  {
    std::lock_guard lock(watch_->mu);
    watch_->fail = true;
    watch_->cv.notify_all();
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats_.source() != "poll" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(stats_.source(), "poll");
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(LocalUsersCollectorTest, UnavailableWithoutPasswd) {
  env_.RemovePath("/etc/passwd");
  auto c = Make();
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
}

TEST_F(LocalUsersCollectorTest, ReadsThePathsFromItsSettings) {
  ASSERT_TRUE(config_.Set(schema_, "local_users.passwd_path", "/copy/passwd").ok());
  ASSERT_TRUE(config_.Set(schema_, "local_users.group_path", "/copy/group").ok());
  ASSERT_TRUE(config_.Set(schema_, "local_users.shadow_path", "/copy/shadow").ok());
  env_.SetFile("/copy/passwd", "toor:x:0:0::/root:/bin/sh\n");
  env_.SetFile("/copy/shadow", "toor::1::::::\n");
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["uid0_users"], (Json{"toor"}));
  EXPECT_EQ(events[0].data["empty_password_users"], (Json{"toor"}));
  EXPECT_EQ(events[0].data["group_count"], 0);
  c->Stop();
}

TEST_F(LocalUsersCollectorTest, RelativePathsAreRefused) {
  ASSERT_TRUE(config_.Set(schema_, "local_users.shadow_path", "shadow").ok());
  auto c = Make();
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
}

TEST(LocalUsersSettings, DefaultsValidateAndIntervalIsBounded) {
  ConfigSchema schema;
  schema.AddSection("local_users", "", kDescriptor.settings);
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetInt("local_users.interval"), 3'600'000);
  EXPECT_FALSE(config.Set(schema, "local_users.interval", "30s").ok());
  EXPECT_FALSE(config.Set(schema, "local_users.interval", "8d").ok());
  EXPECT_EQ(kDescriptor.name, "local_users");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kHigh);
}

}  // namespace
}  // namespace vigil::local_users
