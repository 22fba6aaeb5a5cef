// Fuzzes event validation against schema/events.yml (the hub validates every event it
// receives): any bytes must yield a verdict, never a crash, hang or exception, and the two
// ways of asking (Check, Validate) must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "schema/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& schema = vigil::schema::BuiltinSchema();
  if (!schema.ok()) std::abort();
  auto j = vigil::schema::Json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  const auto errors = schema->Check(j, 8);
  if (errors.size() > 9) std::abort();  // the limit plus the "more problems" note
  for (const auto& e : errors) (void)e.ToString();
  if (errors.empty() != schema->Validate(j).ok()) std::abort();
  return 0;
}
