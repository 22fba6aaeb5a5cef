#include "agent/sbom/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace vigil::sbom {
namespace {

using DiffKey = std::tuple<PackageFormat, std::string, std::string>;

std::map<DiffKey, std::vector<const Package*>> GroupByKey(const std::vector<Package>& list) {
  std::map<DiffKey, std::vector<const Package*>> out;
  for (const Package& p : list) out[{p.format, p.name, p.arch}].push_back(&p);
  return out;
}

bool Contains(const std::vector<const Package*>& v, const Package& p) {
  return std::any_of(v.begin(), v.end(), [&](const Package* q) { return *q == p; });
}

}  // namespace

InventoryDiff DiffPackages(const std::vector<Package>& before, const std::vector<Package>& after) {
  InventoryDiff d;
  const auto old_groups = GroupByKey(before);
  const auto new_groups = GroupByKey(after);
  static const std::vector<const Package*> kNone;
  for (const auto& [key, olds] : old_groups) {
    auto it = new_groups.find(key);
    const auto& news = it == new_groups.end() ? kNone : it->second;
    if (olds.size() == 1 && news.size() == 1) {
      if (!(*olds[0] == *news[0])) d.upgraded.push_back({*olds[0], *news[0]});
      continue;
    }
    for (const Package* p : olds)
      if (!Contains(news, *p)) d.removed.push_back(*p);
    for (const Package* p : news)
      if (!Contains(olds, *p)) d.added.push_back(*p);
  }
  for (const auto& [key, news] : new_groups) {
    if (old_groups.count(key) > 0) continue;
    for (const Package* p : news) d.added.push_back(*p);
  }
  SortPackages(&d.added);
  SortPackages(&d.removed);
  std::stable_sort(d.upgraded.begin(), d.upgraded.end(), [](const PackageUpgrade& a, const PackageUpgrade& b) {
    return std::tie(a.after.format, a.after.name, a.after.arch) < std::tie(b.after.format, b.after.name, b.after.arch);
  });
  return d;
}

}  // namespace vigil::sbom
