// The posture views of the HTTP API: one device's latest posture scan with what to fix
// (GET /api/v1/devices/{id}/posture) and the fleet's (GET /api/v1/posture). hub/api/README.md
// and openapi.yaml describe the JSON; this header says where it comes from.
//
// A device's recommendations are:
//   - its latest scan's failed checks (Store::Postures: the data of its newest event of type
//     posture, schema/events.yml), each with the title, group, severity, references, evidence and
//     remediation the agent sent;
//   - network recommendations derived from its latest listening_ports and firewall events:
//       * every TCP or UDP port open on an address that is not loopback (127.0.0.0/8, ::1): one
//         recommendation per protocol and port, naming the addresses and the process holding it;
//         severity medium when it listens on every address (0.0.0.0, ::), else low. The ports
//         open now are the device's latest listening_ports snapshot with the opened and closed
//         events after it (by seq) applied; without a snapshot, those events alone.
//       * every hook (input, forward, output) whose default verdict (`hook_policies`) is accept
//         while its base chains hold no rule at all (or no base chain filters it): a default-deny
//         policy is recommended; severity high for input, medium for forward, low for output.
//         Rules are not evaluated (the event carries counts, not rules), so an accept policy
//         with rules is not reported; nor is anything when no firewall backend was readable, nor
//         a hook whose chains were all left out of the event (`chains_omitted`).
// Ordered by severity (critical, high, medium, low, then anything else), then id.
//
// All functions but LoadNetworkState are pure; none keeps state. Malformed data (a field of the
// wrong JSON type) is skipped, never an exception.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/store/store.h"

namespace vigil::hub {

// Severities, most severe first: 0 critical, 1 high, 2 medium, 3 low, 4 anything else.
int SeverityRank(std::string_view severity);

// The events a device's network recommendations come from.
struct NetworkEvents {
  std::optional<EventRow> ports_snapshot;  // the newest listening_ports snapshot
  std::vector<EventRow> port_changes;      // opened/closed after it (all stored ones without it), by seq
  bool port_changes_truncated = false;     // more than kMaxPortChanges: only the newest were read
  std::optional<EventRow> firewall;        // the newest firewall event (snapshot or changed)
};

inline constexpr size_t kMaxPortChanges = 10'000;

// Reads a device's NetworkEvents with Store::Search (three queries, filters built as ASTs).
Result<NetworkEvents> LoadNetworkEvents(Store& store, std::string_view device);

// The network recommendations (see above), ordered by severity then id.
std::vector<nlohmann::json> NetworkRecommendations(const NetworkEvents& events);

// GET /api/v1/devices/{id}/posture: `scan` (null when the device never sent one), the
// recommendations of at most `max_rank` (SeverityRank) and `network` (which events were read).
nlohmann::json DevicePostureJson(std::string_view device, const std::optional<PostureRow>& scan,
                                 const NetworkEvents& network, int max_rank);

// GET /api/v1/posture: every device's scan summary (by device), the fleet's mean score, and
// the failed checks (at most `limit`, of at most `max_rank`), each keyed by policy and check id,
// with the devices failing it (the first kFleetDeviceIds ids, sorted); most devices first, then
// severity, then policy and id.
inline constexpr size_t kFleetDeviceIds = 20;
nlohmann::json FleetPostureJson(std::span<const PostureRow> rows, size_t limit, int max_rank);

}  // namespace vigil::hub
