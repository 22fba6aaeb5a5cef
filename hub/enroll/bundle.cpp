#include "hub/enroll/bundle.h"

#include <charconv>

#include "hub/enroll/files.h"

namespace vigil::hub {

using enroll_internal::MakeDir;
using enroll_internal::WriteFileAtomic;

namespace {

bool SafeYamlString(std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

Status ValidateBrokerUrl(std::string_view url) {
  const std::string shown = "broker URL '" + std::string(url) + "'";
  constexpr std::string_view kScheme = "mqtts://";
  if (!url.starts_with(kScheme)) return Status::InvalidArgument(shown + ": expected mqtts://HOST:PORT");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view host, port;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Status::InvalidArgument(shown + ": expected mqtts://[IPv6]:PORT");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Status::InvalidArgument(shown + ": expected mqtts://HOST:PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  const bool bracketed = rest.starts_with("[");
  const std::string_view allowed =
      bracketed ? "0123456789abcdefABCDEF:." : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";
  if (host.empty() || host.find_first_not_of(allowed) != std::string_view::npos) {
    return Status::InvalidArgument(shown + ": expected a host name or address");
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    return Status::InvalidArgument(shown + ": port must be 1-65535");
  }
  return Status::Ok();
}

Status WriteAgentBundle(Ca& ca, std::string_view device_id, std::string_view broker_url, const std::string& out_dir,
                        const BundleOptions& options) {
  VIGIL_RETURN_IF_ERROR(ValidateDeviceId(device_id));
  VIGIL_RETURN_IF_ERROR(ValidateBrokerUrl(broker_url));
  std::string install = options.install_dir;
  if (install.empty() || install[0] != '/' || !SafeYamlString(install)) {
    return Status::InvalidArgument("install directory '" + install + "': must be an absolute path");
  }
  while (install.size() > 1 && install.back() == '/') install.pop_back();
  if (out_dir.empty()) return Status::InvalidArgument("bundle directory: empty path");
  VIGIL_RETURN_IF_ERROR(MakeDir(out_dir, 0700, /*force_mode=*/false).WithContext("bundle directory"));

  auto issued = ca.IssueDevice(device_id, options.valid_days);
  if (!issued.ok()) return issued.status();

  const std::string prefix = install == "/" ? "/" : install + "/";
  std::string yml;
  yml += "# Vigil agent configuration for device " + std::string(device_id) + ", written by vigil-hub enroll.\n";
  yml += "# Install ca.crt, device.crt, device.key and this file in " + install +
         "/ (device.key readable by the agent only).\n";
  yml += "# Certificate serial " + issued->serial + ".\n";
  yml += "agent:\n  device_id: " + Quoted(device_id) + "\n";
  yml += "output:\n  target: " + Quoted(broker_url) + "\n";
  yml += "uplink:\n";
  yml += "  ca_file: " + Quoted(prefix + "ca.crt") + "\n";
  yml += "  cert_file: " + Quoted(prefix + "device.crt") + "\n";
  yml += "  key_file: " + Quoted(prefix + "device.key") + "\n";

  // The key first, the configuration last: a bundle with agent.yml is complete.
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/device.key", issued->key_pem, 0600));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/device.crt", issued->cert_pem, 0644));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/ca.crt", ca.cert_pem(), 0644));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(out_dir + "/agent.yml", yml, 0644));
  return Status::Ok();
}

}  // namespace vigil::hub
