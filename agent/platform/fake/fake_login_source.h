// FakeLoginSource: a scripted LoginSource for unit tests. The test pushes inputs and sets which
// origins are in use; Read hands them out in order. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "agent/platform/login_source.h"

namespace vigil {

class FakeLoginSource : public LoginSource {
 public:
  explicit FakeLoginSource(uint32_t in_use = LoginOriginBit(LoginOrigin::kAuthLog)) : in_use_(in_use) {}

  void Push(LoginInput in) {
    std::lock_guard l(mu_);
    queue_.push_back(std::move(in));
    cv_.notify_all();
  }
  // An auth_log line.
  void PushLine(std::string line) {
    LoginInput in;
    in.origin = LoginOrigin::kAuthLog;
    in.data = std::move(line);
    Push(std::move(in));
  }
  void SetInUse(uint32_t bits) {
    std::lock_guard l(mu_);
    in_use_ = bits;
  }
  // The next Read returns `st` (after handing out what is queued).
  void FailNextRead(Status st) {
    std::lock_guard l(mu_);
    failure_ = std::move(st);
    cv_.notify_all();
  }
  // Inputs pushed and not read yet.
  size_t queued() const {
    std::lock_guard l(mu_);
    return queue_.size();
  }

  uint32_t InUse() const override {
    std::lock_guard l(mu_);
    return in_use_;
  }

  Status Read(int timeout_ms, std::vector<LoginInput>* out) override {
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                 [&] { return interrupted_ || !queue_.empty() || !failure_.ok(); });
    while (!queue_.empty()) {
      out->push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (!failure_.ok()) {
      Status st = std::move(failure_);
      failure_ = Status::Ok();
      return st;
    }
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
  std::deque<LoginInput> queue_;
  uint32_t in_use_;
  Status failure_;
  bool interrupted_ = false;
};

}  // namespace vigil
