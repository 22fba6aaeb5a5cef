#include "hub/ingest/message.h"

#include <exception>

#include "agent/core/batch.h"
#include "agent/core/state.h"
#include "schema/schema.h"

namespace vigil::hub {
namespace {

constexpr std::string_view kPrefix = "vigil/v1/";
constexpr size_t kMaxControlMessageBytes = 1024 * 1024;

}  // namespace

Result<Topic> ParseTopic(std::string_view topic) {
  if (topic.substr(0, kPrefix.size()) != kPrefix)
    return Status::InvalidArgument("topic '" + std::string(topic) + "': expected vigil/v1/<device>/<kind>");
  std::string_view rest = topic.substr(kPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos)
    return Status::InvalidArgument("topic '" + std::string(topic) + "': expected vigil/v1/<device>/<kind>");
  std::string_view device = rest.substr(0, slash);
  std::string_view kind = rest.substr(slash + 1);
  if (!IsValidDeviceId(device))
    return Status::InvalidArgument("topic '" + std::string(topic) +
                                   "': the device id must be 1-64 of letters, digits, '.', '_' or '-'");
  Topic t;
  t.device = std::string(device);
  if (kind == "events") {
    t.kind = TopicKind::kEvents;
  } else if (kind == "status") {
    t.kind = TopicKind::kStatus;
  } else if (kind == "reported") {
    t.kind = TopicKind::kReported;
  } else if (kind == "config") {
    t.kind = TopicKind::kConfig;
  } else {
    return Status::InvalidArgument("topic '" + std::string(topic) +
                                   "': unknown kind (expected events, status, reported or config)");
  }
  return t;
}

std::string TopicFor(std::string_view device, TopicKind kind) {
  std::string topic(kPrefix);
  topic += device;
  switch (kind) {
    case TopicKind::kEvents:
      return topic + "/events";
    case TopicKind::kStatus:
      return topic + "/status";
    case TopicKind::kReported:
      return topic + "/reported";
    case TopicKind::kConfig:
      return topic + "/config";
  }
  return topic;
}

std::variant<DecodedEvents, Rejection> DecodeEventsMessage(std::string_view device, std::string_view payload,
                                                           const IngestLimits& limits, const schema::Schema& schema) {
  if (payload.size() > limits.max_message_bytes)
    return Rejection{kRejectTooLarge, "message of " + std::to_string(payload.size()) + " bytes, over the limit of " +
                                          std::to_string(limits.max_message_bytes)};
  auto batch = DecodeBatch(payload, limits.max_raw_bytes);
  if (!batch.ok()) return Rejection{kRejectDecode, std::string(batch.status().message())};
  if (batch->device != device)
    return Rejection{kRejectIdentity,
                     "the batch names device '" + batch->device + "', the topic '" + std::string(device) + "'"};
  DecodedEvents out;
  out.first_seq = batch->first_seq;
  out.last_seq = batch->last_seq;
  out.raw_bytes = batch->raw_bytes;
  out.rows.device = std::string(device);
  out.rows.events.reserve(batch->events.size());
  for (size_t i = 0; i < batch->events.size(); ++i) {
    const Json& e = batch->events[i];
    // DecodeBatch checked seq, and device where present; the schema requires every envelope key.
    auto where = [&] {  // only on an error
      return "event " + std::to_string(i) + " (seq " + std::to_string(e["seq"].get<uint64_t>()) + ")";
    };
    auto it = e.find("device");
    if (it == e.end() || !it->is_string() || it->get_ref<const std::string&>() != device)
      return Rejection{kRejectIdentity, where() + ": its device is not the topic's '" + std::string(device) + "'"};
    if (Status s = schema.Validate(e); !s.ok())
      return Rejection{kRejectSchema, where() + ": " + std::string(s.message())};
    EventRow row;
    row.device = out.rows.device;
    row.seq = e["seq"].get<uint64_t>();
    row.ts_ms = e["ts"].get<int64_t>();
    row.type = e["type"].get<std::string>();
    if (auto a = e.find("action"); a != e.end()) row.action = a->get<std::string>();
    row.priority = e["priority"].get<std::string>();
    if (auto c = e.find("count"); c != e.end()) {
      if (!c->is_number_unsigned() || c->get<uint64_t>() == 0 || c->get<uint64_t>() > UINT32_MAX)
        return Rejection{kRejectSchema, where() + ": count: expected a positive integer below 2^32"};
      row.count = c->get<uint32_t>();
    }
    // The event as the device wrote it: it parsed, and was validated, as this very text.
    if (std::string_view text = batch->EventText(i); !text.empty()) {
      row.json.assign(text);
    } else {
      row.json = e.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    out.rows.events.push_back(std::move(row));
  }
  return out;
}

namespace {

Result<Json> ParseObject(std::string_view payload, std::string_view what) {
  if (payload.size() > kMaxControlMessageBytes) return Status::InvalidArgument(std::string(what) + ": over 1 MiB");
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + ": not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + ": expected a JSON object");
  return j;
}

}  // namespace

Result<StatusMessage> ParseStatusMessage(std::string_view payload) {
  auto j = ParseObject(payload, "status message");
  if (!j.ok()) return j.status();
  auto state = j->find("state");
  if (state == j->end() || !state->is_string())
    return Status::InvalidArgument("status message: missing string field 'state'");
  StatusMessage m;
  const auto& s = state->get_ref<const std::string&>();
  if (s == "online") {
    m.state = DeviceState::kOnline;
  } else if (s == "offline") {
    m.state = DeviceState::kOffline;
  } else {
    return Status::InvalidArgument("status message: field 'state' must be online or offline, got '" + s + "'");
  }
  if (auto v = j->find("agent_version"); v != j->end()) {
    if (!v->is_string() || v->get_ref<const std::string&>().size() > 64)
      return Status::InvalidArgument("status message: field 'agent_version' must be a string of at most 64 bytes");
    m.agent_version = v->get<std::string>();
  }
  return m;
}

Result<Json> ParseReportedMessage(std::string_view payload) { return ParseObject(payload, "reported message"); }

}  // namespace vigil::hub
