// The hub's configuration: one YAML file (default /etc/vigil/hub.yml, when it exists), every
// key declared once in the settings tables of hub_config.cpp, with the same syntax, validation
// and generated reference as the agent's (agent/core/settings.h). Command-line flags of
// `vigil-hub serve` (--db, --mqtt, --http, --data-dir, --set KEY=VALUE) override the file.
#pragma once

#include <string>

#include "agent/core/settings.h"

namespace vigil::hub {

ConfigSchema BuildHubSchema();

// hub.db, or sqlite:<hub.data_dir>/hub.db when it is empty.
std::string StoreUrl(const Config& config);

}  // namespace vigil::hub
