// FakeConnectionSource: a ConnectionSource whose records the test pushes, for unit tests of
// the network collector. Read hands on what was pushed (waiting up to its timeout when
// nothing is queued); Fail makes the next Read return an error, as a broken source does.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/connection_source.h"

namespace vigil {

class FakeConnectionSource : public ConnectionSource {
 public:
  explicit FakeConnectionSource(std::string name = "fake") : name_(std::move(name)) {}

  void Push(const ConnectionRecord& r) {
    std::lock_guard l(mu_);
    queued_.push_back(r);
    cv_.notify_all();
  }
  // Records the source says it had to drop, reported by the next Read.
  void Lose(uint64_t n) {
    std::lock_guard l(mu_);
    lost_ += n;
    cv_.notify_all();
  }
  // The next Read (after handing on what is queued) returns `s`.
  void Fail(Status s) {
    std::lock_guard l(mu_);
    error_ = std::move(s);
    cv_.notify_all();
  }
  int reads() const {
    std::lock_guard l(mu_);
    return reads_;
  }

  std::string_view name() const override { return name_; }

  Status Read(int timeout_ms, std::vector<ConnectionRecord>* out, uint64_t* lost) override {
    std::unique_lock l(mu_);
    ++reads_;
    cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                 [&] { return interrupted_ || !queued_.empty() || lost_ > 0 || !error_.ok(); });
    out->insert(out->end(), queued_.begin(), queued_.end());
    queued_.clear();
    *lost += lost_;
    lost_ = 0;
    if (!error_.ok()) return std::exchange(error_, Status::Ok());
    return Status::Ok();
  }

  void Interrupt() override {
    std::lock_guard l(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ConnectionRecord> queued_;
  uint64_t lost_ = 0;
  Status error_;
  bool interrupted_ = false;
  int reads_ = 0;
};

}  // namespace vigil
