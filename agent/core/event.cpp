#include "agent/core/event.h"

namespace vigil {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kHigh: return "high";
    case Priority::kMedium: return "medium";
    case Priority::kLow: return "low";
    case Priority::kOff: return "off";
  }
  return "off";
}

Result<Priority> ParsePriority(std::string_view name) {
  if (name == "high") return Priority::kHigh;
  if (name == "medium") return Priority::kMedium;
  if (name == "low") return Priority::kLow;
  if (name == "off") return Priority::kOff;
  return Status::InvalidArgument("priority must be high, medium, low or off, not '" + std::string(name) + "'");
}

Json EventToJson(const Event& e) {
  Json j = Json::object();
  j["v"] = kSchemaVersion;
  j["device"] = e.device;
  j["seq"] = e.seq;
  j["ts"] = e.ts_ms;
  j["type"] = e.type;
  if (!e.action.empty()) j["action"] = e.action;
  j["priority"] = PriorityName(e.priority);
  if (e.count > 1) {
    j["count"] = e.count;
    j["first_ts"] = e.ts_ms;
    j["last_ts"] = e.last_ts_ms;
  }
  j["data"] = e.data;
  return j;
}

std::string EventToJsonLine(const Event& e) {
  // Invalid UTF-8 (a command line is arbitrary bytes) is replaced, never an exception.
  return EventToJson(e).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Event> EventFromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("event: expected a JSON object");
  Event e;
  auto field = [&](const char* name, Json::value_t want1, Json::value_t want2) -> Result<const Json*> {
    auto it = j.find(name);
    if (it == j.end()) return Status::InvalidArgument(std::string("event: missing field '") + name + "'");
    if (it->type() != want1 && it->type() != want2)
      return Status::InvalidArgument(std::string("event: field '") + name + "' has the wrong type");
    return &*it;
  };
  using T = Json::value_t;
  auto v = field("v", T::number_unsigned, T::number_integer);
  if (!v.ok()) return v.status();
  if ((*v)->get<int64_t>() != kSchemaVersion)
    return Status::InvalidArgument("event: unsupported schema version " + (*v)->dump());
  auto device = field("device", T::string, T::string);
  if (!device.ok()) return device.status();
  e.device = (*device)->get<std::string>();
  auto seq = field("seq", T::number_unsigned, T::number_unsigned);
  if (!seq.ok()) return seq.status();
  e.seq = (*seq)->get<uint64_t>();
  auto ts = field("ts", T::number_unsigned, T::number_integer);
  if (!ts.ok()) return ts.status();
  e.ts_ms = (*ts)->get<int64_t>();
  auto type = field("type", T::string, T::string);
  if (!type.ok()) return type.status();
  e.type = (*type)->get<std::string>();
  if (e.type.empty()) return Status::InvalidArgument("event: field 'type' is empty");
  if (auto it = j.find("action"); it != j.end()) {
    if (!it->is_string()) return Status::InvalidArgument("event: field 'action' has the wrong type");
    e.action = it->get<std::string>();
  }
  auto prio = field("priority", T::string, T::string);
  if (!prio.ok()) return prio.status();
  auto p = ParsePriority((*prio)->get<std::string>());
  if (!p.ok()) return p.status().WithContext("event: field 'priority'");
  e.priority = *p;
  if (auto it = j.find("count"); it != j.end()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 || it->get<uint64_t>() > UINT32_MAX)
      return Status::InvalidArgument("event: field 'count' must be a positive integer");
    e.count = it->get<uint32_t>();
    auto last = field("last_ts", T::number_unsigned, T::number_integer);
    if (!last.ok()) return last.status();
    e.last_ts_ms = (*last)->get<int64_t>();
  }
  auto data = field("data", T::object, T::object);
  if (!data.ok()) return data.status();
  e.data = **data;
  return e;
}

}  // namespace vigil
