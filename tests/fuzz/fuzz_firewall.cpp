// Fuzzes the firewall parsers (agent/collectors/firewall/ruleset.h) with the same input as nft
// JSON and as iptables-save output: none may crash; digests are 64 hex digits; chains come
// sorted and their rule counts add up; the events built from the result serialise as JSON
// (valid UTF-8); a view compared with itself shows no change.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <tuple>

#include "agent/collectors/firewall/firewall_events.h"
#include "agent/collectors/firewall/ruleset.h"

namespace {

using namespace vigil::firewall;

void CheckDigest(const std::string& d) {
  if (d.size() != 64) std::abort();
  for (char c : d)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
}

void CheckBackend(const Backend& b) {
  CheckDigest(b.digest);
  if (b.problems.size() > kMaxProblems || b.problem_count < b.problems.size()) std::abort();
  for (size_t i = 0; i < b.chains.size(); ++i) {
    CheckDigest(b.chains[i].digest);
    if (i > 0 && std::tie(b.chains[i - 1].family, b.chains[i - 1].table, b.chains[i - 1].name) >=
                     std::tie(b.chains[i].family, b.chains[i].table, b.chains[i].name))
      std::abort();
    if (!b.chains[i].policy.empty() && b.chains[i].policy != "accept" && b.chains[i].policy != "drop") std::abort();
  }
  for (const Table& t : b.tables) CheckDigest(t.digest);
  FirewallView view{{BackendState{b.name, b, ""}}, ""};
  ComputeDigest(view);
  (void)SummaryData(view).dump();
  if (!ChangesData(view, view).empty()) std::abort();
  FirewallView empty{{BackendState{b.name, Backend{}, ""}}, ""};
  (void)ChangesData(empty, view).dump();
  (void)ChangesData(view, empty).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto nft = ParseNftJson(in); nft.ok()) CheckBackend(*nft);
  for (const char* family : {"ip", "ip6"}) {
    auto legacy = ParseIptablesSave(in, family);
    if (!legacy.ok()) std::abort();  // only the family can be refused
    CheckBackend(*legacy);
  }
  return 0;
}
