#include "agent/collectors/sbom/sbom_events.h"

#include <algorithm>

#include "agent/sbom/export.h"

namespace vigil::sbom {
namespace {

Event SbomEvent(std::string action, Json data) {
  Event e;
  e.type = "sbom";
  e.action = std::move(action);
  e.data = std::move(data);
  return e;  // agg_key empty: never aggregated
}

}  // namespace

std::vector<Event> InventoryEvents(const Inventory& inv, const std::string& inventory_id, size_t per_event) {
  per_event = std::max<size_t>(per_event, 1);
  const size_t total = inv.packages.size();
  const size_t chunks = std::max<size_t>(1, (total + per_event - 1) / per_event);
  std::vector<Event> out;
  out.reserve(chunks);
  for (size_t c = 0; c < chunks; ++c) {
    Json packages = Json::array();
    for (size_t i = c * per_event; i < std::min(total, (c + 1) * per_event); ++i)
      packages.push_back(PackageJson(inv.packages[i], inv.os));
    Json data = {{"inventory_id", inventory_id},
                 {"chunk", c + 1},
                 {"chunks", chunks},
                 {"package_count", total},
                 {"packages", std::move(packages)},
                 {"os", OsReleaseJson(inv.os)},
                 {"kernels", inv.kernels},
                 {"databases", inv.databases}};
    if (!inv.issues.empty()) data["malformed"] = inv.issues.size();
    out.push_back(SbomEvent("inventory", std::move(data)));
  }
  return out;
}

std::vector<Event> ChangeEvents(const InventoryDiff& diff, const OsRelease& os) {
  std::vector<Event> out;
  for (const Package& p : diff.removed) out.push_back(SbomEvent("removed", PackageJson(p, os)));
  for (const Package& p : diff.added) out.push_back(SbomEvent("added", PackageJson(p, os)));
  for (const PackageUpgrade& u : diff.upgraded) {
    Json data = PackageJson(u.after, os);
    data["previous_version"] = u.before.version;
    data["previous_source_version"] = u.before.source_version;
    if (u.before.source_name != u.after.source_name) data["previous_source_name"] = u.before.source_name;
    out.push_back(SbomEvent("upgraded", std::move(data)));
  }
  return out;
}

}  // namespace vigil::sbom
