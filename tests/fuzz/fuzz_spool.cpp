// Fuzzes the spool's record scanner (segments read back after a crash or power loss), and
// checks what it promises: every record it returns is exactly what AppendRecord writes for
// that seq and payload, and records and damage together cover the input once, in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/core/spool_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::spool;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (size >= kFileHeaderBytes) (void)DecodeFileHeader(body);

  RecordScanner scanner(body);
  size_t covered = 0;
  size_t damage_seen = 0;
  while (auto r = scanner.Next()) {
    // Damage reported before this record fills the gap up to it.
    for (; damage_seen < scanner.damage().size(); ++damage_seen) {
      const Damage& d = scanner.damage()[damage_seen];
      if (d.offset != covered || d.bytes == 0) std::abort();
      covered += d.bytes;
    }
    if (r->offset != covered) std::abort();
    std::string again;
    AppendRecord(r->seq, r->payload, &again);
    if (again != body.substr(r->offset, r->size)) std::abort();
    covered += r->size;
  }
  for (; damage_seen < scanner.damage().size(); ++damage_seen) {
    const Damage& d = scanner.damage()[damage_seen];
    if (d.offset != covered || d.bytes == 0) std::abort();
    covered += d.bytes;
  }
  if (covered != size) std::abort();
  return 0;
}
