// InterfaceAddressSource over getifaddrs(3) (netlink RTM_GETADDR underneath).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "agent/platform/interface_addresses.h"

namespace vigil {
namespace {

// Number of leading one bits of a netmask; -1 when the mask is not contiguous.
int PrefixLength(const unsigned char* mask, size_t len) {
  int bits = 0;
  size_t i = 0;
  for (; i < len && mask[i] == 0xff; ++i) bits += 8;
  if (i < len) {
    const unsigned char b = mask[i];
    const int ones = std::countl_one(b);
    if (static_cast<unsigned char>(b << ones) != 0) return -1;
    bits += ones;
    for (++i; i < len; ++i) {
      if (mask[i] != 0) return -1;
    }
  }
  return bits;
}

class LinuxInterfaceAddressSource : public InterfaceAddressSource {
 public:
  Result<std::vector<InterfaceAddress>> List() override {
    struct ifaddrs* head = nullptr;
    if (getifaddrs(&head) != 0) {
      return Status::Unavailable(std::string("getifaddrs: ") + std::strerror(errno));
    }
    std::vector<InterfaceAddress> out;
    for (const struct ifaddrs* ifa = head; ifa != nullptr; ifa = ifa->ifa_next) {
      if (ifa->ifa_addr == nullptr || ifa->ifa_name == nullptr) continue;
      InterfaceAddress a;
      a.interface = ifa->ifa_name;
      char text[INET6_ADDRSTRLEN] = {};
      if (ifa->ifa_addr->sa_family == AF_INET) {
        const auto* sin = reinterpret_cast<const struct sockaddr_in*>(ifa->ifa_addr);
        if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) == nullptr) continue;
        a.family = 4;
        if (ifa->ifa_netmask != nullptr && ifa->ifa_netmask->sa_family == AF_INET) {
          const auto* m = reinterpret_cast<const struct sockaddr_in*>(ifa->ifa_netmask);
          a.prefix_len = PrefixLength(reinterpret_cast<const unsigned char*>(&m->sin_addr), 4);
        }
      } else if (ifa->ifa_addr->sa_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const struct sockaddr_in6*>(ifa->ifa_addr);
        if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) == nullptr) continue;
        a.family = 6;
        if (ifa->ifa_netmask != nullptr && ifa->ifa_netmask->sa_family == AF_INET6) {
          const auto* m = reinterpret_cast<const struct sockaddr_in6*>(ifa->ifa_netmask);
          a.prefix_len = PrefixLength(reinterpret_cast<const unsigned char*>(&m->sin6_addr), 16);
        }
      } else {
        continue;
      }
      a.address = text;
      out.push_back(std::move(a));
    }
    freeifaddrs(head);
    return out;
  }
};

}  // namespace

std::unique_ptr<InterfaceAddressSource> NewPlatformInterfaceAddressSource() {
  return std::make_unique<LinuxInterfaceAddressSource>();
}

}  // namespace vigil
