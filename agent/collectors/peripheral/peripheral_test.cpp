#include "agent/collectors/peripheral/peripheral.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/collectors/peripheral/test_fixtures.h"
#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_uevent_source.h"

namespace vigil::peripheral {
namespace {

using namespace std::chrono_literals;

class PeripheralCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("peripheral", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    testdata::AddNetSysfs(env_);
  }

  std::unique_ptr<Collector> Make() {
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kMedium});
    auto source = std::make_unique<FakeUeventSource>();
    source_ = source.get();
    return NewPeripheralCollector(*ctx_, std::move(source));
  }

  // Pops events until `n` have arrived (or 5 s pass).
  std::vector<Event> WaitForEvents(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (got_.size() < n && std::chrono::steady_clock::now() < deadline) bus_.PopAll(&got_, 50ms);
    return got_;
  }

  FakeEnv env_;
  EventBus bus_{64};
  Scheduler scheduler_;
  CollectorStats stats_{"peripheral"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  FakeUeventSource* source_ = nullptr;
  std::vector<Event> got_;
};

TEST_F(PeripheralCollectorTest, ReportsInventoryThenUevents) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "netlink");
  std::vector<Event> events = WaitForEvents(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "present");
  EXPECT_EQ(events[0].collector, "peripheral");
  EXPECT_EQ(events[0].priority, Priority::kMedium);

  source_->Push(testdata::VethAdd());
  source_->Push("garbage without a header");
  source_->Push(testdata::VethRemove());
  events = WaitForEvents(4);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].action, "add");
  EXPECT_EQ(events[2].data["interface"], "vigiltest0");
  EXPECT_EQ(events[3].action, "remove");
  c->Stop();
  EXPECT_EQ(stats_.count("uevents"), 3u);
  EXPECT_EQ(stats_.count("uevents_malformed"), 1u);
}

TEST_F(PeripheralCollectorTest, OverrunIsCountedAndFollowedByARescan) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(WaitForEvents(2).size(), 2u);
  testdata::AddVethSysfs(env_);  // appeared while the uevents were lost
  source_->PushOverruns(2);
  std::vector<Event> events = WaitForEvents(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].action, "add");
  EXPECT_EQ(events[2].data["interface"], "vigiltest0");
  c->Stop();
  EXPECT_EQ(stats_.dropped("kernel_overrun"), 2u);
  EXPECT_EQ(stats_.count("rescans"), 1u);
}

TEST_F(PeripheralCollectorTest, HeldUsbDeviceIsReportedAfterSettleTime) {
  ASSERT_TRUE(config_.Set(schema_, "peripheral.usb_settle", "100ms").ok());
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(WaitForEvents(2).size(), 2u);
  source_->Push(testdata::FlashAdd());
  // The manual clock does not move by itself: the device waits until it does.
  const int reads = source_->reads();
  while (source_->reads() < reads + 2) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(WaitForEvents(2).size(), 2u);
  env_.manual_clock().Advance(100);
  std::vector<Event> events = WaitForEvents(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].data["vendor_id"], "0781");
}

TEST_F(PeripheralCollectorTest, FailingSourceStopsTheCollector) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_EQ(WaitForEvents(2).size(), 2u);
  source_->Fail(Status::IoError("socket gone"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats_.source() == "netlink" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(stats_.source(), "");
  c->Stop();
}

TEST_F(PeripheralCollectorTest, StopIsQuickAndIdempotent) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(c->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(PeripheralCollectorTest, RefusesSubsystemNamesThatAreNotNames) {
  ASSERT_TRUE(config_.Set(schema_, "peripheral.subsystems", "usb,../../etc").ok());
  auto c = Make();
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("'../../etc'"), std::string::npos) << st.ToString();
}

TEST(PeripheralSettings, DefaultsValidate) {
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  ConfigSchema schema;
  schema.AddSection("peripheral", "", kDescriptor.settings);
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetList("peripheral.subsystems"), (std::vector<std::string>{"usb", "net", "block", "tty"}));
  EXPECT_EQ(config.GetString("peripheral.mode"), "auto");
  EXPECT_EQ(config.GetInt("peripheral.usb_settle"), 2000);
  EXPECT_EQ(kDescriptor.name, "peripheral");
}

}  // namespace
}  // namespace vigil::peripheral
