// Fuzzes event decoding (events read back from JSON Lines files and, later, from MQTT).
#include <cstddef>
#include <cstdint>

#include "agent/core/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = vigil::Json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto e = vigil::EventFromJson(j);
  if (e.ok()) (void)vigil::EventToJsonLine(*e);
  return 0;
}
