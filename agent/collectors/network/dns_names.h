// Host names for peer addresses, learnt from the DNS answers the device receives
// (platform/dns_responses.h): a program resolves a name, then connects to one of the answer's
// addresses, and the connection's event names the peer by what was asked (`remote_host`).
//
// ParseDnsAnswer reads a response with the resolver library's parser (libresolv's
// ns_initparse / ns_parserr, which follows name compression) and keeps the question's name
// and the A and AAAA records of the answer section. The name asked is kept, not the end of a
// CNAME chain: `pool.example` rather than the CDN host it points to.
//
// DnsNames is the bounded address -> name map: least recently learnt entries are dropped
// first, and an entry is forgotten `max_age_ms` after it was last learnt (record TTLs are
// ignored: a program may connect long after the TTL of the answer it got). A later answer
// for the same address replaces the name.
//
// Threads: DnsNames is safe to use from several threads (one learns, another looks up).
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/core/status.h"

namespace vigil::network {

struct DnsAnswer {
  struct Address {
    uint8_t family = 4;  // 4 or 6
    std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
  };
  std::string name;  // the question's name, lower case, without the final dot
  std::vector<Address> addresses;
};

// A response (QR set, rcode NOERROR, one question); InvalidArgument for a malformed message
// or one that is not a response, with the reason. A response without A or AAAA records is
// valid and gives no addresses.
Result<DnsAnswer> ParseDnsAnswer(std::string_view message);

class DnsNames {
 public:
  DnsNames(size_t max_entries, int64_t max_age_ms);

  void Learn(const DnsAnswer& answer, int64_t now_ms);
  // The name last learnt for the address; "" when none (or it is older than max_age_ms). An
  // IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as the IPv4 address.
  std::string Lookup(uint8_t family, const std::array<uint8_t, 16>& addr, int64_t now_ms) const;

  size_t size() const;
  uint64_t evicted() const;

 private:
  struct Entry {
    std::string name;
    int64_t learnt_ms = 0;
    std::list<std::string>::iterator order;
  };
  static std::string Key(uint8_t family, const std::array<uint8_t, 16>& addr);

  const size_t max_entries_;
  const int64_t max_age_ms_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // oldest learnt first
  uint64_t evicted_ = 0;
};

}  // namespace vigil::network
