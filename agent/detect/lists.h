// Named lists for detection rules: threat-intel addresses, networks, domains, names.
//
// File format (plain text, UTF-8):
//   - one entry per line; leading and trailing white space is ignored;
//   - blank lines and lines starting with '#' are ignored (so is the rest of a line after
//     " #", a comment after an entry);
//   - an entry is an IPv4 or IPv6 address (`192.0.2.7`, `2001:db8::1`), a network in CIDR
//     notation (`198.51.100.0/24`, `2001:db8::/32`), a domain (`example.com`, or
//     `*.example.com`, the same), or any other string without white space;
//   - a line that looks like an address or network but is not a valid one (`300.1.2.3`,
//     `10.0.0.0/33`), or that has white space inside the entry or control characters, is an
//     error naming the file and line; the other lines are still loaded.
//
// Matching a value against a list (a rule's `field|expand: '%name%'`):
//   - a value that is an IP address matches when it lies in one of the list's addresses or
//     networks (a binary trie per family: at most 32 or 128 steps);
//   - any value matches an entry equal to it, ignoring ASCII case (a hash set);
//   - a value with dots also matches a domain entry equal to one of its dot-suffixes
//     (`pool.example.com` matches `example.com`; each suffix is one hash lookup).
//   Never a linear scan of the list.
//
// Reloading: a Lists object maps names to immutable NamedList snapshots. Set() replaces a
// list atomically; compiled rules hold the Lists and look the name up when they test a value,
// so a reload takes effect at the next event, without reloading rules. Lists is thread-safe:
// Set() and Get() may be called from any thread at once (the snapshot handed out by Get()
// stays valid while the caller holds it).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "agent/core/status.h"

namespace vigil::detect {

// An IPv4 or IPv6 address, IPv4 kept as 4 bytes (an IPv4-mapped IPv6 address is taken as IPv4).
struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int bits() const { return v6 ? 128 : 32; }
};

// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail; a
// `%zone` suffix is ignored). nullopt when it is not an address.
std::optional<IpAddr> ParseIp(std::string_view text);

// "net/len"; a bare address is a network of full length. Error text says what is wrong.
Result<std::pair<IpAddr, int>> ParseCidr(std::string_view text);

// Address prefixes of one family, as a binary trie; lookup walks at most 32/128 nodes.
class PrefixSet {
 public:
  void Add(const IpAddr& net, int len);
  bool Contains(const IpAddr& addr) const;
  size_t size() const { return count_; }

 private:
  struct Node {
    int32_t child[2] = {-1, -1};
    bool terminal = false;
  };
  std::vector<Node> v4_{Node{}}, v6_{Node{}};
  size_t count_ = 0;
};

// Case-insensitive string hashing for the sets below (ASCII folding; lists hold lower case).
struct NamedList {
  std::string name;
  PrefixSet networks;
  std::unordered_set<std::string> strings;  // every non-network entry, lower-cased
  std::unordered_set<std::string> domains;  // entries that look like domain names, lower-cased
  size_t entries = 0;

  // `value` must already be lower-cased by the caller when it is a string.
  bool Contains(std::string_view lower_value) const;
};

// One bad line of a list file.
struct ListIssue {
  std::string file;
  int line = 0;
  std::string message;
  std::string ToString() const { return file + ":" + std::to_string(line) + ": " + message; }
};

// Parses list text; bad lines are appended to `issues`, the rest are kept.
std::shared_ptr<const NamedList> ParseList(std::string_view name, std::string_view text, std::string_view file_name,
                                           std::vector<ListIssue>* issues);

// The current version of one named list; rules hold it and load() per test.
struct ListSlot {
  std::string name;
  std::atomic<std::shared_ptr<const NamedList>> current;  // nullptr: not loaded (matches nothing)
};

class Lists {
 public:
  // Replaces (or adds) the list `name`.
  void Set(const std::string& name, std::shared_ptr<const NamedList> list);
  // Parses `text` and Set()s it; returns the bad lines (the list is set all the same).
  std::vector<ListIssue> Load(const std::string& name, std::string_view text, std::string_view file_name);
  // The current snapshot, or nullptr when no list has this name.
  std::shared_ptr<const NamedList> Get(std::string_view name) const;
  std::vector<std::string> Names() const;
  // The slot of `name`, created empty when there is none yet (a rule may name a list that is
  // loaded later).
  std::shared_ptr<ListSlot> Slot(std::string_view name);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ListSlot>, std::less<>> lists_;
};

}  // namespace vigil::detect
