#include "agent/collectors/peripheral/tracker.h"

#include <limits>
#include <set>
#include <utility>

namespace vigil::peripheral {

PeripheralTracker::PeripheralTracker(Env& env, CollectorStats& stats, DeviceDescriber& describer,
                                     TrackerOptions options, Sink sink)
    : env_(env), stats_(stats), describer_(describer), options_(options), sink_(std::move(sink)) {}

void PeripheralTracker::Emit(const std::string& action, Json data) {
  Event e;
  e.type = "peripheral";
  e.action = action;
  e.ts_ms = env_.clock().NowMs();
  e.data = std::move(data);
  sink_(std::move(e));
}

void PeripheralTracker::Remember(const std::string& devpath, const Json& data) {
  auto it = table_.find(devpath);
  if (it != table_.end()) {
    it->second = data;
  } else if (table_.size() < options_.max_devices) {
    table_.emplace(devpath, data);
  } else {
    stats_.Count("table_full");
  }
}

void PeripheralTracker::Report(const std::string& action, const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen) {
  Json data = describer_.Describe(ev, seen);
  Remember(ev.devpath, data);
  Emit(action, std::move(data));
}

void PeripheralTracker::ReportRemove(const Uevent& ev) {
  Json data;
  if (auto it = table_.find(ev.devpath); it != table_.end()) {
    data = std::move(it->second);
    table_.erase(it);
    data.erase("synthetic");
    if (ev.Has("SYNTH_UUID")) data["synthetic"] = true;
  } else {
    data = describer_.Describe(ev);  // sysfs is gone: what the uevent itself says
  }
  Emit("remove", std::move(data));
}

void PeripheralTracker::Inventory() {
  for (const Uevent& ev : describer_.ListPresent()) Report("present", ev);
}

void PeripheralTracker::Settle(std::map<std::string, Pending>::iterator it) {
  Pending p = std::move(it->second);
  pending_.erase(it);
  Report("add", p.add, p.interfaces);
}

void PeripheralTracker::OnUsbInterface(const Uevent& ev) {
  const size_t slash = ev.devpath.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  auto it = pending_.find(ev.devpath.substr(0, slash));
  if (it == pending_.end()) return;
  const std::string name(BaseName(ev.devpath));
  std::vector<UsbInterfaceSeen>& seen = it->second.interfaces;
  UsbInterfaceSeen* known = nullptr;
  for (UsbInterfaceSeen& s : seen) {
    if (s.name == name) known = &s;
  }
  if (ev.action == "add" && !known && seen.size() < 32) {
    UsbInterfaceSeen s;
    s.name = name;
    if (!ParseClassTriplet(ev.Get("INTERFACE"), &s.cls, &s.subclass, &s.protocol)) s.cls = s.subclass = s.protocol = -1;
    s.driver = CleanText(ev.Get("DRIVER"));
    seen.push_back(std::move(s));
  } else if (ev.action == "bind" && known) {
    known->driver = CleanText(ev.Get("DRIVER"));
  } else if (ev.action == "unbind" && known) {
    known->driver.clear();
  }
}

void PeripheralTracker::Handle(const Uevent& ev) {
  if (describer_.subsystems().count(ev.subsystem) == 0) return;
  const bool usb_device = ev.subsystem == "usb" && ev.Get("DEVTYPE") == "usb_device";
  if (ev.subsystem == "usb" && ev.Get("DEVTYPE") == "usb_interface") {
    OnUsbInterface(ev);
    return;
  }
  if (ev.action == "add") {
    if (!describer_.Relevant(ev, /*removing=*/false)) return;
    if (usb_device && options_.usb_settle_ms > 0 &&
        (pending_.size() < options_.max_pending || pending_.count(ev.devpath) > 0)) {
      Pending& p = pending_[ev.devpath];
      p.add = ev;
      p.interfaces.clear();
      p.deadline_mono_ms = env_.clock().MonotonicMs() + options_.usb_settle_ms;
      return;
    }
    Report("add", ev);
  } else if (ev.action == "bind") {
    if (auto it = pending_.find(ev.devpath); usb_device && it != pending_.end()) Settle(it);
  } else if (ev.action == "remove") {
    if (auto it = pending_.find(ev.devpath); it != pending_.end()) Settle(it);
    if (table_.count(ev.devpath) == 0 && !describer_.Relevant(ev, /*removing=*/true)) return;
    ReportRemove(ev);
  } else if (ev.action == "move") {
    const std::string old_path(ev.Get("DEVPATH_OLD"));
    auto it = table_.find(old_path);
    if (old_path.empty() || it == table_.end()) return;
    Json data = std::move(it->second);
    table_.erase(it);
    data["devpath"] = CleanText(ev.devpath, kMaxDevpathBytes);
    if (data.contains("interface")) {
      if (std::string name = CleanText(ev.Get("INTERFACE")); !name.empty()) data["interface"] = name;
    }
    Remember(ev.devpath, data);
  }
}

void PeripheralTracker::Rescan() {
  stats_.Count("rescans");
  std::set<std::string> present;
  for (const Uevent& ev : describer_.ListPresent()) {
    present.insert(ev.devpath);
    if (table_.count(ev.devpath) > 0 || pending_.count(ev.devpath) > 0) continue;
    Report("add", ev);
  }
  std::vector<std::string> gone;
  for (const auto& [devpath, data] : table_) {
    if (present.count(devpath) == 0) gone.push_back(devpath);
  }
  for (const std::string& devpath : gone) {
    Uevent ev;
    ev.action = "remove";
    ev.devpath = devpath;
    ev.subsystem = table_[devpath].value("subsystem", "");
    ReportRemove(ev);
  }
}

void PeripheralTracker::Tick() {
  const int64_t now = env_.clock().MonotonicMs();
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (it->second.deadline_mono_ms <= now) Settle(it);
    it = next;
  }
}

int64_t PeripheralTracker::NextDeadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [devpath, p] : pending_) next = std::min(next, p.deadline_mono_ms);
  return next;
}

}  // namespace vigil::peripheral
