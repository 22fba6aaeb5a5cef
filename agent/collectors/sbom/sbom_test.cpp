#include "agent/collectors/sbom/sbom.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_file_watcher.h"

namespace vigil::sbom {
namespace {

using namespace std::chrono_literals;

std::string Stanza(const std::string& name, const std::string& version) {
  return "Package: " + name + "\nStatus: install ok installed\nArchitecture: amd64\nVersion: " + version + "\n\n";
}

class SbomCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("sbom", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    env_.SetFile("/var/lib/dpkg/status", Stanza("bash", "5.2.15-2") + Stanza("curl", "7.88.1-10") + Stanza("gone", "1"));
    env_.SetFile("/etc/os-release", "ID=debian\nVERSION_ID=12\n");
    env_.SetUname({"Linux", "6.1.0", "", "x86_64"});
  }

  std::unique_ptr<Collector> Make(std::unique_ptr<FileWatcher> watcher) {
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, kDescriptor.default_priority});
    return NewSbomCollector(*ctx_, std::move(watcher));
  }

  // Events taken from the bus until `pred` holds for the ones taken, or the timeout.
  bool Collect(const std::function<bool(const std::vector<Event>&)>& pred, std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!pred(events_)) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      bus_.PopAll(&events_, 50ms);
    }
    return true;
  }
  static size_t Count(const std::vector<Event>& ev, const std::string& action) {
    size_t n = 0;
    for (const Event& e : ev) n += e.action == action;
    return n;
  }

  ConfigSchema schema_;
  Config config_ = Config::Defaults(schema_);
  FakeEnv env_;
  EventBus bus_{1024};
  Scheduler scheduler_;
  CollectorStats stats_{"sbom"};
  std::unique_ptr<CollectorContext> ctx_;
  std::vector<Event> events_;
};

TEST_F(SbomCollectorTest, InventoryAtStartThenTheDifferenceAfterAChange) {
  auto owned = std::make_unique<FakeFileWatcher>(env_);
  FakeFileWatcher* watcher = owned.get();
  auto c = Make(std::move(owned));
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(Collect([](const auto& ev) { return Count(ev, "inventory") == 1; }, 2s));
  const Event& inv = events_[0];
  EXPECT_EQ(inv.type, "sbom");
  EXPECT_EQ(inv.priority, Priority::kLow);
  EXPECT_EQ(inv.data["package_count"], 3);
  EXPECT_EQ(inv.data["os"]["id"], "debian");
  EXPECT_EQ(watcher->Watched(), std::vector<std::string>{"/var/lib/dpkg"});

  env_.SetFile("/var/lib/dpkg/status", Stanza("bash", "5.2.15-2") + Stanza("curl", "7.88.1-10+deb12u5") +
                                           Stanza("zsh", "5.9-4"));
  // dpkg's lock file changing alone is no change of the database.
  ASSERT_TRUE(watcher->Push("/var/lib/dpkg", WatchEvent::kCloseWrite, "lock"));
  ASSERT_TRUE(watcher->Push("/var/lib/dpkg", WatchEvent::kMovedTo, "status"));
  ASSERT_TRUE(Collect([](const auto& ev) { return ev.size() >= 4; }, 5s)) << "no change events";
  EXPECT_EQ(events_[1].action, "removed");
  EXPECT_EQ(events_[1].data["name"], "gone");
  EXPECT_EQ(events_[2].action, "added");
  EXPECT_EQ(events_[2].data["name"], "zsh");
  EXPECT_EQ(events_[3].action, "upgraded");
  EXPECT_EQ(events_[3].data["previous_version"], "7.88.1-10");
  EXPECT_EQ(stats_.source(), "inotify");
  c->Stop();
}

TEST_F(SbomCollectorTest, AFailedReReadKeepsTheLastInventory) {
  auto owned = std::make_unique<FakeFileWatcher>(env_);
  FakeFileWatcher* watcher = owned.get();
  auto c = Make(std::move(owned));
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(Collect([](const auto& ev) { return Count(ev, "inventory") == 1; }, 2s));
  env_.DenyPrefix("/var/lib/dpkg/status");
  ASSERT_TRUE(watcher->Push("/var/lib/dpkg", WatchEvent::kCloseWrite, "status"));
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (stats_.count("read_errors") == 0 && std::chrono::steady_clock::now() < give_up) bus_.PopAll(&events_, 20ms);
  EXPECT_EQ(stats_.count("read_errors"), 1u);
  bus_.PopAll(&events_, 0ms);
  EXPECT_EQ(events_.size(), 1u) << "nothing reported removed";
  c->Stop();
}

TEST_F(SbomCollectorTest, PollsWithoutAWatcher) {
  ASSERT_TRUE(config_.Set(schema_, "sbom.poll_interval", "1s").ok());
  auto c = Make(nullptr);
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(Collect([](const auto& ev) { return Count(ev, "inventory") == 1; }, 2s));
  EXPECT_EQ(stats_.source(), "poll");
  FileInfo later;
  later.mtime_ns = 2'000'000'000'000'000'000;
  env_.SetFile("/var/lib/dpkg/status", Stanza("bash", "5.2.15-2") + Stanza("curl", "7.88.1-10"), later);
  ASSERT_TRUE(Collect([](const auto& ev) { return Count(ev, "removed") == 1; }, 10s));
  EXPECT_EQ(events_.back().data["name"], "gone");
  c->Stop();
}

TEST_F(SbomCollectorTest, NoDatabaseIsUnavailableAndRelativePathsRefused) {
  env_.RemovePath("/var/lib/dpkg/status");
  auto c = Make(nullptr);
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  ASSERT_TRUE(config_.Set(schema_, "sbom.dpkg_status", "var/lib/dpkg/status").ok());
  auto c2 = Make(nullptr);
  EXPECT_EQ(c2->Start().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::sbom
