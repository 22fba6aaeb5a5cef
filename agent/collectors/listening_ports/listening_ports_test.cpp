#include "agent/collectors/listening_ports/listening_ports.h"

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
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_socket_table.h"

namespace vigil::listening_ports {
namespace {

TEST(ListeningPortsDescriptor, DeclaresItsSettingsWithValidDefaults) {
  EXPECT_EQ(kDescriptor.name, "listening_ports");
  std::set<std::string> keys;
  for (const SettingSpec& spec : kDescriptor.settings) {
    keys.insert(std::string(spec.key));
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    auto v = ParseSettingValue(spec, spec.default_value);
    EXPECT_TRUE(v.ok()) << spec.key << ": " << v.status().ToString();
  }
  EXPECT_EQ(keys, (std::set<std::string>{"interval", "max_ports", "include_loopback"}));
}

SocketInfo Listener(uint64_t inode, uint16_t port) {
  SocketInfo s;
  s.state = SocketState::kListen;
  s.local.port = port;
  s.inode = inode;
  s.uid = 0;
  return s;
}

class ListeningPortsCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CollectorDescriptor* d = &kDescriptor;
    schema_ = BuildAgentSchema(std::span<const CollectorDescriptor* const>(&d, 1));
    config_ = Config::Defaults(schema_);
    ASSERT_TRUE(config_.Set(schema_, "listening_ports.interval", "1s").ok());
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kMedium});
    auto t = std::make_unique<FakeSocketTable>();
    table_ = t.get();
    table_->Add(Listener(1, 22));
    collector_ = NewListeningPortsCollector(*ctx_, std::move(t));
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
  CollectorStats stats_{"listening_ports"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  FakeSocketTable* table_ = nullptr;
  std::unique_ptr<Collector> collector_;
  std::vector<Event> seen_;
};

TEST_F(ListeningPortsCollectorTest, SendsASnapshotAtStartThenChanges) {
  ASSERT_TRUE(collector_->Start().ok());
  EXPECT_EQ(stats_.source(), "sock_diag");
  auto snap = WaitFor([](const Event& e) { return e.action == "snapshot"; });
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->collector, "listening_ports");
  ASSERT_EQ(snap->data["ports"].size(), 1u);
  EXPECT_EQ(snap->data["ports"][0]["local_port"], 22);

  table_->Add(Listener(2, 8080));
  auto opened = WaitFor([](const Event& e) { return e.action == "opened"; });
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->data["local_port"], 8080);
  table_->Remove(2);
  auto closed = WaitFor([](const Event& e) { return e.action == "closed"; });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->data["local_port"], 8080);

  const auto start = std::chrono::steady_clock::now();
  collector_->Stop();
  collector_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(ListeningPortsCollectorTest, AFailedDumpKeepsTheLastStateAndIsCounted) {
  ASSERT_TRUE(collector_->Start().ok());
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.action == "snapshot"; }).has_value());
  table_->SetError(Status::IoError("sock_diag: receive: boom"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats_.count("dump_errors") == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(stats_.count("dump_errors"), 1u);
  table_->SetError(Status::Ok());
  table_->Add(Listener(3, 9090));
  auto opened = WaitFor([](const Event& e) { return e.action == "opened"; });
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->data["local_port"], 9090);
  for (const Event& e : seen_) EXPECT_NE(e.action, "closed") << e.data.dump();  // port 22 never looked closed
  collector_->Stop();
}

TEST_F(ListeningPortsCollectorTest, StartFailsAsUnavailableWhenTheTableCannotBeDumped) {
  table_->SetError(Status::IoError("boom"));
  Status st = collector_->Start();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  collector_->Stop();
}

}  // namespace
}  // namespace vigil::listening_ports
