#include "agent/collectors/firewall/firewall.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent/collectors/firewall/fake_firewall_source.h"
#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::firewall {
namespace {

using namespace std::chrono_literals;

constexpr char kTable[] = R"({"nftables":[{"table":{"family":"inet","name":"t"}},
  {"chain":{"family":"inet","table":"t","name":"in","type":"filter","hook":"input","prio":0,"policy":"accept"}}]})";

class FirewallCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("firewall", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
  }

  std::unique_ptr<Collector> Make() {
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, kDescriptor.default_priority});
    auto reader = std::make_unique<FakeRulesetReader>();
    reader_ = reader.get();
    return NewFirewallCollector(*ctx_, std::move(reader), std::make_unique<FakeNotifier>(notifier_));
  }

  std::vector<Event> Drain(size_t n, std::chrono::milliseconds within = 5s) {
    std::vector<Event> out;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) bus_.PopAll(&out, 20ms);
    return out;
  }

  FakeEnv env_;
  EventBus bus_{64};
  Scheduler scheduler_;
  CollectorStats stats_{"firewall"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  FakeRulesetReader* reader_ = nullptr;
  std::shared_ptr<FakeNotifier::Shared> notifier_ = std::make_shared<FakeNotifier::Shared>();
};

TEST_F(FirewallCollectorTest, SnapshotThenChangedOnNotification) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "snapshot");
  EXPECT_EQ(events[0].priority, Priority::kHigh);
  EXPECT_EQ(stats_.source(), "fake");

  reader_->SetNftables(std::string(kTable));
  notifier_->Poke();
  events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "changed");
  EXPECT_EQ(events[0].data["changes"]["chains_added"][0]["chain"], "in");
  EXPECT_TRUE(events[0].agg_key.empty());

  notifier_->Poke();  // nothing changed: no event
  EXPECT_TRUE(Drain(1, 300ms).empty());
  c->Stop();
}

TEST_F(FirewallCollectorTest, NotificationsInABurstAreReadOnce) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  const int reads_before = reader_->nft_reads();
  reader_->SetNftables(std::string(kTable));
  for (int i = 0; i < 5; ++i) notifier_->Poke();
  ASSERT_EQ(Drain(1).size(), 1u);
  EXPECT_EQ(reader_->nft_reads() - reads_before, 1);
  c->Stop();
}

TEST_F(FirewallCollectorTest, ReadsAgainEveryInterval) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  reader_->SetLegacy("ip", std::string("*filter\n:INPUT DROP [0:0]\nCOMMIT\n"));
  env_.manual_clock().Advance(5 * 60'000);
  std::vector<Event> events = Drain(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "changed");
  EXPECT_EQ(events[0].data["backends"][1]["name"], "iptables-legacy");
  c->Stop();
}

TEST_F(FirewallCollectorTest, FallsBackToTheTimerWhenNotificationsBreakAndStopsQuickly) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(Drain(1).size(), 1u);
  notifier_->Fail();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats_.source() != "poll" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(stats_.source(), "poll");
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(FirewallCollectorTest, StopBeforeTheFirstEventIsQuick) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  c->Stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(FirewallSettings, DefaultsValidateAndIntervalIsBounded) {
  ConfigSchema schema;
  schema.AddSection("firewall", "", kDescriptor.settings);
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetInt("firewall.interval"), 300'000);
  EXPECT_FALSE(config.Set(schema, "firewall.interval", "500ms").ok());
  EXPECT_FALSE(config.Set(schema, "firewall.interval", "2d").ok());
  EXPECT_EQ(kDescriptor.name, "firewall");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kHigh);
}

TEST(TimerNotifier, TimesOutAndWakesOnInterrupt) {
  TimerNotifier t;
  auto r = t.Wait(10);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  std::thread other([&] {
    std::this_thread::sleep_for(20ms);
    t.Interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  r = t.Wait(60'000);
  other.join();
  EXPECT_FALSE(*r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace vigil::firewall
