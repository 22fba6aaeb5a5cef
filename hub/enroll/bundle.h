// The agent bundle: everything a device needs to talk to the hub, written by
// `vigil-hub enroll DEVICE`.
//
//   <out_dir>/ca.crt      the hub CA's certificate: the agent verifies the broker with it (0644)
//   <out_dir>/device.crt  the device's client certificate, CN = device id (0644)
//   <out_dir>/device.key  its private key (0600)
//   <out_dir>/agent.yml   an agent configuration (0644):
//
//       agent:
//         device_id: "sensor-17"
//       output:
//         target: "mqtts://hub.example.net:8883"
//       uplink:
//         ca_file: "/etc/vigil/ca.crt"
//         cert_file: "/etc/vigil/device.crt"
//         key_file: "/etc/vigil/device.key"
//
// The uplink paths are absolute: the agent opens them as given (relative to its working
// directory, which a service manager does not promise), so they name where the files will be
// installed on the device, `install_dir` (default /etc/vigil). Copy the four files there, keep
// device.key readable by the agent only, and run `vigil-agent run --config
// /etc/vigil/agent.yml`. Tests and manual runs pass the bundle directory itself as install_dir.
//
// out_dir is created (mode 0700, it holds a private key) if it is missing; existing files of the
// same names are replaced, each atomically. Every call issues a new certificate (see
// Ca::IssueDevice: earlier ones stay valid until revoked).
#pragma once

#include <string>
#include <string_view>

#include "agent/core/status.h"
#include "hub/enroll/ca.h"

namespace vigil::hub {

inline constexpr std::string_view kDefaultAgentInstallDir = "/etc/vigil";

struct BundleOptions {
  std::string install_dir = std::string(kDefaultAgentInstallDir);  // absolute
  int valid_days = kDefaultDeviceValidDays;
};

// Checks "mqtts://HOST:PORT" (HOST a name, an IPv4 address or [IPv6]; PORT 1-65535). Plain
// mqtt:// is refused: an enrolled device always uses TLS with its certificate.
Status ValidateBrokerUrl(std::string_view url);

// Issues a device certificate (ca.IssueDevice) and writes the bundle. InvalidArgument for a bad
// or reserved device id, a bad URL or a relative install_dir; IoError naming the file.
Status WriteAgentBundle(Ca& ca, std::string_view device_id, std::string_view broker_url, const std::string& out_dir,
                        const BundleOptions& options = {});

}  // namespace vigil::hub
