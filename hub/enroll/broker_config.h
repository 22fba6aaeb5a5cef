// The Mosquitto (2.0) configuration for the hub's broker, written by `vigil-hub broker-config`.
//
// Files written to out_dir (created with mode 0755 if missing; each file replaced atomically):
//
//   mosquitto.conf  the configuration (text below); every path in it is absolute
//   acl             the access rules (text below)
//   ca.crt          the hub CA: client certificates must chain to it (0644)
//   server.crt      the broker's TLS certificate, issued now (Ca::IssueServer) for options.hostnames
//   server.key      its key (0600; given to options.user when run as root and that user exists)
//   crl.pem         the CA's current CRL, signed now (Ca::WriteCrl) (0644)
//
// mosquitto.conf, for options {port 8883, listen_host "", user "mosquitto", data_dir D}:
//
//   per_listener_settings false     acl_file and allow_anonymous apply to every listener
//   user mosquitto                  the account mosquitto drops to when started as root
//   allow_anonymous false           no certificate, no connection
//   acl_file OUT/acl
//   persistence true                sessions, queued QoS 1 messages and retained messages
//   persistence_location D/         survive a broker restart (saved every autosave_interval
//   autosave_interval 60            seconds and at shutdown)
//   max_queued_messages 100000      per client: what waits for a hub that is down
//   set_tcp_nodelay true
//   connection_messages true
//   [log_dest file L]               when options.log_file is set (else mosquitto's default)
//   listener 8883                   (listener PORT HOST when listen_host is set)
//   cafile OUT/ca.crt
//   certfile OUT/server.crt
//   keyfile OUT/server.key
//   crlfile OUT/crl.pem
//   require_certificate true        the TLS handshake fails without a client certificate from
//                                   the CA, or with a revoked one
//   use_identity_as_username true   the certificate's CN (the device id) is the MQTT user name
//   tls_version tlsv1.2             the oldest accepted (1.3 is negotiated when both sides can)
//   [extra_config]                  options.extra_config, as it is
//
// acl (mosquitto's acl_file format; `pattern` lines apply to every user, %u is the user name,
// i.e. the certificate's CN):
//
//   pattern write vigil/v1/%u/events
//   pattern write vigil/v1/%u/status
//   pattern write vigil/v1/%u/reported
//   pattern read vigil/v1/%u/config
//   user vigil-hub
//   topic read vigil/v1/+/events
//   topic read vigil/v1/+/status
//   topic read vigil/v1/+/reported
//   topic write vigil/v1/+/config
//
// A device can only publish under its own id, and read only its own configuration; the hub
// reads every device's events, status and reported documents and writes every device's
// configuration. Anything else is denied. What mosquitto 2.0.11 does (checked by
// enroll_integration_test.cpp):
//   - a QoS 1 PUBLISH the ACL denies is answered with PUBACK reason code 0x87 (not authorized)
//     to an MQTT v5 client, dropped, and logged at debug level
//     ("Denied PUBLISH from ..."); the connection stays up;
//   - every SUBSCRIBE is granted; read access is checked for each message delivered, against
//     its topic, so a device subscribed to "#" receives only its own configuration, and the
//     hub's shared subscription $share/vigil-hub/vigil/v1/+/events works with these rules.
//
// Revocation reaches the broker through crl.pem: after Ca::Revoke, call InstallCrl (or write
// the whole configuration again) and send mosquitto SIGHUP: it reloads the listener's
// certificates and CRL, and refuses new connections with a revoked certificate. Connections
// open before the reload stay open until they close; restart the broker to end them. The CRL
// expires after kDefaultCrlValidDays, and mosquitto then refuses every client: re-sign it
// (InstallCrl, then SIGHUP) well before, e.g. daily.
#pragma once

#include <string>
#include <vector>

#include "agent/core/status.h"
#include "hub/enroll/ca.h"

namespace vigil::hub {

struct BrokerOptions {
  int port = 8883;
  std::string listen_host;             // empty: every address (listener PORT)
  std::vector<std::string> hostnames;  // names and IP addresses devices connect to (the server
                                       // certificate's subjectAltName); at least one
  std::string data_dir;                // persistence_location; empty: <out_dir>/data
  std::string user = "mosquitto";      // `user` line; "root" keeps root (tests run as root)
  std::string log_file;                // empty: mosquitto's default destination
  int max_queued_messages = 100000;
  int server_valid_days = kDefaultServerValidDays;
  std::string extra_config;  // appended as it is, after the listener's lines (so a listener
                             // option there applies to the TLS listener), e.g. "log_type all"
};

// Writes the files above. InvalidArgument for a bad option (named); IoError naming the file.
// When run as root with a `user` other than root that exists, server.key and the data
// directory are given to that user so that mosquitto can read and write them after it drops
// root.
Status WriteBrokerConfig(Ca& ca, const BrokerOptions& options, const std::string& out_dir);

// Signs a fresh CRL (Ca::WriteCrl) and writes it to <out_dir>/crl.pem, atomically.
Status InstallCrl(Ca& ca, const std::string& out_dir);

// The texts WriteBrokerConfig writes, for tests and for showing to an operator. `out_dir` and
// `data_dir` must be absolute.
std::string BrokerConfigText(const BrokerOptions& options, const std::string& out_dir, const std::string& data_dir);
std::string BrokerAclText();

}  // namespace vigil::hub
