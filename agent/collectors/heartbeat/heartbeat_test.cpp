#include "agent/collectors/heartbeat/heartbeat.h"

#include <chrono>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::heartbeat {
namespace {

class HeartbeatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("heartbeat", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
  }

  std::unique_ptr<HeartbeatCollector> Make() {
    ctx_ =
        std::make_unique<CollectorContext>(CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kHigh});
    return std::make_unique<HeartbeatCollector>(*ctx_);
  }

  void RunDue() { scheduler_.RunDue(env_.manual_clock().MonotonicMs()); }

  std::vector<Event> Drain() {
    std::vector<Event> out;
    bus_.PopAll(&out, std::chrono::milliseconds(0));
    return out;
  }

  FakeEnv env_;
  EventBus bus_{16};
  Scheduler scheduler_;
  CollectorStats stats_{"heartbeat"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
};

TEST_F(HeartbeatTest, BeatsAtStartThenEveryIntervalWithUptime) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  RunDue();
  std::vector<Event> events = Drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "heartbeat");
  EXPECT_EQ(events[0].action, "");
  EXPECT_EQ(events[0].priority, Priority::kHigh);
  EXPECT_EQ(events[0].ts_ms, env_.manual_clock().NowMs());
  EXPECT_EQ(events[0].data, (Json{{"uptime_s", 0}}));

  env_.manual_clock().Advance(59'999);
  RunDue();
  EXPECT_TRUE(Drain().empty());

  env_.manual_clock().Advance(1);
  RunDue();
  events = Drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["uptime_s"], 60);

  env_.manual_clock().Advance(60'000);
  RunDue();
  events = Drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["uptime_s"], 120);
  EXPECT_EQ(stats_.collected.load(), 3u);
}

TEST_F(HeartbeatTest, UsesConfiguredInterval) {
  ASSERT_TRUE(config_.Set(schema_, "heartbeat.interval", "5s").ok());
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  RunDue();
  ASSERT_EQ(Drain().size(), 1u);
  env_.manual_clock().Advance(5'000);
  RunDue();
  std::vector<Event> events = Drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["uptime_s"], 5);
}

TEST_F(HeartbeatTest, StopSilencesTheTaskEvenAfterDestruction) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(c->Start().ok());  // registers once
  RunDue();
  EXPECT_EQ(Drain().size(), 1u);
  c->Stop();
  env_.manual_clock().Advance(60'000);
  RunDue();
  EXPECT_TRUE(Drain().empty());
  c.reset();
  env_.manual_clock().Advance(60'000);
  RunDue();
  EXPECT_TRUE(Drain().empty());
}

TEST(HeartbeatData, UptimeInWholeSecondsNeverNegative) {
  EXPECT_EQ(HeartbeatData(0), (Json{{"uptime_s", 0}}));
  EXPECT_EQ(HeartbeatData(1'999), (Json{{"uptime_s", 1}}));
  EXPECT_EQ(HeartbeatData(86'400'000), (Json{{"uptime_s", 86'400}}));
  EXPECT_EQ(HeartbeatData(-5'000), (Json{{"uptime_s", 0}}));
}

TEST(HeartbeatSettings, DefaultsValidateAndLimitsAreEnforced) {
  ConfigSchema schema;
  schema.AddSection("heartbeat", "", kDescriptor.settings);
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetInt("heartbeat.interval"), 60'000);
  EXPECT_FALSE(config.Set(schema, "heartbeat.interval", "500ms").ok());  // below 1s
  EXPECT_FALSE(config.Set(schema, "heartbeat.interval", "2d").ok());     // above 1d
  EXPECT_EQ(config.GetInt("heartbeat.interval"), 60'000);
}

TEST(HeartbeatDescriptor, IsNamedAndHighPriority) {
  EXPECT_EQ(kDescriptor.name, "heartbeat");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kHigh);
  EXPECT_NE(kDescriptor.factory, nullptr);
}

}  // namespace
}  // namespace vigil::heartbeat
