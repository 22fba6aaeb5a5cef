#include "agent/collectors/network/network.h"

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/config_tables.h"
#include "agent/core/scheduler.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_connection_source.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::network {
namespace {

using Kind = ConnectionRecord::Kind;

TEST(NetworkDescriptor, DeclaresItsSettingsWithValidDefaults) {
  EXPECT_EQ(kDescriptor.name, "network");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kMedium);
  std::set<std::string> keys;
  for (const SettingSpec& spec : kDescriptor.settings) {
    keys.insert(std::string(spec.key));
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    auto v = ParseSettingValue(spec, spec.default_value);
    EXPECT_TRUE(v.ok()) << spec.key << ": " << v.status().ToString();
  }
  EXPECT_EQ(keys, (std::set<std::string>{"mode", "poll_interval", "include_loopback", "table_entries", "ebpf_buffer",
                                         "host_names", "host_name_entries", "raw_socket_interval"}));
}

ConnectionRecord Connect(uint64_t id, uint16_t remote_port = 443) {
  ConnectionRecord r;
  r.kind = Kind::kConnect;
  r.local.addr = {10, 0, 0, 1};
  r.local.port = static_cast<uint16_t>(40000 + id);
  r.remote.addr = {192, 0, 2, 7};
  r.remote.port = remote_port;
  r.pid = 100;
  r.uid = 0;
  r.socket_id = id;
  return r;
}

class NetworkCollectorTest : public ::testing::Test {
 protected:
  void Configure(Priority priority, const std::string& medium_interval = "60s") {
    const CollectorDescriptor* d = &kDescriptor;
    schema_ = BuildAgentSchema(std::span<const CollectorDescriptor* const>(&d, 1));
    config_ = Config::Defaults(schema_);
    ASSERT_TRUE(config_.Set(schema_, "priorities.medium_interval", medium_interval).ok());
    // The host's raw sockets are not the fake's business (raw_sockets_test.cpp covers them).
    ASSERT_TRUE(config_.Set(schema_, "network.raw_socket_interval", "0s").ok());
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    env_.SetLink("/proc/100/exe", "/usr/bin/curl");
    ctx_ = std::make_unique<CollectorContext>(CollectorContext{config_, env_, bus_, scheduler_, stats_, priority});
    auto src = std::make_unique<FakeConnectionSource>("ebpf");
    source_ = src.get();
    collector_ = NewNetworkCollector(*ctx_, std::move(src));
  }

  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      for (const Event& e : seen_)
        if (pred(e)) return e;
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      bus_.PopAll(&seen_, std::chrono::milliseconds(20));
    }
  }

  FakeEnv env_;
  EventBus bus_{256};
  Scheduler scheduler_;
  CollectorStats stats_{"network"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  FakeConnectionSource* source_ = nullptr;
  std::unique_ptr<Collector> collector_;
  std::vector<Event> seen_;
};

TEST_F(NetworkCollectorTest, HighPriorityEventsLeaveAtOnceNamedByTheirProcess) {
  Configure(Priority::kHigh);
  ASSERT_TRUE(collector_->Start().ok());
  EXPECT_EQ(stats_.source(), "ebpf");
  source_->Push(Connect(1));
  auto e = WaitFor([](const Event& e) { return e.action == "connect"; });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, "network");
  EXPECT_EQ(e->collector, "network");
  EXPECT_EQ(e->priority, Priority::kHigh);
  EXPECT_EQ(e->data["exe"], "/usr/bin/curl");
  EXPECT_EQ(e->data["user"], "root");
  collector_->Stop();
  collector_->Stop();  // idempotent
  EXPECT_EQ(stats_.collected.load(), 1u);
}

TEST_F(NetworkCollectorTest, AggregatesOverThePriorityIntervalAndCountsTheMergedEvents) {
  Configure(Priority::kMedium, "60s");
  for (uint64_t id = 1; id <= 3; ++id) source_->Push(Connect(id));
  ASSERT_TRUE(collector_->Start().ok());
  // The first Read hands on all three; once a second Read has begun they are handled.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (source_->reads() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  env_.manual_clock().Advance(60'000);
  auto e = WaitFor([](const Event& e) { return e.action == "connect"; });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->count, 3u);
  EXPECT_EQ(stats_.collected.load(), 3u);
  EXPECT_EQ(stats_.aggregated.load(), 2u);
  collector_->Stop();
}

TEST_F(NetworkCollectorTest, StopSendsWhatIsHeld) {
  Configure(Priority::kMedium, "60s");
  source_->Push(Connect(1, 80));
  source_->Push(Connect(2, 81));
  ASSERT_TRUE(collector_->Start().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (source_->reads() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  collector_->Stop();
  bus_.PopAll(&seen_, std::chrono::milliseconds(0));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].data["remote_port"], 80);
  EXPECT_EQ(seen_[1].data["remote_port"], 81);
}

TEST_F(NetworkCollectorTest, RecordsTheSourceLostAreCountedAsDropped) {
  Configure(Priority::kHigh);
  ASSERT_TRUE(collector_->Start().ok());
  source_->Lose(5);
  source_->Push(Connect(1));
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.action == "connect"; }).has_value());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats_.dropped("kernel_overrun") < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(stats_.dropped("kernel_overrun"), 5u);
  collector_->Stop();
}

TEST_F(NetworkCollectorTest, AGivenSourceThatFailsStopsTheCollector) {
  Configure(Priority::kHigh);
  ASSERT_TRUE(collector_->Start().ok());
  source_->Push(Connect(1));
  source_->Fail(Status::IoError("ring buffer gone"));
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.action == "connect"; }).has_value());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stats_.source().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(stats_.source(), "");
  collector_->Stop();
}

TEST_F(NetworkCollectorTest, StopReturnsQuicklyWhileTheSourceWaits) {
  Configure(Priority::kHigh);
  ASSERT_TRUE(collector_->Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto start = std::chrono::steady_clock::now();
  collector_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

}  // namespace
}  // namespace vigil::network
