// FakeUeventSource: scripted uevent messages for unit tests. The test pushes raw messages
// (as the kernel would send them), overruns and a failure; Read hands them on in order and
// waits on a condition variable meanwhile, like the real source waits on its socket.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/uevent_source.h"

namespace vigil {

class FakeUeventSource : public UeventSource {
 public:
  void Push(std::string message) {
    std::lock_guard l(mu_);
    queue_.push_back(std::move(message));
    cv_.notify_all();
  }
  // The next Read reports `n` overruns (after the messages pushed before this call).
  void PushOverruns(uint64_t n) {
    std::lock_guard l(mu_);
    overruns_ += n;
    cv_.notify_all();
  }
  // Read fails with `s` once the queue is empty.
  void Fail(Status s) {
    std::lock_guard l(mu_);
    error_ = std::move(s);
    cv_.notify_all();
  }
  // Reads that returned so far.
  int reads() const {
    std::lock_guard l(mu_);
    return reads_;
  }

  std::string_view name() const override { return "netlink"; }

  Status Read(int timeout_ms, std::vector<std::string>* out, uint64_t* overruns) override {
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms),
                 [&] { return interrupted_ || !queue_.empty() || overruns_ > 0 || !error_.ok(); });
    ++reads_;
    while (!queue_.empty()) {
      out->push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    *overruns += overruns_;
    overruns_ = 0;
    if (!error_.ok() && !interrupted_) return error_;
    return Status::Ok();
  }

  void Interrupt() override {
    std::lock_guard l(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  uint64_t overruns_ = 0;
  Status error_;
  bool interrupted_ = false;
  int reads_ = 0;
};

}  // namespace vigil
