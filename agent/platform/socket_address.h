// Socket addresses as the platform's records hold them (SocketEndpoint: 16 bytes in network
// byte order, an IPv4 address in the first 4) written out for events.
// Implementation: platform/linux/socket_address.cpp (inet_ntop). Pure; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace vigil {

// "192.0.2.7", "2001:db8::1"; family 6 with an IPv4-mapped address (::ffff:a.b.c.d, a
// dual-stack socket talking IPv4) is written as the IPv4 address, so rules over IPv4
// addresses and networks match it.
std::string FormatSocketAddress(uint8_t family, const std::array<uint8_t, 16>& addr);

// 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
bool IsLoopbackAddress(uint8_t family, const std::array<uint8_t, 16>& addr);

// Every byte zero (0.0.0.0, ::): no address.
bool IsUnspecifiedAddress(const std::array<uint8_t, 16>& addr);

}  // namespace vigil
