// Fuzzes what the hub reads from the broker (hub/ingest/message.h): the first byte picks the
// topic kind, the rest is the message. Beyond not crashing, a rejection names its reason and
// what was wrong, and an accepted events message holds only rows of the topic's device whose
// JSON parses back to an event with the row's seq.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "hub/ingest/message.h"
#include "schema/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::hub;
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const vigil::schema::Schema& schema = *vigil::schema::BuiltinSchema();
  switch (data[0] % 4) {
    case 0: {
      IngestLimits limits;
      limits.max_raw_bytes = 1 << 20;
      auto out = DecodeEventsMessage("dev-1", payload, limits, schema);
      if (auto* r = std::get_if<Rejection>(&out)) {
        if (r->reason.empty() || r->message.empty()) std::abort();
        return 0;
      }
      const auto& d = std::get<DecodedEvents>(out);
      if (d.rows.device != "dev-1" || d.rows.events.empty()) std::abort();
      for (const auto& row : d.rows.events) {
        if (row.device != "dev-1" || row.seq < d.first_seq || row.seq > d.last_seq || row.count == 0) std::abort();
        auto j = nlohmann::json::parse(row.json, nullptr, false);
        if (j.is_discarded() || j.value("seq", uint64_t{0}) != row.seq || j.value("type", "") != row.type) std::abort();
      }
      return 0;
    }
    case 1: {
      auto s = ParseStatusMessage(payload);
      if (!s.ok() && s.status().message().empty()) std::abort();
      if (s.ok() && s->state != DeviceState::kOnline && s->state != DeviceState::kOffline) std::abort();
      return 0;
    }
    case 2: {
      auto r = ParseReportedMessage(payload);
      if (r.ok() && !r->is_object()) std::abort();
      return 0;
    }
    default: {
      auto t = ParseTopic(payload);
      if (t.ok() && TopicFor(t->device, t->kind) != payload) std::abort();
      return 0;
    }
  }
}
