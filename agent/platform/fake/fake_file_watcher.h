// FakeFileWatcher: a scripted FileWatcher for unit tests. AddDirectory succeeds for paths
// that are directories in the given Env (a FakeEnv), and the test pushes notifications for a
// watched directory by its path. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/env.h"
#include "agent/platform/file_watcher.h"

namespace vigil {

class FakeFileWatcher : public FileWatcher {
 public:
  explicit FakeFileWatcher(Env& env) : env_(env) {}

  // Queues a notification from the watch of `dir`; false (nothing queued) when `dir` is not
  // watched. A kIgnored notification ends the watch, as the kernel does.
  bool Push(const std::string& dir, uint32_t mask, std::string name = "", uint32_t cookie = 0) {
    std::lock_guard l(mu_);
    auto it = by_path_.find(dir);
    if (it == by_path_.end()) return false;
    queue_.push_back(WatchEvent{it->second, mask, cookie, std::move(name)});
    if (mask & WatchEvent::kIgnored) by_path_.erase(it);
    cv_.notify_all();
    return true;
  }
  void PushOverflow() {
    std::lock_guard l(mu_);
    queue_.push_back(WatchEvent{-1, WatchEvent::kOverflow, 0, ""});
    cv_.notify_all();
  }
  void Fail(Status s) {
    std::lock_guard l(mu_);
    error_ = std::move(s);
    cv_.notify_all();
  }
  // Makes AddDirectory fail with `s` for this path (Status::Ok() to undo).
  void FailAdd(const std::string& path, Status s) {
    std::lock_guard l(mu_);
    add_errors_[path] = std::move(s);
  }
  // The directories watched now, sorted.
  std::vector<std::string> Watched() const {
    std::lock_guard l(mu_);
    std::vector<std::string> out;
    for (const auto& [path, wd] : by_path_) out.push_back(path);
    return out;
  }
  // Waits until every notification pushed so far was taken by Read and the reader came back
  // for more, so that it has dealt with them; false after `timeout`.
  bool WaitConsumed(std::chrono::milliseconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return queue_.empty() && reads_ > last_taking_read_; });
  }
  bool IsWatched(const std::string& dir) const {
    std::lock_guard l(mu_);
    return by_path_.count(dir) > 0;
  }

  std::string_view name() const override { return "inotify"; }

  Result<int> AddDirectory(const std::string& path) override {
    {
      std::lock_guard l(mu_);
      if (auto e = add_errors_.find(path); e != add_errors_.end() && !e->second.ok()) return e->second;
      if (auto it = by_path_.find(path); it != by_path_.end()) return it->second;
    }
    auto info = env_.Stat(path);
    if (!info.ok()) return info.status();
    if (!info->is_dir) return Status::InvalidArgument(path + ": not a directory");
    std::lock_guard l(mu_);
    const int wd = next_wd_++;
    by_path_[path] = wd;
    return wd;
  }

  void Remove(int wd) override {
    std::lock_guard l(mu_);
    for (auto it = by_path_.begin(); it != by_path_.end(); ++it) {
      if (it->second == wd) {
        by_path_.erase(it);
        return;
      }
    }
  }

  Status Read(int timeout_ms, std::vector<WatchEvent>* out) override {
    std::unique_lock l(mu_);
    const uint64_t this_read = ++reads_;
    cv_.notify_all();
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms),
                 [&] { return interrupted_ || !queue_.empty() || !error_.ok(); });
    if (!queue_.empty()) last_taking_read_ = this_read;
    while (!queue_.empty()) {
      out->push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (!error_.ok() && !interrupted_) return error_;
    return Status::Ok();
  }

  void Interrupt() override {
    std::lock_guard l(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  Env& env_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> by_path_;
  std::map<std::string, Status> add_errors_;
  std::deque<WatchEvent> queue_;
  Status error_;
  bool interrupted_ = false;
  int next_wd_ = 1;
  uint64_t reads_ = 0;             // Read calls begun
  uint64_t last_taking_read_ = 0;  // the last of them that took notifications
};

}  // namespace vigil
