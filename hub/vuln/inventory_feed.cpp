#include "hub/vuln/inventory_feed.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "hub/query/filter.h"
#include "hub/vuln/sbom.h"

namespace vigil::hub::vuln {
namespace {

using Json = nlohmann::json;

Result<std::string> StringOf(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument(std::string(key) + " is missing or not a non-empty string");
  }
  return it->get<std::string>();
}

// A package's identity in the stored list (vuln_packages' key): name, version.
using ListKey = std::pair<std::string, std::string>;

}  // namespace

Result<Package> PackageFromSbomItem(const Json& item) {
  if (!item.is_object()) return Status::InvalidArgument("a package is not an object");
  Package p;
  VIGIL_ASSIGN_OR_RETURN(p.name, StringOf(item, "name"));
  VIGIL_ASSIGN_OR_RETURN(p.version, StringOf(item, "version"));
  VIGIL_ASSIGN_OR_RETURN(p.source, StringOf(item, "source_name"));
  VIGIL_ASSIGN_OR_RETURN(p.source_version, StringOf(item, "source_version"));
  VIGIL_ASSIGN_OR_RETURN(std::string purl_text, StringOf(item, "purl"));
  auto purl = ParsePurl(purl_text);
  if (!purl.ok()) return Status::InvalidArgument("purl: " + std::string(purl.status().message()));
  if (auto e = PurlEcosystem(*purl)) p.ecosystem = *e;
  if (p.source == p.name) p.source.clear();
  if (p.source_version == p.version) p.source_version.clear();
  return p;
}

InventoryFeed::InventoryFeed(Store& store, std::function<int64_t()> now_ms, size_t max_queue_events,
                             size_t max_queue_bytes)
    : store_(store), service_(store, std::move(now_ms)), worker_(max_queue_events, max_queue_bytes) {}

void InventoryFeed::Start() {
  worker_.Start([this](std::vector<EventRow>& rows) { ProcessRows(rows); });
}

void InventoryFeed::Stop() { worker_.Stop(); }

void InventoryFeed::Enqueue(std::span<const BatchRows> batches) {
  worker_.Enqueue(batches, [](const EventRow& row) { return row.type == "sbom"; });
}

void InventoryFeed::ProcessRows(std::vector<EventRow>& rows) {
  std::map<std::string, std::vector<EventRow>> by_device;
  for (EventRow& row : rows) by_device[row.device].push_back(std::move(row));
  for (auto& [device, device_rows] : by_device) {
    if (Status s = ProcessDevice(device, device_rows); !s.ok()) {
      spdlog::error("vuln: the packages of {}: {}", device, s.message());
      std::lock_guard lock(mu_);
      ++errors_;
    }
  }
}

Result<std::optional<std::pair<std::vector<Package>, uint64_t>>> InventoryFeed::CompleteInventory(
    const std::string& device, const std::string& id) {
  Filter filter = AllOf({FieldEquals("device", device), FieldEquals("type", "sbom"), FieldEquals("action", "inventory"),
                         FieldEquals("inventory_id", id)});
  EventQuery query;
  VIGIL_ASSIGN_OR_RETURN(query.filter, CompileFilter(filter, store_.dialect()));
  query.limit = 0;
  query.newest_first = false;
  VIGIL_ASSIGN_OR_RETURN(std::vector<EventRow> chunks, store_.Search(query));
  std::map<int64_t, Json> by_number;
  int64_t expected = 0;
  uint64_t last_seq = 0;
  for (const EventRow& row : chunks) {
    Json event = Json::parse(row.json, nullptr, /*allow_exceptions=*/false);
    const Json* data = event.is_object() && event.contains("data") ? &event["data"] : nullptr;
    if (!data || !data->is_object() || !(*data)["chunk"].is_number_integer() ||
        !(*data)["chunks"].is_number_integer() || !(*data)["packages"].is_array()) {
      return Status::InvalidArgument("seq " + std::to_string(row.seq) +
                                     ": an inventory chunk without chunk, chunks or packages");
    }
    expected = (*data)["chunks"].get<int64_t>();
    by_number[(*data)["chunk"].get<int64_t>()] = std::move((*data)["packages"]);
    last_seq = std::max(last_seq, row.seq);
  }
  using Complete = std::optional<std::pair<std::vector<Package>, uint64_t>>;
  if (expected <= 0 || static_cast<int64_t>(by_number.size()) < expected) return Complete();
  std::vector<Package> packages;
  for (auto& [number, items] : by_number) {
    for (size_t i = 0; i < items.size(); ++i) {
      auto p = PackageFromSbomItem(items[i]);
      if (!p.ok()) {
        spdlog::warn("vuln: {} inventory {} chunk {} package {}: {}", device, id, number, i, p.status().message());
        std::lock_guard lock(mu_);
        ++malformed_;
        continue;
      }
      packages.push_back(std::move(*p));
    }
  }
  return std::make_optional(std::make_pair(std::move(packages), last_seq));
}

