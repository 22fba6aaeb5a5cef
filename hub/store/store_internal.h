// Helpers shared by the store's backends (not part of the Store interface).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "hub/store/store.h"

namespace vigil::hub::store_internal {

// Events deleted per retention transaction: small enough that no transaction grows large.
inline constexpr size_t kRetentionChunk = 5000;

// The URL with any password left out: the user-info part's ":password" and a `password=`
// query parameter are removed. Other URLs are returned unchanged.
std::string RedactUrl(std::string_view url);

// "never", "online", "offline", "silent" back to the enum; unknown text is kNever.
DeviceState ParseDeviceState(std::string_view name);

// Checks what the database cannot: every batch names a device and every event in it carries
// that device. InvalidArgument naming the batch otherwise.
Status ValidateBatches(std::span<const BatchRows> batches);

// The data object of an event's JSON text (system_info, posture: the typed views); InvalidArgument
// naming device, seq and type when the text is not a JSON object, null when it has no `data`.
Result<Json> EventData(const EventRow& event);

// What one batch added, summed while its rows are inserted.
struct BatchTally {
  uint64_t inserted = 0;
  uint64_t bytes = 0;
  uint64_t min_seq = 0;
  uint64_t max_seq = 0;
  const EventRow* newest_system_info = nullptr;  // the inserted system_info with the largest ts
  const EventRow* newest_posture = nullptr;      // the inserted posture with the largest (ts, seq)
  std::vector<const EventRow*> alerts;           // the inserted events of type alert

  void Add(const EventRow& event, uint64_t event_bytes);
};

// Checks a hub alert before it is stored: origin device or hub, device, rule_id, title and a
// known level; InvalidArgument naming the field otherwise.
Status ValidateAlert(const AlertRow& alert);

// The InvalidArgument of an unknown alert status, naming the field `status`.
Status BadAlertStatus(std::string_view status);

// missing = (max_seq - min_seq + 1) - events when the device has events, else 0.
uint64_t MissingSeqs(uint64_t events, uint64_t min_seq, uint64_t max_seq);

}  // namespace vigil::hub::store_internal
