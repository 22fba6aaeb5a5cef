// Keeps each device's packages in the store, and its vulnerability findings with them, current
// from the `sbom` events the device sends (schema/events.yml, agent/sbom/README.md):
//   - inventory: the chunks of one inventory are looked up in the store each time one of them
//     arrives; once all `chunks` are stored, their packages replace the device's list. Nothing
//     is held in memory between rounds, so a hub restarted between two chunks loses nothing.
//   - added, removed, upgraded: applied to the device's stored list (or to the inventory that
//     completed earlier in the same round), in seq order.
// VulnService::UpdateDevice then matches only the packages that changed.
//
// Flow: the Ingestor's OnStored hook hands every committed round to Enqueue, which queues the
// `sbom` rows (RowWorker: bounded, drops counted) and returns; the feed's thread does the rest.
// An event that does not follow the schema is counted and logged with its device and seq.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/store/row_worker.h"
#include "hub/store/store.h"
#include "hub/vuln/match.h"
#include "hub/vuln/service.h"

namespace vigil::hub::vuln {

// One package of an sbom event's `packages` (or the event's own fields, for added, removed,
// upgraded): name, version, source_name, source_version, and the ecosystem from the purl's
// distro qualifier ("" when it names none the hub matches). InvalidArgument naming the field.
Result<Package> PackageFromSbomItem(const nlohmann::json& item);

class InventoryFeed {
 public:
  InventoryFeed(Store& store, std::function<int64_t()> now_ms, size_t max_queue_events = 100'000,
                size_t max_queue_bytes = 256 << 20);
  ~InventoryFeed() { Stop(); }
  InventoryFeed(const InventoryFeed&) = delete;
  InventoryFeed& operator=(const InventoryFeed&) = delete;

  void Start();
  void Stop();
  void Enqueue(std::span<const BatchRows> batches);
  bool WaitIdle(int64_t timeout_ms) { return worker_.WaitIdle(timeout_ms); }
  nlohmann::json Stats() const;

 private:
  void ProcessRows(std::vector<EventRow>& rows);
  Status ProcessDevice(const std::string& device, std::vector<EventRow>& rows);
  // The packages of the inventory `id` of `device` when every chunk is stored, with the highest
  // seq among them; nullopt while chunks are missing.
  Result<std::optional<std::pair<std::vector<Package>, uint64_t>>> CompleteInventory(const std::string& device,
                                                                                      const std::string& id);

  Store& store_;
  VulnService service_;
  mutable std::mutex mu_;  // the counters
  uint64_t inventories_ = 0, changes_ = 0, devices_updated_ = 0, malformed_ = 0, errors_ = 0, findings_ = 0;
  RowWorker worker_;  // last: its thread stops before the members above go
};

}  // namespace vigil::hub::vuln