Status InventoryFeed::ProcessDevice(const std::string& device, std::vector<EventRow>& rows) {
  std::sort(rows.begin(), rows.end(), [](const EventRow& a, const EventRow& b) { return a.seq < b.seq; });
  // The newest inventory of the round that is complete is the base; without one, the stored list.
  std::optional<std::vector<Package>> base;
  uint64_t base_seq = 0;
  std::set<std::string> tried;
  for (auto it = rows.rbegin(); it != rows.rend() && !base; ++it) {
    if (it->action != "inventory") continue;
    Json event = Json::parse(it->json, nullptr, /*allow_exceptions=*/false);
    auto id = event.is_object() && event.contains("data") && event["data"].is_object()
                  ? StringOf(event["data"], "inventory_id")
                  : Result<std::string>(Status::InvalidArgument("no data"));
    if (!id.ok() || !tried.insert(*id).second) continue;
    VIGIL_ASSIGN_OR_RETURN(auto complete, CompleteInventory(device, *id));
    if (complete) {
      base = std::move(complete->first);
      base_seq = complete->second;
      std::lock_guard lock(mu_);
      ++inventories_;
    }
  }
  bool changes = std::any_of(rows.begin(), rows.end(),
                             [&](const EventRow& r) { return r.action != "inventory" && r.seq > base_seq; });
  if (!base && !changes) return Status::Ok();  // chunks still missing
  std::map<ListKey, Package> list;
  if (base) {
    for (Package& p : *base) list[{p.name, p.version}] = std::move(p);
  } else {
    VIGIL_ASSIGN_OR_RETURN(auto stored, store_.VulnPackages(device, {}));
    for (const VulnPackageRow& r : stored) {
      list[{r.name, r.version}] = Package{r.name, r.version, r.source == r.name ? "" : r.source,
                                          r.source_version == r.version ? "" : r.source_version, r.ecosystem};
    }
  }
  uint64_t applied = 0, bad = 0;
  for (const EventRow& row : rows) {
    if (row.action == "inventory" || row.seq <= base_seq) continue;
    Json event = Json::parse(row.json, nullptr, /*allow_exceptions=*/false);
    const Json* data = event.is_object() && event.contains("data") ? &event["data"] : nullptr;
    auto p = data ? PackageFromSbomItem(*data) : Result<Package>(Status::InvalidArgument("no data"));
    Result<std::string> previous =
        row.action == "upgraded" && data ? StringOf(*data, "previous_version") : Result<std::string>(std::string());
    if (!p.ok() || !previous.ok() || (row.action != "added" && row.action != "removed" && row.action != "upgraded")) {
      spdlog::warn("vuln: {} seq {}: a malformed sbom {} event: {}", device, row.seq, row.action,
                   !p.ok()          ? p.status().message()
                   : !previous.ok() ? previous.status().message()
                                    : "unknown action");
      ++bad;
      continue;
    }
    if (row.action == "removed") {
      list.erase({p->name, p->version});
    } else {
      if (row.action == "upgraded") list.erase({p->name, *previous});
      list[{p->name, p->version}] = *p;
    }
    ++applied;
  }
  std::vector<Package> packages;
  packages.reserve(list.size());
  for (auto& [key, p] : list) packages.push_back(std::move(p));
  auto counts = service_.UpdateDevice(device, packages);
  std::lock_guard lock(mu_);
  changes_ += applied;
  malformed_ += bad;
  if (!counts.ok()) return counts.status();
  ++devices_updated_;
  findings_ += counts->findings;
  return Status::Ok();
}

Json InventoryFeed::Stats() const {
  RowWorker::Counts queue = worker_.counts();
  std::lock_guard lock(mu_);
  return {{"queued", queue.queued},
          {"dropped", queue.dropped},
          {"inventories", inventories_},
          {"changes", changes_},
          {"device_updates", devices_updated_},
          {"findings_matched", findings_},
          {"malformed", malformed_},
          {"store_errors", errors_},
          {"queue_events", queue.queue_rows}};
}

}  // namespace vigil::hub::vuln
