// InterfaceAddressSource: the IP addresses assigned to this host's network interfaces.
//
// Env covers files; interface addresses are not files (the kernel offers them through
// netlink, and /proc/net/fib_trie does not say which interface owns an IPv4 address), so
// they come through this small interface instead.
//
// Implementations: platform/linux/interface_addresses_linux.cpp (getifaddrs) and
// platform/fake/fake_interface_addresses.h (a scripted list). List may be called from any
// thread; implementations keep no state between calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct InterfaceAddress {
  std::string interface;  // "eth0"
  int family = 0;         // 4 or 6
  std::string address;    // textual form: "192.0.2.7", "fe80::1" (no scope suffix)
  int prefix_len = -1;    // from the netmask; -1 when the kernel gave none
};

class InterfaceAddressSource {
 public:
  virtual ~InterfaceAddressSource() = default;

  // Every IPv4 and IPv6 address of every interface, in the kernel's order. Other families
  // (packet, ...) are left out. Errors: Unavailable when the kernel refuses the request.
  virtual Result<std::vector<InterfaceAddress>> List() = 0;
};

// The real source of this platform (Linux: getifaddrs).
std::unique_ptr<InterfaceAddressSource> NewPlatformInterfaceAddressSource();

}  // namespace vigil
