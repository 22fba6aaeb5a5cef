// Scripted RulesetReader and ChangeNotifier for the firewall tests. Thread-safe: the test
// thread sets what the collector's thread reads.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "agent/collectors/firewall/firewall_source.h"

namespace vigil::firewall {

class FakeRulesetReader : public RulesetReader {
 public:
  // What ReadNftables returns next (and until changed).
  void SetNftables(Result<std::string> r) {
    std::lock_guard lock(mu_);
    nft_ = std::move(r);
  }
  // What ReadIptablesLegacy(family) returns; NotFound unless set.
  void SetLegacy(const std::string& family, Result<std::string> r) {
    std::lock_guard lock(mu_);
    legacy_.insert_or_assign(family, std::move(r));
  }
  int nft_reads() {
    std::lock_guard lock(mu_);
    return nft_reads_;
  }

  Result<std::string> ReadNftables() override {
    std::lock_guard lock(mu_);
    ++nft_reads_;
    return nft_;
  }
  Result<std::string> ReadIptablesLegacy(std::string_view family) override {
    std::lock_guard lock(mu_);
    auto it = legacy_.find(std::string(family));
    if (it == legacy_.end()) return Status::NotFound("no legacy tables");
    return it->second;
  }
  void Cancel() override {}

 private:
  std::mutex mu_;
  Result<std::string> nft_ = std::string(R"({"nftables":[]})");
  std::map<std::string, Result<std::string>> legacy_;
  int nft_reads_ = 0;
};

// Wait returns true once per Poke; otherwise it waits at most a few ms, so a collector's loop
// looks at its (manual) clock often.
class FakeNotifier : public ChangeNotifier {
 public:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int pokes = 0;
    bool fail = false;
    bool interrupted = false;

    void Poke() {
      std::lock_guard lock(mu);
      ++pokes;
      cv.notify_all();
    }
    void Fail() {
      std::lock_guard lock(mu);
      fail = true;
      cv.notify_all();
    }
  };
  explicit FakeNotifier(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  Result<bool> Wait(int64_t timeout_ms) override {
    std::unique_lock lock(s_->mu);
    s_->cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 5)),
                    [&] { return s_->pokes > 0 || s_->fail || s_->interrupted; });
    if (s_->interrupted) return false;
    if (s_->fail) return Status::IoError("fake notifier broke");
    if (s_->pokes > 0) {
      --s_->pokes;
      return true;
    }
    return false;
  }
  void Interrupt() override {
    std::lock_guard lock(s_->mu);
    s_->interrupted = true;
    s_->cv.notify_all();
  }
  std::string_view name() const override { return "fake"; }

 private:
  std::shared_ptr<Shared> s_;
};

}  // namespace vigil::firewall
