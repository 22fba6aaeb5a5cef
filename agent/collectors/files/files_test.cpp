#include "agent/collectors/files/files.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_file_watcher.h"

namespace vigil::files {
namespace {

using namespace std::chrono_literals;

class FilesCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("files", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    ASSERT_TRUE(config_.Set(schema_, "files.paths", "/etc/passwd,/etc/init.d").ok());
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    env_.SetFile("/etc/init.d/ssh", "#!/bin/sh\n");
  }

  std::unique_ptr<Collector> Make() {
    ctx_ = std::make_unique<CollectorContext>(CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kMedium});
    auto watcher = std::make_unique<FakeFileWatcher>(env_);
    watcher_ = watcher.get();
    return NewFilesCollector(*ctx_, std::move(watcher));
  }

  // Waits until the collector has watched `dir` (its thread starts the monitor).
  bool WaitWatched(const std::string& dir) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!watcher_->IsWatched(dir)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  std::vector<Event> WaitForEvents(size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (got_.size() < n && std::chrono::steady_clock::now() < deadline) bus_.PopAll(&got_, 50ms);
    return got_;
  }

  FakeEnv env_;
  EventBus bus_{64};
  Scheduler scheduler_;
  CollectorStats stats_{"files"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
  FakeFileWatcher* watcher_ = nullptr;
  std::vector<Event> got_;
};

TEST_F(FilesCollectorTest, ReportsAnEditAfterTheCoalescingWindow) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "inotify");
  ASSERT_TRUE(WaitWatched("/etc/init.d"));
  ASSERT_TRUE(WaitWatched("/etc"));
  ASSERT_TRUE(watcher_->WaitConsumed(5s));  // the baseline is taken: "evil" is new to it
  env_.SetFile("/etc/init.d/evil", "#!/bin/sh\n");
  ASSERT_TRUE(watcher_->Push("/etc/init.d", WatchEvent::kCreate, "evil"));
  ASSERT_TRUE(watcher_->WaitConsumed(5s));
  // The manual clock stands still: nothing until the window has passed on it.
  bus_.PopAll(&got_, 200ms);
  EXPECT_TRUE(got_.empty());
  env_.manual_clock().Advance(500);
  std::vector<Event> events = WaitForEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "file");
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].collector, "files");
  EXPECT_EQ(events[0].data["path"], "/etc/init.d/evil");
  c->Stop();
}

TEST_F(FilesCollectorTest, OverflowIsCountedAsDropped) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(WaitWatched("/etc"));
  // The reader has come to Read: the collector has taken its baseline of the files, so the
  // change below is one (watched is not enough: the baseline is taken after the watches).
  ASSERT_TRUE(watcher_->WaitConsumed(5s));
  env_.SetFile("/etc/passwd", "changed\n", FileInfo{.inode = 1234});
  watcher_->PushOverflow();
  std::vector<Event> events = WaitForEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "modified");
  c->Stop();
  EXPECT_EQ(stats_.dropped("queue_overflow"), 1u);
}

TEST_F(FilesCollectorTest, FailingWatcherStopsTheCollector) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(WaitWatched("/etc"));
  watcher_->Fail(Status::IoError("inotify gone"));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats_.source() == "inotify" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(stats_.source(), "");
  c->Stop();
}

TEST_F(FilesCollectorTest, StopIsQuickAndIdempotent) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(c->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(FilesCollectorTest, RefusesRelativePaths) {
  ASSERT_TRUE(config_.Set(schema_, "files.paths", "/etc/passwd,etc/shadow").ok());
  auto c = Make();
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("files.paths: 'etc/shadow' is not an absolute path"), std::string::npos)
      << st.ToString();
}

TEST(FilesSettings, DefaultsValidate) {
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  ConfigSchema schema;
  schema.AddSection("files", "", kDescriptor.settings);
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetList("files.paths"),
            (std::vector<std::string>{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers",
                                      "/etc/ssh/sshd_config", "/etc/crontab", "/root/.ssh/authorized_keys",
                                      "/etc/init.d", "/etc/systemd/system"}));
  EXPECT_EQ(config.GetInt("files.hash_max_size"), 16 << 20);
  EXPECT_EQ(config.GetInt("files.coalesce"), 500);
  EXPECT_EQ(config.GetInt("files.max_depth"), 2);
  EXPECT_EQ(kDescriptor.name, "files");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kMedium);
}

}  // namespace
}  // namespace vigil::files
