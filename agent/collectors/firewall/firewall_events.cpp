#include "agent/collectors/firewall/firewall_events.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace vigil::firewall {
namespace {

using ChainKey = std::tuple<std::string, std::string, std::string>;  // family, table, chain
using TableKey = std::pair<std::string, std::string>;                // family, table

Json TableJson(std::string_view backend, const Table& t) {
  return Json{{"backend", backend}, {"family", t.family}, {"table", t.name}};
}

// Appends `item` to list `key` of `changes`, or counts it as omitted.
void Add(Json& changes, const char* key, Json item, size_t* omitted) {
  Json& list = changes[key];
  if (list.is_null()) list = Json::array();
  if (list.size() >= kMaxChanges) {
    ++*omitted;
    return;
  }
  list.push_back(std::move(item));
}

// The ruleset of backend `name` in `view`: `empty` when the view does not list the backend
// (it has no tables), nullptr when it could not be read.
const Backend* Find(const FirewallView& view, const std::string& name, const Backend& empty) {
  for (const BackendState& b : view.backends)
    if (b.name == name) return b.ruleset ? &*b.ruleset : nullptr;
  return &empty;
}

}  // namespace

void ComputeDigest(FirewallView& view) {
  std::string all;
  for (const BackendState& b : view.backends)
    if (b.ruleset) all += b.name + " " + b.ruleset->digest + "\n";
  view.digest = Sha256Hex(all);
}

Json ChainJson(std::string_view backend, const Chain& c) {
  Json j = {{"backend", backend}, {"family", c.family}, {"table", c.table}, {"chain", c.name}};
  if (!c.type.empty()) j["type"] = c.type;
  if (!c.hook.empty()) j["hook"] = c.hook;
  if (c.priority) j["priority"] = *c.priority;
  if (!c.policy.empty()) j["policy"] = c.policy;
  j["rules"] = c.rules;
  return j;
}

Json HookPolicies(const FirewallView& view) {
  struct Path {
    const char* hook;
    std::vector<std::string> hooks;
  };
  const Path paths[] = {{"input", {"prerouting", "input"}},
                        {"forward", {"prerouting", "forward", "postrouting"}},
                        {"output", {"output", "postrouting"}}};
  Json out = Json::array();
  for (const char* family : {"ip", "ip6"}) {
    for (const Path& path : paths) {
      size_t chains = 0;
      bool drop = false;
      for (const BackendState& b : view.backends) {
        if (!b.ruleset) continue;
        for (const Chain& c : b.ruleset->chains) {
          if (c.hook.empty() || c.policy.empty()) continue;
          if (c.family != family && c.family != "inet") continue;
          if (std::find(path.hooks.begin(), path.hooks.end(), c.hook) == path.hooks.end()) continue;
          ++chains;
          if (c.policy == "drop") drop = true;
        }
      }
      out.push_back(
          Json{{"family", family}, {"hook", path.hook}, {"policy", drop ? "drop" : "accept"}, {"chains", chains}});
    }
  }
  return out;
}

Json SummaryData(const FirewallView& view) {
  Json backends = Json::array();
  Json chains = Json::array();
  size_t tables = 0, chain_count = 0, rules = 0, omitted = 0;
  for (const BackendState& b : view.backends) {
    Json entry = {{"name", b.name}, {"available", b.ruleset.has_value()}};
    if (!b.ruleset) {
      entry["error"] = b.error;
      backends.push_back(std::move(entry));
      continue;
    }
    const Backend& r = *b.ruleset;
    entry["tables"] = r.tables.size();
    entry["chains"] = r.chains.size();
    entry["rules"] = r.rule_count();
    entry["digest"] = r.digest;
    if (r.problem_count > 0) entry["problems"] = r.problem_count;
    backends.push_back(std::move(entry));
    tables += r.tables.size();
    chain_count += r.chains.size();
    rules += r.rule_count();
    for (const Chain& c : r.chains) {
      if (chains.size() < kMaxChains)
        chains.push_back(ChainJson(b.name, c));
      else
        ++omitted;
    }
  }
  Json data = {{"digest", view.digest},       {"backends", std::move(backends)},
               {"chains", std::move(chains)}, {"hook_policies", HookPolicies(view)},
               {"table_count", tables},       {"chain_count", chain_count},
               {"rule_count", rules}};
  if (omitted > 0) data["chains_omitted"] = omitted;
  return data;
}

Json ChangesData(const FirewallView& before, const FirewallView& after) {
  Json changes = Json::object();
  size_t omitted = 0;
  const Backend empty;
  for (const BackendState& b : after.backends) {
    const Backend* old_rs = Find(before, b.name, empty);
    if (!b.ruleset || old_rs == nullptr) continue;
    const Backend& new_rs = *b.ruleset;

    std::map<TableKey, const Table*> old_tables, new_tables;
    for (const Table& t : old_rs->tables) old_tables[{t.family, t.name}] = &t;
    for (const Table& t : new_rs.tables) new_tables[{t.family, t.name}] = &t;
    for (const auto& [key, t] : new_tables) {
      auto it = old_tables.find(key);
      if (it == old_tables.end())
        Add(changes, "tables_added", TableJson(b.name, *t), &omitted);
      else if (it->second->digest != t->digest)
        Add(changes, "tables_changed", TableJson(b.name, *t), &omitted);
    }
    for (const auto& [key, t] : old_tables)
      if (new_tables.count(key) == 0) Add(changes, "tables_removed", TableJson(b.name, *t), &omitted);

    std::map<ChainKey, const Chain*> old_chains, new_chains;
    for (const Chain& c : old_rs->chains) old_chains[{c.family, c.table, c.name}] = &c;
    for (const Chain& c : new_rs.chains) new_chains[{c.family, c.table, c.name}] = &c;
    for (const auto& [key, c] : new_chains) {
      auto it = old_chains.find(key);
      if (it == old_chains.end()) {
        Add(changes, "chains_added", ChainJson(b.name, *c), &omitted);
        continue;
      }
      const Chain& old = *it->second;
      if (old.digest == c->digest) continue;
      Json j = ChainJson(b.name, *c);
      if (old.policy != c->policy && !old.policy.empty()) j["previous_policy"] = old.policy;
      if (old.rules != c->rules) j["previous_rules"] = old.rules;
      Add(changes, "chains_changed", std::move(j), &omitted);
    }
    for (const auto& [key, c] : old_chains)
      if (new_chains.count(key) == 0) Add(changes, "chains_removed", ChainJson(b.name, *c), &omitted);
  }
  if (omitted > 0) changes["omitted"] = omitted;
  return changes;
}

}  // namespace vigil::firewall
