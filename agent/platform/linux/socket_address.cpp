#include "agent/platform/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace vigil {
namespace {

bool IsV4Mapped(const std::array<uint8_t, 16>& a) {
  return std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; }) && a[10] == 0xff && a[11] == 0xff;
}

}  // namespace

std::string FormatSocketAddress(uint8_t family, const std::array<uint8_t, 16>& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4 || IsV4Mapped(addr)) {
    inet_ntop(AF_INET, family == 4 ? addr.data() : addr.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, addr.data(), buf, sizeof(buf));
  }
  return buf;
}

bool IsLoopbackAddress(uint8_t family, const std::array<uint8_t, 16>& addr) {
  if (family == 4) return addr[0] == 127;
  if (IsV4Mapped(addr)) return addr[12] == 127;
  return std::all_of(addr.begin(), addr.begin() + 15, [](uint8_t b) { return b == 0; }) && addr[15] == 1;
}

bool IsUnspecifiedAddress(const std::array<uint8_t, 16>& addr) {
  return std::all_of(addr.begin(), addr.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace vigil
