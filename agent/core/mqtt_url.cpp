#include "agent/core/mqtt_url.h"

#include <charconv>

namespace vigil {

bool IsMqttUrl(std::string_view target) { return target.starts_with("mqtt://") || target.starts_with("mqtts://"); }

Result<MqttUrl> ParseMqttUrl(std::string_view url) {
  MqttUrl out;
  std::string_view rest;
  if (url.starts_with("mqtts://")) {
    out.tls = true;
    out.port = 8883;
    rest = url.substr(8);
  } else if (url.starts_with("mqtt://")) {
    out.port = 1883;
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("'" + std::string(url) + "': expected mqtt://HOST:PORT or mqtts://HOST:PORT");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("'" + std::string(url) + "': unclosed [");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(":"))
      port = rest.substr(1);
    else if (!rest.empty())
      return Status::InvalidArgument("'" + std::string(url) + "': unexpected text after ]");
  } else {
    size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty() || out.host.find_first_of("/@?# ") != std::string::npos)
    return Status::InvalidArgument("'" + std::string(url) + "': expected a host name or address");
  if (!port.empty() || rest.ends_with(":")) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return Status::InvalidArgument("'" + std::string(url) + "': port must be 1-65535");
    out.port = p;
  }
  return out;
}

}  // namespace vigil
