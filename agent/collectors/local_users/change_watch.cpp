#include "agent/collectors/local_users/change_watch.h"

#include <algorithm>
#include <chrono>

namespace vigil::local_users {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StatPollWatch::StatPollWatch(Env& env, std::vector<std::string> paths, int64_t interval_ms)
    : env_(env), paths_(std::move(paths)), interval_ms_(std::max<int64_t>(interval_ms, 1)) {
  for (const std::string& p : paths_) seen_.push_back(Look(p));
  next_check_mono_ms_ = SteadyMs() + interval_ms_;
}

StatPollWatch::Seen StatPollWatch::Look(const std::string& path) {
  Result<FileInfo> info = env_.Stat(path);
  if (!info.ok()) return Seen{};
  return Seen{true, info->inode, info->size, info->mtime_ns};
}

bool StatPollWatch::CheckNow() {
  bool changed = false;
  for (size_t i = 0; i < paths_.size(); ++i) {
    Seen now = Look(paths_[i]);
    if (!(now == seen_[i])) changed = true;
    seen_[i] = now;
  }
  return changed;
}

Result<bool> StatPollWatch::Wait(int64_t timeout_ms) {
  const int64_t deadline = SteadyMs() + std::max<int64_t>(timeout_ms, 0);
  std::unique_lock lock(mu_);
  while (!interrupted_) {
    const int64_t now = SteadyMs();
    if (now >= next_check_mono_ms_) {
      next_check_mono_ms_ = now + interval_ms_;
      lock.unlock();
      const bool changed = CheckNow();
      lock.lock();
      if (changed) return true;
      continue;
    }
    if (now >= deadline) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(std::min(deadline, next_check_mono_ms_) - now));
  }
  return false;
}

void StatPollWatch::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

}  // namespace vigil::local_users
