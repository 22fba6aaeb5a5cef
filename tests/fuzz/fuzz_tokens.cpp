// Fuzzes the hub's tokens file parser (hub/api/tokens.h): the file is outside data (edited by
// hand, restored from backups), so any bytes must give entries or a Status, never a crash, a
// hang or an exception; what parses must serialise and parse back to the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "hub/api/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = vigil::hub::ParseTokensFile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) return 0;
  auto again = vigil::hub::ParseTokensFile(vigil::hub::SerializeTokensFile(*parsed));
  if (!again.ok() || *again != *parsed) std::abort();
  return 0;
}
