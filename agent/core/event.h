// Event: one observation of the device, with the envelope every event carries.
//
// JSON shape (one object per event, one line per event in JSON Lines):
//   {"v":1,"device":"...","seq":42,"ts":1763900000123,"type":"process","action":"exec",
//    "priority":"medium","count":3,"first_ts":...,"last_ts":...,"data":{...}}
// `count`, `first_ts` and `last_ts` appear only on aggregated events (count > 1). `ts` is
// the time of the first occurrence, in UTC milliseconds since the Unix epoch. The fields of
// each type under `data` are defined in schema/events.yml.
//
// An Event is a plain value: movable, copyable, owned by whoever holds it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"

namespace vigil {

using Json = nlohmann::json;

inline constexpr int kSchemaVersion = 1;

// How soon an event must leave the device. kOff disables a collector.
enum class Priority : uint8_t { kHigh = 0, kMedium = 1, kLow = 2, kOff = 3 };
inline constexpr int kPriorityCount = 3;  // high, medium, low (off sends nothing)

std::string_view PriorityName(Priority p);
Result<Priority> ParsePriority(std::string_view name);

// Whether the pipeline's inspector (detection) sees an event, and whether it is written.
enum class Inspection : uint8_t {
  kInspect,  // seen by the inspector, then aggregated and written (every collector's default)
  kOnly,     // seen by the inspector, never written: one occurrence of something the collector
             // aggregates itself and writes later as one event (CollectorContext::Observe)
  kSkip,     // written, not inspected: that self-made aggregate, whose occurrences were observed
};

struct Event {
  // Envelope.
  std::string device;      // set by the pipeline when the event is emitted
  uint64_t seq = 0;        // set by the pipeline: per device, never repeats
  int64_t ts_ms = 0;       // first (or only) occurrence
  std::string type;        // "process", "system_info", ...
  std::string action;      // "exec", "exit", ... (may be empty)
  Priority priority = Priority::kMedium;
  uint32_t count = 1;      // > 1 when identical events were aggregated
  int64_t last_ts_ms = 0;  // last occurrence, when count > 1

  Json data = Json::object();  // the type's own fields

  // Not serialised: routing and aggregation.
  std::string collector;  // the collector that produced it, for stats
  std::string agg_key;    // identical events share a key; empty means never aggregated
  Inspection inspection = Inspection::kInspect;
};

Json EventToJson(const Event& e);
std::string EventToJsonLine(const Event& e);  // no trailing newline

// Parses the JSON shape above. Errors name the missing or mistyped field.
Result<Event> EventFromJson(const Json& j);

}  // namespace vigil
