// Fuzzes the hub's decoder of events messages (batch.h), which reads bytes from the network,
// with a 1 MiB bound on the JSON. Beyond not crashing, it checks what a decoded batch promises
// (each event's text, when given, parses to that very event), and that a batch it accepts,
// encoded again (either way), decodes to the same batch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/batch.h"

namespace {
constexpr size_t kMaxRawBytes = 1 << 20;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  Result<DecodedBatch> r = DecodeBatch(message, kMaxRawBytes);
  if (!r.ok()) {
    if (r.status().message().empty()) std::abort();
    return 0;
  }
  const DecodedBatch& b = *r;
  if (b.device.empty() || b.events.empty() || b.first_seq > b.last_seq || b.raw_bytes > kMaxRawBytes) std::abort();
  if (b.compressed != (data[0] == kBatchEncodingZstd)) std::abort();
  if (!b.spans.empty()) {
    if (b.spans.size() != b.events.size()) std::abort();
    for (size_t i = 0; i < b.events.size(); ++i) {
      Json again = Json::parse(b.EventText(i), nullptr, false);
      if (again.is_discarded() || again != b.events[i]) std::abort();
    }
  }

  // Re-encoding may lengthen the JSON (numbers and escapes are written back canonically), so
  // the limits are generous; an event that still does not fit ends the check.
  static BatchEncoder compressed({.max_message_bytes = 8 << 20, .max_raw_bytes = 8 << 20});
  static BatchEncoder plain({.max_message_bytes = 8 << 20, .compress = false, .max_raw_bytes = 8 << 20});
  std::vector<std::string> events;
  std::vector<Json> expected;  // as written back: a number too large for a double becomes null
  for (const Json& e : b.events) {
    events.push_back(e.dump(-1, ' ', false, Json::error_handler_t::replace));
    expected.push_back(Json::parse(events.back()));
  }
  for (BatchEncoder* enc : {&compressed, &plain}) {
    enc->Begin(b.device);
    for (size_t i = 0; i < events.size(); ++i) {
      if (enc->Add(events[i], b.events[i].at("seq").get<uint64_t>()) != BatchEncoder::AddResult::kAdded) return 0;
    }
    Result<DecodedBatch> again = DecodeBatch(enc->Finish(), 8 << 20);
    if (!again.ok() || again->device != b.device || again->first_seq != b.first_seq || again->last_seq != b.last_seq ||
        again->events != expected)
      std::abort();
  }
  return 0;
}
