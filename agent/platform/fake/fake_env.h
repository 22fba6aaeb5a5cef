// FakeEnv: an in-memory Env with a manual clock, for unit tests that need no root, no
// kernel and no real files. Files, symlinks and directories are created by the test; what is
// not there reads as NotFound. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "agent/platform/env.h"

namespace vigil {

class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'700'000'000'000, int64_t mono_ms = 1'000)
      : now_ms_(now_ms), mono_ms_(mono_ms) {}
  int64_t NowMs() override { std::lock_guard l(mu_); return now_ms_; }
  int64_t MonotonicMs() override { std::lock_guard l(mu_); return mono_ms_; }
  void Advance(int64_t ms) { std::lock_guard l(mu_); now_ms_ += ms; mono_ms_ += ms; }

 private:
  std::mutex mu_;
  int64_t now_ms_;
  int64_t mono_ms_;
};

class FakeEnv : public Env {
 public:
  FakeEnv() = default;

  // Test set-up. Parent directories are implied by file paths (ListDir sees them).
  void SetFile(const std::string& path, std::string content, FileInfo info = {});
  void SetLink(const std::string& path, std::string target);
  void RemovePath(const std::string& path);  // a file, link, or everything under a directory
  void SetHostname(std::string h) { std::lock_guard l(mu_); hostname_ = std::move(h); }
  void SetUname(std::vector<std::string> u) { std::lock_guard l(mu_); uname_ = std::move(u); }
  void SetSelf(uint64_t rss, uint64_t cpu_ms) { std::lock_guard l(mu_); rss_ = rss; cpu_ms_ = cpu_ms; }
  // Makes every access to a path under `prefix` fail with PermissionDenied.
  void DenyPrefix(std::string prefix) { std::lock_guard l(mu_); denied_.push_back(std::move(prefix)); }
  std::string Content(const std::string& path) const;  // "" when absent
  bool Exists(const std::string& path) const;

  ManualClock& manual_clock() { return clock_; }

  // Power loss: every file loses the bytes appended through OpenAppend since its last Sync.
  void DropUnsynced();
  uint64_t sync_calls() const { std::lock_guard l(mu_); return sync_calls_; }

  // Env
  Clock& clock() override { return clock_; }
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  Result<std::string> ReadFileAt(const std::string& path, uint64_t offset, size_t max_bytes) override;
  Status SyncDir(const std::string&) override { return Status::Ok(); }
  Status WriteFileAtomic(const std::string& path, std::string_view data) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<std::string> ReadLink(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status MakeDirs(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) override;
  Result<std::string> Sha256File(const std::string& path, uint64_t max_bytes) override;
  uint64_t SelfRssBytes() override { std::lock_guard l(mu_); return rss_; }
  uint64_t SelfCpuMs() override { std::lock_guard l(mu_); return cpu_ms_; }
  std::string Hostname() override { std::lock_guard l(mu_); return hostname_; }
  std::vector<std::string> Uname() override { std::lock_guard l(mu_); return uname_; }
  int64_t ClockTicksPerSecond() override { return 100; }

  // Appends through OpenAppend land here (used by the fake AppendFile).
  void AppendTo(const std::string& path, std::string_view data);
  void SyncFile(const std::string& path);

 private:
  struct Node {
    std::string content;
    std::string link_target;  // non-empty: a symlink
    FileInfo info;
    size_t synced = SIZE_MAX;  // bytes that survive DropUnsynced (appends lower it until Sync)
  };
  bool DeniedLocked(const std::string& path) const;
  const Node* ResolveLocked(const std::string& path) const;

  mutable std::mutex mu_;
  ManualClock clock_;
  std::map<std::string, Node> nodes_;      // files and links
  std::map<std::string, bool> dirs_;       // explicit directories
  std::vector<std::string> denied_;
  std::string hostname_ = "fakehost";
  std::vector<std::string> uname_ = {"Linux", "6.1.0-fake", "#1 SMP", "x86_64"};
  uint64_t rss_ = 3 << 20;
  uint64_t cpu_ms_ = 10;
  uint64_t next_inode_ = 1000;
  uint64_t sync_calls_ = 0;
};

}  // namespace vigil
