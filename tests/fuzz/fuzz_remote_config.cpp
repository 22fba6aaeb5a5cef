// Fuzzes the desired-configuration message from the hub (MQTT topic .../config): parsing,
// whole-document validation and the merge under a local configuration must yield a result or
// a Status for any bytes, never a crash, hang or exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/core/collector.h"
#include "agent/core/config_tables.h"
#include "agent/core/remote_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vigil::ConfigSchema schema = vigil::BuildAgentSchema(vigil::CompiledCollectors());
  static const vigil::Config local = *vigil::LoadConfig(schema, "agent:\n  log_level: warn\n", "local.yml");
  auto desired = vigil::ParseDesiredConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!desired.ok()) return 0;
  vigil::MergedConfig merged = vigil::MergeRemoteConfig(schema, local, *desired);
  (void)vigil::ReportedConfig(*desired, merged, 0).dump();
  return 0;
}
