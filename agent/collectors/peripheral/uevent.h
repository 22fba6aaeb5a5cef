// Kernel uevent messages: the parser (pure, no I/O) and small helpers over device paths.
//
// Format of one message (one netlink datagram from NETLINK_KOBJECT_UEVENT, group 1):
//
//   message := header NUL { field NUL }
//   header  := ACTION "@" DEVPATH
//   field   := KEY "=" VALUE          KEY: [A-Za-z0-9_]+, VALUE: any bytes but NUL
//
// e.g. "add@/devices/virtual/net/veth0\0ACTION=add\0DEVPATH=/devices/virtual/net/veth0\0
// SUBSYSTEM=net\0INTERFACE=veth0\0IFINDEX=7\0SEQNUM=833\0". The kernel always sends ACTION,
// DEVPATH, SUBSYSTEM and SEQNUM fields; the first two must agree with the header. Empty
// fields (a doubled NUL) are skipped. udevd's re-broadcasts (group 2) start with the magic
// "libudev\0" and a binary header instead; they are refused with their own message, as are
// messages over kMaxUeventBytes or with more than kMaxUeventFields fields.
//
// DEVPATH is a path below /sys: it must start with "/", and may not contain "." or ".."
// components, empty components or control characters, so that "/sys" + DEVPATH never
// leaves /sys (kMaxDevpathBytes at most).
//
// Errors are InvalidArgument naming the field ("uevent field 3 'FOO': no '='").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/core/status.h"

namespace vigil::peripheral {

inline constexpr size_t kMaxUeventBytes = 8192;  // the kernel sends at most 2048
inline constexpr size_t kMaxUeventFields = 128;  // the kernel sends at most 64
inline constexpr size_t kMaxDevpathBytes = 1024;

struct Uevent {
  std::string action;     // add, remove, change, move, bind, unbind, online, offline
  std::string devpath;    // "/devices/pci0000:00/0000:00:14.0/usb1/1-1"
  std::string subsystem;  // "usb", "net", "block", ...
  uint64_t seqnum = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // every KEY=VALUE, in order

  // The value of the first field named `key`; "" when absent.
  std::string_view Get(std::string_view key) const;
  bool Has(std::string_view key) const;
};

Result<Uevent> ParseUevent(std::string_view message);

// Checks a device path as described above.
Status CheckDevpath(std::string_view devpath);

// The last component of a path ("sdb" of ".../block/sdb").
std::string_view BaseName(std::string_view path);

// The devpath of the USB device (a "1-1.4" component, not an interface "1-1.4:1.0") that
// `devpath` lies under or is; "" when it is not on USB.
std::string UsbDeviceDevpath(std::string_view devpath);

}  // namespace vigil::peripheral
