// Broker URLs, as the agent's --output and the hub's --mqtt take them.
#pragma once

#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil {

struct MqttUrl {
  bool tls = false;
  std::string host;
  int port = 0;
};
// mqtt://HOST[:PORT] (default port 1883) or mqtts://HOST[:PORT] (8883); HOST may be [v6].
Result<MqttUrl> ParseMqttUrl(std::string_view url);
bool IsMqttUrl(std::string_view target);

}  // namespace vigil
