#include "agent/collectors/network/dns_names.h"

#include <arpa/nameser.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>

namespace vigil::network {

Result<DnsAnswer> ParseDnsAnswer(std::string_view message) {
  ns_msg msg;
  if (ns_initparse(reinterpret_cast<const unsigned char*>(message.data()), static_cast<int>(message.size()), &msg) !=
      0)
    return Status::InvalidArgument("DNS message: header or section counts do not fit the message");
  if (ns_msg_getflag(msg, ns_f_qr) == 0) return Status::InvalidArgument("DNS message: a query, not a response");
  if (ns_msg_getflag(msg, ns_f_rcode) != ns_r_noerror) return Status::InvalidArgument("DNS message: an error response");
  if (ns_msg_count(msg, ns_s_qd) != 1) return Status::InvalidArgument("DNS message: not exactly one question");
  ns_rr rr;
  if (ns_parserr(&msg, ns_s_qd, 0, &rr) != 0) return Status::InvalidArgument("DNS message: the question does not parse");
  DnsAnswer answer;
  answer.name = rr.name;  // "" for the root
  std::transform(answer.name.begin(), answer.name.end(), answer.name.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
      return Status::InvalidArgument("DNS message: answer " + std::to_string(i + 1) + " does not parse");
    if (ns_rr_class(rr) != ns_c_in) continue;
    DnsAnswer::Address a;
    if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
      a.family = 4;
    } else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16) {
      a.family = 6;
    } else {
      continue;  // CNAME and the rest; an A or AAAA of the wrong length is skipped too
    }
    std::memcpy(a.addr.data(), ns_rr_rdata(rr), ns_rr_rdlen(rr));
    answer.addresses.push_back(a);
  }
  return answer;
}

DnsNames::DnsNames(size_t max_entries, int64_t max_age_ms)
    : max_entries_(std::max<size_t>(max_entries, 1)), max_age_ms_(max_age_ms) {}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d: a dual-stack socket talking IPv4, or an AAAA
// record holding one) is keyed as the IPv4 address.
std::string DnsNames::Key(uint8_t family, const std::array<uint8_t, 16>& addr) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == 6 && std::memcmp(addr.data(), kMapped, sizeof kMapped) == 0)
    return std::string(1, '\x04') + std::string(reinterpret_cast<const char*>(addr.data()) + 12, 4);
  std::string key(1, static_cast<char>(family));
  key.append(reinterpret_cast<const char*>(addr.data()), family == 4 ? 4 : 16);
  return key;
}

void DnsNames::Learn(const DnsAnswer& answer, int64_t now_ms) {
  if (answer.name.empty()) return;
  std::lock_guard lock(mu_);
  for (const DnsAnswer::Address& a : answer.addresses) {
    std::string key = Key(a.family, a.addr);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      it->second.name = answer.name;
      it->second.learnt_ms = now_ms;
      order_.splice(order_.end(), order_, it->second.order);
      continue;
    }
    if (entries_.size() >= max_entries_) {
      entries_.erase(order_.front());
      order_.pop_front();
      ++evicted_;
    }
    order_.push_back(key);
    entries_.emplace(std::move(key), Entry{answer.name, now_ms, std::prev(order_.end())});
  }
}

std::string DnsNames::Lookup(uint8_t family, const std::array<uint8_t, 16>& addr, int64_t now_ms) const {
  const std::string key = Key(family, addr);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now_ms - it->second.learnt_ms > max_age_ms_) return "";
  return it->second.name;
}

size_t DnsNames::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

uint64_t DnsNames::evicted() const {
  std::lock_guard lock(mu_);
  return evicted_;
}

}  // namespace vigil::network
