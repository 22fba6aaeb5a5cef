// What the peripheral collector says about one device: the `data` of a `peripheral` event,
// built from a uevent's fields and the device's attributes in sysfs (read through Env, so
// unit tests use FakeEnv), and the sysfs walk that lists the devices present.
//
// Every string read from the kernel or a device (a USB device's descriptors are chosen by
// whoever built it) is cleaned by CleanText before it goes into an event. Attributes that
// cannot be read (the device is gone, an older kernel) are left out; nothing here fails.
// Stateless; safe to call from any thread with an Env that is.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/collectors/peripheral/uevent.h"
#include "agent/core/event.h"
#include "agent/platform/env.h"

namespace vigil::peripheral {

inline constexpr size_t kMaxTextBytes = 256;

// Valid UTF-8 without control characters, surrounding white space trimmed, at most
// kMaxTextBytes (cut on a character boundary). Invalid bytes and control characters become '?'.
std::string CleanText(std::string_view s, size_t max_bytes = kMaxTextBytes);

// The USB base class name of a class code: 3 "hid", 8 "mass_storage", 0xff "vendor_specific";
// "" for codes without one (0 included: "defined by each interface").
std::string_view UsbClassName(int code);

// Lower-case "xx:xx:xx:xx:xx:xx" from sysfs `address`; "" when it is not colon-separated hex
// bytes or is all zeros.
std::string NormalizeMac(std::string_view text);

// Appends the KEY=VALUE lines of a sysfs `uevent` file to *fields. A malformed line stops the
// parse with InvalidArgument naming it ("line 3: no '='"); lines before it are kept.
Status ParseUeventFile(std::string_view text, std::vector<std::pair<std::string, std::string>>* fields);

// One USB interface as seen in a uevent of DEVTYPE usb_interface ("INTERFACE=8/6/80"), kept
// while its device's event waits for the device to settle.
struct UsbInterfaceSeen {
  std::string name;  // "1-1:1.0"
  int cls = -1, subclass = -1, protocol = -1;
  std::string driver;
};

// Parses "8/6/80" (decimal class/subclass/protocol, as in INTERFACE= and TYPE=).
bool ParseClassTriplet(std::string_view text, int* cls, int* subclass, int* protocol);

class DeviceDescriber {
 public:
  DeviceDescriber(Env& env, std::set<std::string, std::less<>> subsystems)
      : env_(env), subsystems_(std::move(subsystems)) {}

  // Whether a device (its uevent, or a synthetic one built from sysfs for the inventory) is
  // one the collector reports: a configured subsystem, and for usb a whole device (not an
  // interface), for block a whole disk that is removable or on USB, for tty one on USB, for
  // input an inputN device. `removing`: the device is gone, so sysfs cannot be asked (block
  // disks then count only when on USB).
  bool Relevant(const Uevent& ev, bool removing) const;

  // The event data of a device that is present: the uevent's fields plus sysfs attributes.
  // `seen` are interfaces reported by uevents (USB only); sysfs's own list is preferred.
  Json Describe(const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen = {}) const;

  // The devices of the configured subsystems present now, as uevents with action "present"
  // (fields from each device's sysfs `uevent` file), the relevant ones only.
  std::vector<Uevent> ListPresent() const;

  const std::set<std::string, std::less<>>& subsystems() const { return subsystems_; }

 private:
  std::optional<std::string> Attr(const std::string& devpath, std::string_view name) const;
  std::string DriverOf(const std::string& sysfs_dir) const;
  void DescribeUsb(const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen, Json* d) const;
  void DescribeNet(const Uevent& ev, Json* d) const;
  void DescribeBlock(const Uevent& ev, Json* d) const;
  void ListSubsystem(const std::string& subsystem, std::vector<Uevent>* out) const;

  Env& env_;
  std::set<std::string, std::less<>> subsystems_;
};

}  // namespace vigil::peripheral
