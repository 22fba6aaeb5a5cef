// FakeInterfaceAddressSource: a scripted list of interface addresses for unit tests.
// Thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "agent/platform/interface_addresses.h"

namespace vigil {

class FakeInterfaceAddressSource : public InterfaceAddressSource {
 public:
  void Add(std::string interface, int family, std::string address, int prefix_len) {
    std::lock_guard l(mu_);
    addrs_.push_back({std::move(interface), family, std::move(address), prefix_len});
  }
  // Makes List fail with `s` (pass Status::Ok() to make it succeed again).
  void SetError(Status s) {
    std::lock_guard l(mu_);
    error_ = std::move(s);
  }
  int calls() const {
    std::lock_guard l(mu_);
    return calls_;
  }

  Result<std::vector<InterfaceAddress>> List() override {
    std::lock_guard l(mu_);
    ++calls_;
    if (!error_.ok()) return error_;
    return addrs_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<InterfaceAddress> addrs_;
  Status error_;
  int calls_ = 0;
};

}  // namespace vigil
