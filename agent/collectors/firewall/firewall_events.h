// The firewall events built from parsed rulesets (ruleset.h): the summary both actions carry,
// the effective default policy per hook, and what changed between two views. Pure functions;
// the field list is README.md beside this file (and schema/events.yml).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "agent/collectors/firewall/ruleset.h"
#include "agent/core/event.h"

namespace vigil::firewall {

// Chains listed in one event at most, and entries per list of `changes`.
inline constexpr size_t kMaxChains = 512;
inline constexpr size_t kMaxChanges = 128;

// One backend as last read: its ruleset, or why there is none.
struct BackendState {
  std::string name;
  std::optional<Backend> ruleset;  // absent: `error` says why
  std::string error;
};

// Every backend of the device, in a fixed order (nftables, then iptables-legacy when the
// kernel holds legacy tables), and the digest of all the rulesets read.
struct FirewallView {
  std::vector<BackendState> backends;
  std::string digest;
};

// Sets view.digest: SHA-256 over each read backend's name and digest (backends without a
// ruleset do not count, so a read that fails does not look like a change).
void ComputeDigest(FirewallView& view);

// {"backend","family","table","chain","type"?,"hook"?,"priority"?,"policy"?,"rules"}
Json ChainJson(std::string_view backend, const Chain& c);

// The effective default verdict per family (ip, ip6) and hook (input, forward, output):
// "drop" when any base chain on that hook's packet path has policy drop (input: prerouting
// and input; forward: prerouting, forward and postrouting; output: output and postrouting),
// else "accept"; inet chains count for both families. Rules are not evaluated: a chain whose
// policy is accept but whose last rule drops everything still counts as accept.
// [{"family","hook","policy","chains"}], chains: the base chains on the path.
Json HookPolicies(const FirewallView& view);

// data shared by `snapshot` and `changed`: digest, backends, chains (at most kMaxChains,
// then chains_omitted), hook_policies, table_count, chain_count, rule_count.
Json SummaryData(const FirewallView& view);

// The `changes` object between two views: tables_added, tables_removed, tables_changed,
// chains_added, chains_removed, chains_changed (each a list, present only when not empty,
// at most kMaxChanges entries, the rest counted in `omitted`). A backend the earlier view
// does not list is compared with an empty ruleset (its tables are all added); one that could
// not be read in either view is not compared.
Json ChangesData(const FirewallView& before, const FirewallView& after);

}  // namespace vigil::firewall
