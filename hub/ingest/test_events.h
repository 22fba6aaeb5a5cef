// Events and batches for the hub's ingest tests: valid heartbeat events of a device, encoded as
// the agent's uplink encodes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/core/batch.h"
#include "agent/core/event.h"

namespace vigil::hub::testing {

inline Event Heartbeat(const std::string& device, uint64_t seq, int64_t uptime_s = 1) {
  Event e;
  e.device = device;
  e.seq = seq;
  e.ts_ms = 1'765'000'000'000 + static_cast<int64_t>(seq);
  e.type = "heartbeat";
  e.priority = Priority::kHigh;
  e.data = {{"uptime_s", uptime_s}};
  return e;
}

// One events message holding `events` (zstd unless compress is false).
inline std::string EncodeBatch(const std::string& device, const std::vector<Event>& events, bool compress = true) {
  BatchEncoder::Options o;
  o.compress = compress;
  o.max_message_bytes = 1 << 20;
  BatchEncoder enc(o);
  enc.Begin(device);
  for (const auto& e : events) enc.Add(EventToJsonLine(e), e.seq);
  return std::string(enc.Finish());
}

inline std::vector<Event> Heartbeats(const std::string& device, uint64_t first, uint64_t last) {
  std::vector<Event> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(Heartbeat(device, s));
  return out;
}

}  // namespace vigil::hub::testing
