// PeripheralTracker: turns uevents (and sysfs rescans) into `peripheral` events, and keeps
// the table of devices reported, so that a remove (when sysfs is already gone) carries what
// the add said, and a rescan after lost messages reports what changed meanwhile.
//
// USB devices settle before they are reported: the kernel announces a device ("add",
// DEVTYPE=usb_device) before its interfaces, and sends the device's "bind" after they are
// added and bound to drivers (kernels >= 4.14). The add is held until that bind, or until
// `usb_settle_ms` passes (older kernels), or the device's remove; the interfaces' uevents seen
// meanwhile are folded into the one event (see DeviceDescriber::Describe).
//
// Actions: `present` for the inventory at start; `add` and `remove` for changes, whether a
// uevent or a rescan saw them. A network interface renamed (`move`) keeps its entry under
// its new path; no event. Other actions (change, bind, unbind, online, offline) yield none.
//
// Not thread-safe: one thread (the collector's) calls everything. Time: env.clock().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agent/collectors/peripheral/device_info.h"
#include "agent/collectors/peripheral/uevent.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"

namespace vigil::peripheral {

struct TrackerOptions {
  int64_t usb_settle_ms = 2000;
  size_t max_devices = 4096;  // table entries; devices beyond are reported but not remembered
  size_t max_pending = 256;   // USB devices settling at once; beyond, reported at once
};

class PeripheralTracker {
 public:
  using Sink = std::function<void(Event&&)>;

  PeripheralTracker(Env& env, CollectorStats& stats, DeviceDescriber& describer, TrackerOptions options, Sink sink);

  // Reports every relevant device present (`present`) and fills the table.
  void Inventory();

  // Handles one parsed kernel uevent.
  void Handle(const Uevent& ev);

  // Lists sysfs again and reports devices that appeared (`add`) or vanished (`remove`) since
  // the table was last right: after lost uevents, and in poll mode.
  void Rescan();

  // Reports held USB devices whose settle time has passed.
  void Tick();

  // Monotonic ms when Tick next has work; INT64_MAX when nothing is held.
  int64_t NextDeadline() const;

  size_t devices() const { return table_.size(); }
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    Uevent add;
    int64_t deadline_mono_ms = 0;
    std::vector<UsbInterfaceSeen> interfaces;
  };

  void Report(const std::string& action, const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen = {});
  void ReportRemove(const Uevent& ev);
  void Settle(std::map<std::string, Pending>::iterator it);
  void Remember(const std::string& devpath, const Json& data);
  void OnUsbInterface(const Uevent& ev);
  void Emit(const std::string& action, Json data);

  Env& env_;
  CollectorStats& stats_;
  DeviceDescriber& describer_;
  const TrackerOptions options_;
  Sink sink_;
  std::map<std::string, Json> table_;      // devpath -> data of the last add/present
  std::map<std::string, Pending> pending_;  // USB devices settling, by devpath
};

}  // namespace vigil::peripheral
