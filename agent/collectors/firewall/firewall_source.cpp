#include <algorithm>
#include <chrono>

#include "agent/collectors/firewall/firewall_source.h"

namespace vigil::firewall {

Result<bool> TimerNotifier::Wait(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)), [&] { return interrupted_; });
  return false;
}

void TimerNotifier::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

}  // namespace vigil::firewall
