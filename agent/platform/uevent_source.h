// UeventSource: the kernel's device notifications (uevents): a device was added, removed,
// bound to a driver, ... Each message is handed on as the raw datagram the kernel sent,
// `ACTION@DEVPATH\0KEY=VALUE\0...`; parsing is the caller's (collectors/peripheral/uevent.h).
//
// Implementations:
//   platform/linux/uevent_linux.cpp        NETLINK_KOBJECT_UEVENT, the kernel's multicast
//                                          group (1), not udevd's re-broadcast (group 2)
//   platform/fake/fake_uevent_source.h     scripted messages for unit tests
//
// Threads: Read is called from one thread (the collector's); Interrupt from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

class UeventSource {
 public:
  virtual ~UeventSource() = default;

  // What agent_stats reports as the source ("netlink").
  virtual std::string_view name() const = 0;

  // Waits until messages arrive, Interrupt is called, or `timeout_ms` passes (0: does not
  // wait), then appends the messages that arrived to *out, oldest first. Adds to *overruns
  // the number of times the kernel discarded messages because the receiver fell behind (each
  // stands for one or more lost messages; the caller should rescan what it tracks). Messages
  // that did not come from the kernel itself are dropped here and never appended.
  // An error means the source is broken for good.
  virtual Status Read(int timeout_ms, std::vector<std::string>* out, uint64_t* overruns) = 0;

  // Makes a Read in progress return soon, and every later Read return at once. Thread-safe.
  virtual void Interrupt() = 0;
};

struct KernelUeventSourceOptions {
  // Socket receive buffer: messages the kernel queues while the receiver is busy (a USB hub
  // with several devices plugged in at once sends a few hundred).
  int receive_buffer_bytes = 1 << 20;
};

// Subscribes to the kernel's uevents (Linux: NETLINK_KOBJECT_UEVENT, group 1). Needs no
// privilege. Unavailable when the kernel lacks the interface (the caller then polls sysfs).
Result<std::unique_ptr<UeventSource>> OpenKernelUeventSource(const KernelUeventSourceOptions& options);

}  // namespace vigil
