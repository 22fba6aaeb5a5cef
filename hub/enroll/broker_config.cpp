#include "hub/enroll/broker_config.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "hub/enroll/files.h"

namespace vigil::hub {

using enroll_internal::MakeDir;
using enroll_internal::WriteFileAtomic;

namespace {

// Values that go into mosquitto.conf as one token: no white space, no control characters.
bool ConfToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') return false;
  }
  return true;
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : p).lexically_normal().string();
}

std::string StripSlash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Status GiveTo(const std::string& path, const passwd* pw) {
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return Status::IoError("cannot give " + path + " to user " + pw->pw_name + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string BrokerAclText() {
  std::string t;
  t += "# Vigil broker ACL, written by vigil-hub broker-config: regenerate rather than edit.\n";
  t += "# The MQTT user name is the client certificate's CN (use_identity_as_username): a device's\n";
  t += "# id, or vigil-hub for the hub. What is not granted here is denied.\n";
  t += "\n";
  t += "# Every device: publish under its own id only, read its own configuration only.\n";
  t += "pattern write vigil/v1/%u/events\n";
  t += "pattern write vigil/v1/%u/status\n";
  t += "pattern write vigil/v1/%u/reported\n";
  t += "pattern read vigil/v1/%u/config\n";
  t += "\n";
  t += "# The hub: read every device's events, status and reported configuration (also as the\n";
  t += "# shared subscription $share/vigil-hub/...), write every device's configuration.\n";
  t += "user " + std::string(kHubClientName) + "\n";
  t += "topic read vigil/v1/+/events\n";
  t += "topic read vigil/v1/+/status\n";
  t += "topic read vigil/v1/+/reported\n";
  t += "topic write vigil/v1/+/config\n";
  return t;
}

std::string BrokerConfigText(const BrokerOptions& options, const std::string& out_dir, const std::string& data_dir) {
  const std::string dir = StripSlash(out_dir);
  std::string t;
  t += "# Mosquitto configuration for the Vigil hub, written by vigil-hub broker-config\n";
  t += "# (hub/enroll/README.md explains every line). Regenerate rather than edit.\n";
  t += "per_listener_settings false\n";
  t += "user " + options.user + "\n";
  t += "allow_anonymous false\n";
  t += "acl_file " + dir + "/acl\n";
  t += "\n";
  t += "# QoS 1 messages for a hub that is down wait in its persistent session.\n";
  t += "persistence true\n";
  t += "persistence_location " + StripSlash(data_dir) + "/\n";
  t += "autosave_interval 60\n";
  t += "max_queued_messages " + std::to_string(options.max_queued_messages) + "\n";
  t += "\n";
  t += "set_tcp_nodelay true\n";
  t += "connection_messages true\n";
  if (!options.log_file.empty()) t += "log_dest file " + options.log_file + "\n";
  t += "\n";
  t += "# Devices and the hub: TLS with a client certificate from the hub CA; its CN is the user name.\n";
  t += "listener " + std::to_string(options.port);
  if (!options.listen_host.empty()) t += " " + options.listen_host;
  t += "\n";
  t += "cafile " + dir + "/ca.crt\n";
  t += "certfile " + dir + "/server.crt\n";
  t += "keyfile " + dir + "/server.key\n";
  t += "crlfile " + dir + "/crl.pem\n";
  t += "require_certificate true\n";
  t += "use_identity_as_username true\n";
  t += "tls_version tlsv1.2\n";
  if (!options.extra_config.empty()) {
    t += "\n" + options.extra_config;
    if (t.back() != '\n') t += "\n";
  }
  return t;
}

Status InstallCrl(Ca& ca, const std::string& out_dir) {
  auto crl = ca.WriteCrl();
  if (!crl.ok()) return crl.status();
  return WriteFileAtomic(StripSlash(out_dir) + "/crl.pem", *crl, 0644);
}

Status WriteBrokerConfig(Ca& ca, const BrokerOptions& options, const std::string& out_dir) {
  if (options.port < 1 || options.port > 65535) {
    return Status::InvalidArgument("broker port " + std::to_string(options.port) + ": must be 1-65535");
  }
  if (!options.listen_host.empty() && !ConfToken(options.listen_host)) {
    return Status::InvalidArgument("listen host '" + options.listen_host + "': one word expected");
  }
  if (!ConfToken(options.user)) return Status::InvalidArgument("broker user '" + options.user + "': one word expected");
  if (options.max_queued_messages < 0) {
    return Status::InvalidArgument("max_queued_messages " + std::to_string(options.max_queued_messages) +
                                   ": must be 0 (no limit) or more");
  }
  if (out_dir.empty()) return Status::InvalidArgument("broker configuration directory: empty path");
  const std::string dir = StripSlash(Absolute(out_dir));
  const std::string data_dir = StripSlash(Absolute(options.data_dir.empty() ? dir + "/data" : options.data_dir));
  for (const std::string* path : {&dir, &data_dir}) {
    if (!ConfToken(*path)) return Status::InvalidArgument("path '" + *path + "': no white space allowed");
  }
  if (!options.log_file.empty() && !ConfToken(options.log_file)) {
    return Status::InvalidArgument("log file '" + options.log_file + "': no white space allowed");
  }

  VIGIL_RETURN_IF_ERROR(MakeDir(dir, 0755, /*force_mode=*/false).WithContext("broker configuration directory"));
  VIGIL_RETURN_IF_ERROR(MakeDir(data_dir, 0700, /*force_mode=*/false).WithContext("broker data directory"));

  auto server = ca.IssueServer(options.hostnames, options.server_valid_days);
  if (!server.ok()) return server.status();
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir + "/server.key", server->key_pem, 0600));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir + "/server.crt", server->cert_pem, 0644));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir + "/ca.crt", ca.cert_pem(), 0644));
  VIGIL_RETURN_IF_ERROR(InstallCrl(ca, dir));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(dir + "/acl", BrokerAclText(), 0644));

  if (::geteuid() == 0 && options.user != "root") {
    errno = 0;
    if (const passwd* pw = ::getpwnam(options.user.c_str())) {
      VIGIL_RETURN_IF_ERROR(GiveTo(dir + "/server.key", pw));
      VIGIL_RETURN_IF_ERROR(GiveTo(data_dir, pw));
    }
  }
  return WriteFileAtomic(dir + "/mosquitto.conf", BrokerConfigText(options, dir, data_dir), 0644);
}

}  // namespace vigil::hub
