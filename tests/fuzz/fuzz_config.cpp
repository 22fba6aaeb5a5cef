// Fuzzes the configuration loader: any bytes must yield a Config or a Status, never a crash,
// hang or exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/core/collector.h"
#include "agent/core/config_tables.h"
#include "agent/core/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vigil::ConfigSchema schema = vigil::BuildAgentSchema(vigil::CompiledCollectors());
  auto config = vigil::LoadConfig(schema, std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.yml");
  if (config.ok()) (void)config->GetString("agent.state_dir");
  return 0;
}
