// PeriodicThread: a collector's own thread that does its work after a first delay, then
// every interval, until Stop. Stop wakes it at once (it does not wait out the interval) and
// joins it; work already running is finished first.
//
// Threads: Start and Stop from the collector's owner (Start, Stop, the destructor); `work` on
// the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace vigil::common {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;
  ~PeriodicThread() { Stop(); }

  bool running() const { return thread_.joinable(); }

  // Does nothing when already running.
  void Start(int64_t first_delay_ms, int64_t interval_ms, std::function<void()> work) {
    if (running()) return;
    stop_ = false;
    thread_ = std::thread([this, first_delay_ms, interval_ms, work = std::move(work)] {
      int64_t wait_ms = first_delay_ms;
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_; })) {
        lock.unlock();
        work();
        lock.lock();
        wait_ms = interval_ms;
      }
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vigil::common
