// The uplink's settings tables (sections `uplink` and `spool`) and the options they give.
#pragma once

#include "agent/core/settings.h"
#include "agent/uplink/spool.h"
#include "agent/uplink/uplink.h"

namespace vigil {

void AddUplinkSections(ConfigSchema& schema);

// spool.dir empty: <agent.state_dir>/spool.
Result<SpoolOptions> SpoolOptionsFromConfig(const Config& config);
UplinkOptions UplinkOptionsFromConfig(const Config& config, std::string url, std::string device_id);

}  // namespace vigil
