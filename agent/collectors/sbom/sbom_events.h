// The events of the sbom collector, built from inventories and their differences (fields in
// schema/events.yml, type `sbom`; agent/sbom/README.md).
//
//   inventory  the full package list, in chunks of at most kPackagesPerEvent packages so that
//              every event fits one uplink message whatever the size of the inventory; the
//              chunks of one inventory share `inventory_id` and are numbered `chunk` 1..`chunks`.
//   added, removed, upgraded   one event per package that changed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "agent/core/event.h"
#include "agent/sbom/diff.h"
#include "agent/sbom/package.h"

namespace vigil::sbom {

// 500 packages are about 110 KB of JSON (typically 20 KB compressed): well inside one uplink
// message (kBatchMaxRawBytes, 256 KB compressed by default).
inline constexpr size_t kPackagesPerEvent = 500;

std::vector<Event> InventoryEvents(const Inventory& inv, const std::string& inventory_id,
                                   size_t per_event = kPackagesPerEvent);
// Removed first, then added, then upgraded, each in package order.
std::vector<Event> ChangeEvents(const InventoryDiff& diff, const OsRelease& os);

}  // namespace vigil::sbom
