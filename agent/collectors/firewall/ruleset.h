// Firewall rulesets summarised: the pure parsers of the firewall collector. No I/O.
//
// A Backend is one source of packet filtering in the kernel: "nftables" (every nftables
// table, including those iptables-nft and ebtables-nft create) or "iptables-legacy" (the
// x_tables tables of the legacy iptables and ip6tables). Debian 12's `iptables` is the nft
// variant: its rules are nftables tables ("ip filter", ...), so they are counted once, under
// nftables; only the legacy tools' output is read for "iptables-legacy" (see README.md).
//
// Input formats:
//   ParseNftJson      the JSON of `nft -j list ruleset` / libnftables with JSON output:
//                     {"nftables": [{"metainfo": {...}}, {"table": {...}}, {"chain": {...}},
//                     {"rule": {...}}, {"set": {...}}, {"counter": {...}}, ...]}
//                     (libnftables-json(5)). Chains and rules name their family and table;
//                     rules name their chain.
//   ParseIptablesSave the text of iptables-save / ip6tables-save:
//                       # comment
//                       *filter                     a table starts
//                       :INPUT ACCEPT [0:0]         a built-in chain with its policy
//                       :MYCHAIN - [0:0]            a user chain (no policy)
//                       [5:300] -A INPUT -j DROP    a rule (counters in front only with -c)
//                       COMMIT                      the table ends
//
// Normalisation, so that the digests change when the rules do and only then:
//   - handles, positions and other kernel-assigned numbers are dropped;
//   - counters (packets, bytes), quota use, `last used` times and set element expiry times
//     are dropped, so traffic does not change a digest;
//   - elements of sets and maps whose contents change by themselves (flags `dynamic` or
//     `timeout`, or a default timeout: filled from the packet path, or expiring) are left out;
//     other sets and maps are included with their elements;
//   - tables are ordered by family and name, chains by name (their order does not matter to
//     the kernel); rules keep their order (it does);
//   - the nft version (metainfo) is left out.
// Each chain has a SHA-256 of its normalised definition and rules, each table one of its
// other objects (sets, maps, counters, flowtables, ...), and the backend one of all of it,
// as 64 lowercase hex digits.
//
// Errors: a document that is not of the expected shape at all (not JSON, no "nftables" array)
// is an error. Within it, an object or line that cannot be used is skipped and described in
// Backend::problems ("nftables[7]: rule without 'chain'", "line 12: -A for undeclared chain
// 'X'"), and everything else is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/status.h"

namespace vigil::firewall {

inline constexpr std::string_view kNftables = "nftables";
inline constexpr std::string_view kIptablesLegacy = "iptables-legacy";

// Nesting deeper than this in nft JSON is refused (real rulesets stay under 20).
inline constexpr int kMaxJsonDepth = 64;
// Problems kept per parse; the rest are only counted.
inline constexpr size_t kMaxProblems = 32;

struct Chain {
  std::string family;  // ip, ip6, inet, arp, bridge, netdev
  std::string table;
  std::string name;
  std::string type;                 // nftables base chains: filter, nat, route; else empty
  std::string hook;                 // base chains: prerouting, input, forward, output, postrouting, ingress...
  std::optional<int64_t> priority;  // nftables base chains
  std::string policy;               // base chains: accept or drop; empty for regular chains
  size_t rules = 0;
  std::string digest;  // of the chain's normalised definition and rules
};

struct Table {
  std::string family;
  std::string name;
  size_t sets = 0;     // named sets and maps
  std::string digest;  // of the table's own attributes and objects other than chains
};

struct Backend {
  std::string name;                   // kNftables or kIptablesLegacy
  std::vector<Table> tables;          // sorted by (family, name)
  std::vector<Chain> chains;          // sorted by (family, table, name)
  std::string digest;                 // of the whole normalised ruleset of this backend
  std::vector<std::string> problems;  // skipped objects or lines (at most kMaxProblems)
  size_t problem_count = 0;           // all of them

  size_t rule_count() const;
};

// Parses libnftables' JSON listing into the "nftables" backend.
Result<Backend> ParseNftJson(std::string_view json_text);

// Parses iptables-save output of `family` ("ip" for iptables, "ip6" for ip6tables) into an
// "iptables-legacy" backend holding that family's tables.
Result<Backend> ParseIptablesSave(std::string_view text, std::string_view family);

// Joins the legacy backends of both families into one (tables and chains merged, digest of
// both, problems kept).
Backend MergeBackends(std::string name, const std::vector<Backend>& parts);

// SHA-256 of `data` as 64 lowercase hex digits (libmd).
std::string Sha256Hex(std::string_view data);

}  // namespace vigil::firewall
