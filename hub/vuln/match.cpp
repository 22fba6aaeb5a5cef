#include "hub/vuln/match.h"

#include <algorithm>
#include <tuple>

namespace vigil::hub::vuln {
namespace {

Finding MakeFinding(const Package& p, const Advisory& adv, const Verdict& v) {
  Finding f;
  f.package = p.name;
  f.version = p.version;
  f.source = p.SourceName();
  f.source_version = p.SourceVersion();
  f.ecosystem = p.ecosystem;
  f.advisory = adv.id;
  f.aliases = adv.aliases;
  f.status = v.status;
  f.fixed_version = v.fixed_version;
  f.severity = adv.severity;
  f.score = adv.score;
  f.summary = adv.summary;
  return f;
}

void SortFindings(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.package, a.version, a.advisory) < std::tie(b.package, b.version, b.advisory);
  });
}

}  // namespace

std::string PackageKey(std::string_view ecosystem, std::string_view package) {
  std::string key;
  key.reserve(ecosystem.size() + 1 + package.size());
  key.append(ecosystem);
  key.push_back('\0');
  key.append(package);
  return key;
}

std::vector<Finding> MatchAgainst(std::span<const Package> packages, std::span<const Advisory> advisories,
                                  bool include_not_affected) {
  AdvisoryIndex index;
  for (const Advisory& a : advisories) index.Add(a);
  return index.Match(packages, include_not_affected);
}

void AdvisoryIndex::Add(Advisory advisory) {
  uint32_t slot;
  if (auto it = by_id_.find(advisory.id); it != by_id_.end()) {
    slot = it->second;
    // Unindex the old entries of this slot.
    for (const Affected& a : advisories_[slot].affected) {
      auto refs = by_key_.find(PackageKey(a.ecosystem, a.package));
      if (refs == by_key_.end()) continue;
      std::erase_if(refs->second, [&](const Ref& r) { return r.advisory == slot; });
      if (refs->second.empty()) by_key_.erase(refs);
    }
    advisories_[slot] = std::move(advisory);
  } else {
    slot = static_cast<uint32_t>(advisories_.size());
    by_id_.emplace(advisory.id, slot);
    advisories_.push_back(std::move(advisory));
    ++live_;
  }
  const Advisory& stored = advisories_[slot];
  for (uint32_t i = 0; i < stored.affected.size(); ++i) {
    by_key_[PackageKey(stored.affected[i].ecosystem, stored.affected[i].package)].push_back(Ref{slot, i});
  }
}

size_t AdvisoryIndex::entries() const {
  size_t n = 0;
  for (const auto& [key, refs] : by_key_) n += refs.size();
  return n;
}

std::vector<Finding> AdvisoryIndex::Match(std::span<const Package> packages, bool include_not_affected) const {
  std::vector<Finding> out;
  std::string key;
  for (const Package& p : packages) {
    if (p.ecosystem.empty()) continue;
    key = PackageKey(p.ecosystem, p.SourceName());
    auto it = by_key_.find(key);
    if (it == by_key_.end()) continue;
    for (const Ref& r : it->second) {
      const Advisory& adv = advisories_[r.advisory];
      Verdict v = Evaluate(adv.affected[r.affected], p.SourceVersion());
      if (v.status == MatchStatus::kNotAffected && !include_not_affected) continue;
      out.push_back(MakeFinding(p, adv, v));
    }
  }
  SortFindings(out);
  return out;
}

}  // namespace vigil::hub::vuln
