#include "hub/cli.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "agent/core/logging.h"
#include "hub/api/tokens.h"
#include "hub/enroll/broker_config.h"
#include "hub/enroll/bundle.h"
#include "hub/enroll/ca.h"
#include "hub/enroll/files.h"
#include "hub/hub.h"
#include "hub/hub_config.h"
#include "hub/query/filter.h"
#include "hub/store/store.h"
#include "hub/vuln/vuln_cli.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil::hub {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr const char* kDefaultConfigPath = "/etc/vigil/hub.yml";

struct ConfigSource {
  std::string path;                    // empty: the default file when it exists, else defaults
  std::vector<std::string> overrides;  // KEY=VALUE
};

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<Config> LoadHubConfig(const ConfigSchema& schema, ConfigSource src) {
  if (src.path.empty() && std::ifstream(kDefaultConfigPath).good()) src.path = kDefaultConfigPath;
  std::string text;
  if (!src.path.empty()) {
    auto read = ReadText(src.path);
    if (!read.ok()) return read.status();
    text = std::move(*read);
  }
  return LoadConfigWithOverrides(schema, src.path.empty() ? nullptr : &text, src.path, src.overrides);
}

void SetUpLogging(const std::string& level) { SetUpStderrLogging("vigil-hub", level); }

std::string FormatTime(int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// Serve until SIGINT or SIGTERM; SIGHUP reads the analyzer's rules and lists again.
int CmdServe(const Config& config) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: sigwait takes them

  auto hub = HubServer::Create(config);
  if (!hub.ok()) {
    spdlog::error("{}", hub.status().message());
    return kExitFailure;
  }
  if (Status s = (*hub)->Start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return kExitFailure;
  }
  spdlog::info("vigil-hub {} serving: store {}, broker {}, HTTP API on http://{}/api/v1/", VIGIL_VERSION,
               (*hub)->store().Describe(), config.GetString("mqtt.url"), (*hub)->http_address());
  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig != SIGHUP) break;
    spdlog::info("SIGHUP: reading the rules and lists again");
    (*hub)->ReloadRules();
  }
  spdlog::info("signal {}: stopping", sig);
  (*hub)->Stop();
  return kExitOk;
}

// --since and --until (either may be empty): false after printing what is wrong.
bool ParseTimeRange(const std::string& since, const std::string& until, std::optional<int64_t>* since_ms,
                    std::optional<int64_t>* until_ms) {
  const int64_t now = NowMs();
  for (auto [text, out, name] : {std::tuple{&since, since_ms, "--since"}, {&until, until_ms, "--until"}}) {
    if (text->empty()) continue;
    auto t = ParseTimeSpec(*text, now);
    if (!t.ok()) {
      std::fprintf(stderr, "%s: %s\n", name, std::string(t.status().message()).c_str());
      return false;
    }
    *out = *t;
  }
  return true;
}

struct AlertsArgs {
  std::string status, device, level, rule, origin, since, until;
  size_t limit = 100;
  std::string format = "table";
};

int CmdAlerts(const Config& config, const AlertsArgs& args) {
  AlertQuery q;
  if (!args.status.empty()) {
    if (!IsAlertStatus(args.status)) {
      std::fprintf(stderr, "--status: expected new, acknowledged or resolved, got \"%s\"\n", args.status.c_str());
      return kExitUsage;
    }
    q.status = args.status;
  }
  if (!args.device.empty()) q.device = args.device;
  if (!args.level.empty()) q.level = args.level;
  if (!args.rule.empty()) q.rule = args.rule;
  if (!args.origin.empty()) q.origin = args.origin;
  if (!ParseTimeRange(args.since, args.until, &q.since_ms, &q.until_ms)) return kExitUsage;
  q.limit = args.limit;
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return kExitFailure;
  }
  auto rows = (*store)->Alerts(q);
  if (!rows.ok()) {
    std::fprintf(stderr, "%s\n", std::string(rows.status().message()).c_str());
    return kExitFailure;
  }
  if (args.format == "json") {
    for (const auto& a : *rows) {
      Json j = AlertRowJson(a);
      std::printf("%s\n", j.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
    }
    return kExitOk;
  }
  std::printf("%8s  %-24s  %-20s  %-6s  %-13s  %-8s  %s\n", "ID", "TIME", "DEVICE", "ORIGIN", "STATUS", "LEVEL",
              "TITLE");
  for (const auto& a : *rows) {
    std::printf("%8lld  %-24s  %-20s  %-6s  %-13s  %-8s  %s\n", static_cast<long long>(a.id),
                FormatTime(a.ts_ms).c_str(), a.device.c_str(), a.origin.c_str(), a.status.c_str(), a.level.c_str(),
                a.title.c_str());
  }
  std::fprintf(stderr, "%zu alerts\n", rows->size());
  return kExitOk;
}

int CmdAlertStatus(const Config& config, int64_t id, const std::string& status, const std::string& note) {
  if (!IsAlertStatus(status)) {
    std::fprintf(stderr, "status: expected new, acknowledged or resolved, got \"%s\"\n", status.c_str());
    return kExitUsage;
  }
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return kExitFailure;
  }
  const char* user = std::getenv("USER");
  std::string by = std::string("cli:") + (user != nullptr ? user : "unknown");
  Status s = (*store)->SetAlertStatus(id, status, by, note, NowMs());
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return s.code() == Status::Code::kNotFound ? kExitFailure : kExitUsage;
  }
  std::printf("alert %lld: %s\n", static_cast<long long>(id), status.c_str());
  return kExitOk;
}

struct QueryArgs {
  std::string filter;
  std::string since, until;
  size_t limit = 100;
  std::string format = "table";
  bool count = false;
  bool oldest_first = false;
};

int CmdQuery(const Config& config, const QueryArgs& args) {
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return kExitFailure;
  }
  auto filter = ParseFilter(args.filter);
  if (!filter.ok()) {
    std::fprintf(stderr, "filter: %s\n", std::string(filter.status().message()).c_str());
    return kExitUsage;
  }
  EventQuery q;
  auto sql = CompileFilter(*filter, (*store)->dialect());
  if (!sql.ok()) {
    std::fprintf(stderr, "filter: %s\n", std::string(sql.status().message()).c_str());
    return kExitUsage;
  }
  q.filter = std::move(*sql);
  if (!ParseTimeRange(args.since, args.until, &q.since_ms, &q.until_ms)) return kExitUsage;
  q.limit = args.limit;
  q.newest_first = !args.oldest_first;
  if (args.count) {
    auto n = (*store)->Count(q);
    if (!n.ok()) {
      std::fprintf(stderr, "%s\n", std::string(n.status().message()).c_str());
      return kExitFailure;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(*n));
    return kExitOk;
  }
  auto rows = (*store)->Search(q);
  if (!rows.ok()) {
    std::fprintf(stderr, "%s\n", std::string(rows.status().message()).c_str());
    return kExitFailure;
  }
  if (args.format == "json") {
    for (const auto& r : *rows) std::printf("%s\n", r.json.c_str());
    return kExitOk;
  }
  std::printf("%-24s  %-20s  %10s  %-16s  %s\n", "TIME", "DEVICE", "SEQ", "TYPE/ACTION", "DATA");
  for (const auto& r : *rows) {
    std::string kind = r.type + (r.action.empty() ? "" : "/" + r.action);
    std::string data;
    auto j = Json::parse(r.json, nullptr, false);
    if (!j.is_discarded() && j.contains("data")) data = j["data"].dump();
    if (data.size() > 100) data = data.substr(0, 97) + "...";
    if (r.count > 1) kind += " x" + std::to_string(r.count);
    std::printf("%-24s  %-20s  %10llu  %-16s  %s\n", FormatTime(r.ts_ms).c_str(), r.device.c_str(),
                static_cast<unsigned long long>(r.seq), kind.c_str(), data.c_str());
  }
  std::fprintf(stderr, "%zu events\n", rows->size());
  return kExitOk;
}

int CmdDevices(const Config& config, bool json) {
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return kExitFailure;
  }
  auto devices = (*store)->Devices();
  if (!devices.ok()) {
    std::fprintf(stderr, "%s\n", std::string(devices.status().message()).c_str());
    return kExitFailure;
  }
  if (!json)
    std::printf("%-24s  %-8s  %-12s  %-24s  %10s  %8s\n", "DEVICE", "STATE", "GROUP", "LAST SEEN", "EVENTS", "MISSING");
  for (const auto& d : *devices) {
    if (json) {
      std::printf("%s\n", Json{{"id", d.id},
                               {"state", DeviceStateName(d.state)},
                               {"group", d.group},
                               {"last_seen", d.last_seen_ms},
                               {"events", d.events},
                               {"missing", d.missing},
                               {"revoked", d.revoked}}
                              .dump()
                              .c_str());
      continue;
    }
    std::string state(DeviceStateName(d.state));
    if (d.revoked) state = "revoked";
    std::printf("%-24s  %-8s  %-12s  %-24s  %10llu  %8llu\n", d.id.c_str(), state.c_str(), d.group.c_str(),
                d.last_seen_ms ? FormatTime(d.last_seen_ms).c_str() : "-", static_cast<unsigned long long>(d.events),
                static_cast<unsigned long long>(d.missing));
  }
  return kExitOk;
}

int CmdDesired(const Config& config, const std::string& device, const std::string& group, const std::string& file,
               std::string version) {
  auto text = ReadText(file);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", std::string(text.status().message()).c_str());
    return kExitUsage;
  }
  Json doc = Json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::fprintf(stderr, "%s: expected a JSON object of configuration sections\n", file.c_str());
    return kExitUsage;
  }
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return kExitFailure;
  }
  DesiredConfig d;
  d.scope = device.empty() ? "group" : "device";
  d.name = device.empty() ? group : device;
  d.version = version.empty() ? std::to_string(NowMs()) : version;
  d.config = std::move(doc);
  d.updated_ms = NowMs();
  if (Status s = (*store)->SetDesired(d); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  std::printf("desired configuration for %s %s set, version %s (a running hub publishes it within seconds)\n",
              d.scope.c_str(), d.name.c_str(), d.version.c_str());
  return kExitOk;
}

int Fail(const Status& s, int code = kExitFailure) {
  std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
  return code;
}

std::string CaDir(const Config& config) { return config.GetString("hub.data_dir") + "/ca"; }

struct EnrollArgs {
  std::string device, broker, out, group, install_dir = std::string(kDefaultAgentInstallDir);
  int days = kDefaultDeviceValidDays;
};

int CmdEnroll(const Config& config, const EnrollArgs& args) {
  if (Status s = ValidateDeviceId(args.device); !s.ok()) return Fail(s, kExitUsage);
  if (Status s = ValidateBrokerUrl(args.broker); !s.ok()) return Fail(s, kExitUsage);
  auto ca = Ca::OpenOrCreate(CaDir(config));
  if (!ca.ok()) return Fail(ca.status());
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) return Fail(store.status());
  const std::string out = args.out.empty() ? args.device + "-bundle" : args.out;
  BundleOptions bo;
  bo.install_dir = args.install_dir;
  bo.valid_days = args.days;
  if (Status s = WriteAgentBundle(**ca, args.device, args.broker, out, bo); !s.ok()) return Fail(s);
  if (Status s = (*store)->AddDevice(args.device, args.group, NowMs()); !s.ok()) return Fail(s);
  if (!args.group.empty()) {
    if (Status s = (*store)->SetDeviceGroup(args.device, args.group); !s.ok()) return Fail(s);
  }
  std::printf(
      "enrolled %s: bundle in %s/ (agent.yml, ca.crt, device.crt, device.key)\n"
      "install it in %s on the device, then: vigil-agent run --config %s/agent.yml\n",
      args.device.c_str(), out.c_str(), args.install_dir.c_str(), args.install_dir.c_str());
  return kExitOk;
}

int CmdRevoke(const Config& config, const std::string& device, const std::string& broker_dir) {
  auto ca = Ca::OpenOrCreate(CaDir(config));
  if (!ca.ok()) return Fail(ca.status());
  auto revoked = (*ca)->Revoke(device);
  if (!revoked.ok()) return Fail(revoked.status());
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) return Fail(store.status());
  if (Status s = (*store)->AddDevice(device, "", NowMs()); !s.ok()) return Fail(s);
  if (Status s = (*store)->SetRevoked(device, true); !s.ok()) return Fail(s);
  std::printf("revoked %d certificate(s) of %s; the hub refuses its events from now on\n", *revoked, device.c_str());
  if (!broker_dir.empty()) {
    if (Status s = InstallCrl(**ca, broker_dir); !s.ok()) return Fail(s);
    std::printf("wrote %s/crl.pem: send the broker SIGHUP (kill -HUP $(pidof mosquitto)) to load it\n",
                broker_dir.c_str());
  } else {
    std::printf(
        "the CA's CRL is %s: install it in the broker's directory (or run revoke with --broker-dir) and send "
        "the broker SIGHUP\n",
        (*ca)->crl_file().c_str());
  }
  return kExitOk;
}

int CmdCrl(const Config& config, const std::string& broker_dir) {
  auto ca = Ca::OpenOrCreate(CaDir(config));
  if (!ca.ok()) return Fail(ca.status());
  if (Status s = InstallCrl(**ca, broker_dir); !s.ok()) return Fail(s);
  std::printf("wrote %s/crl.pem, valid %d days: send the broker SIGHUP (kill -HUP $(pidof mosquitto)) to load it\n",
              broker_dir.c_str(), kDefaultCrlValidDays);
  return kExitOk;
}

int CmdBrokerConfig(const Config& config, const BrokerOptions& options, const std::string& out) {
  auto ca = Ca::OpenOrCreate(CaDir(config));
  if (!ca.ok()) return Fail(ca.status());
  if (Status s = WriteBrokerConfig(**ca, options, out); !s.ok()) return Fail(s);
  // The hub's own client certificate, for mqtts.
  auto hub_cert = (*ca)->IssueHubClient();
  if (!hub_cert.ok()) return Fail(hub_cert.status());
  const std::string dir = config.GetString("hub.data_dir");
  if (Status s = enroll_internal::WriteFileAtomic(dir + "/hub.crt", hub_cert->cert_pem, 0644); !s.ok()) return Fail(s);
  if (Status s = enroll_internal::WriteFileAtomic(dir + "/hub.key", hub_cert->key_pem, 0600); !s.ok()) return Fail(s);
  std::printf(
      "wrote %s/mosquitto.conf (with acl, ca.crt, server.crt, server.key, crl.pem)\n"
      "start the broker: mosquitto -c %s/mosquitto.conf\n"
      "the hub's client certificate: %s/hub.crt, %s/hub.key; in hub.yml:\n"
      "  mqtt:\n    url: mqtts://%s:%d\n    ca_file: %s\n    cert_file: %s/hub.crt\n    key_file: %s/hub.key\n",
      out.c_str(), out.c_str(), dir.c_str(), dir.c_str(),
      options.hostnames.empty() ? "localhost" : options.hostnames.front().c_str(), options.port,
      (*ca)->cert_file().c_str(), dir.c_str(), dir.c_str());
  return kExitOk;
}

int CmdToken(const Config& config, const std::string& action, const std::string& name, const std::string& role_name) {
  auto tokens = TokenStore::Open(config.GetString("hub.data_dir") + "/" + std::string(kTokensFileName));
  if (!tokens.ok()) return Fail(tokens.status());
  if (action == "create") {
    auto role = ParseRole(role_name);
    if (!role) return Fail(Status::InvalidArgument("--role must be admin or viewer"), kExitUsage);
    auto token = (*tokens)->Create(name, *role);
    if (!token.ok()) return Fail(token.status(), kExitUsage);
    std::printf("%s\n", token->c_str());
    std::fprintf(stderr, "token %s (%s) created; it is shown only now\n", name.c_str(), role_name.c_str());
    return kExitOk;
  }
  if (action == "revoke") {
    if (Status s = (*tokens)->Revoke(name); !s.ok()) return Fail(s, kExitUsage);
    std::printf("token %s revoked\n", name.c_str());
    return kExitOk;
  }
  auto list = (*tokens)->List();
  if (!list.ok()) return Fail(list.status());
  std::printf("%-24s  %-8s  %s\n", "NAME", "ROLE", "CREATED");
  for (const auto& t : *list)
    std::printf("%-24s  %-8s  %s\n", t.name.c_str(), std::string(RoleName(t.role)).c_str(),
                FormatTime(t.created_ms).c_str());
  return kExitOk;
}

int CmdConfig(const ConfigSchema& schema, bool print_defaults, bool print_reference, const std::string& check) {
  if (print_defaults) {
    std::fputs(schema.DefaultFileText().c_str(), stdout);
    return kExitOk;
  }
  if (print_reference) {
    std::fputs(schema.ReferenceMarkdown().c_str(), stdout);
    return kExitOk;
  }
  if (!check.empty()) {
    auto config = LoadHubConfig(schema, ConfigSource{check, {}});
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      return kExitUsage;
    }
    std::printf("%s: OK\n", check.c_str());
    return kExitOk;
  }
  std::fprintf(stderr, "config: give one of --print-defaults, --print-reference, --check FILE (see --help)\n");
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  ConfigSchema schema = BuildHubSchema();
  schema.SetProgram("hub", "serve");

  CLI::App app{
      "vigil-hub: the hub of a Vigil fleet.\n"
      "Stores every device's events from the MQTT broker, answers questions about the fleet over an\n"
      "HTTP API, and enrolls devices.\n"
      "Exit codes: 0 success, 1 runtime failure, 2 usage error or invalid configuration."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  ConfigSource src;
  std::string db_flag, mqtt_flag, http_flag, data_dir_flag;
  auto add_common = [&](CLI::App* cmd, bool server) {
    cmd->add_option("-c,--config", src.path,
                    std::string("Configuration file (YAML); default ") + kDefaultConfigPath + " if it exists")
        ->check(CLI::ExistingFile);
    cmd->add_option("--db", db_flag, "The store: sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: hub.db)");
    cmd->add_option("--data-dir", data_dir_flag, "The hub's own files (default: hub.data_dir)");
    cmd->add_option("--set", src.overrides, "Override a key, e.g. --set retention.max_age=30d (repeatable)");
    if (server) {
      cmd->add_option("--mqtt", mqtt_flag, "The broker: mqtts://HOST:PORT or mqtt://HOST:PORT (default: mqtt.url)");
      cmd->add_option("--http", http_flag, "HTTP API address HOST:PORT (default: http.listen)");
    }
  };

  CLI::App* serve = app.add_subcommand("serve", "Run the hub until SIGTERM/SIGINT");
  add_common(serve, true);

  QueryArgs qa;
  CLI::App* query = app.add_subcommand("query", "Search the stored events with a filter (see hub/query/README.md)");
  add_common(query, false);
  query->add_option("filter", qa.filter, "Filter, e.g. 'type = process and exe endswith \"/sh\"' (empty: every event)");
  query->add_option("--since", qa.since, "Events at or after: 1h, 7d, 2026-12-06T10:00:00Z or epoch ms");
  query->add_option("--until", qa.until, "Events before (same forms as --since)");
  query->add_option("-n,--limit", qa.limit, "At most this many events (default 100; 0: all)");
  query->add_option("--format", qa.format, "table or json (one event per line)")
      ->check(CLI::IsMember({"table", "json"}));
  query->add_flag("--count", qa.count, "Print only how many events match");
  query->add_flag("--oldest-first", qa.oldest_first, "Oldest events first (default: newest first)");

  AlertsArgs aa;
  CLI::App* alerts = app.add_subcommand("alerts", "List alerts (from devices and from the hub's fleet rules)");
  add_common(alerts, false);
  alerts->add_option("--status", aa.status, "new, acknowledged or resolved");
  alerts->add_option("--device", aa.device, "Only this device's alerts");
  alerts->add_option("--level", aa.level, "informational, low, medium, high or critical");
  alerts->add_option("--rule", aa.rule, "Only this rule id");
  alerts->add_option("--origin", aa.origin, "device or hub")->check(CLI::IsMember({"device", "hub"}));
  alerts->add_option("--since", aa.since, "Alerts at or after: 1h, 7d, 2026-12-06T10:00:00Z or epoch ms");
  alerts->add_option("--until", aa.until, "Alerts before (same forms as --since)");
  alerts->add_option("-n,--limit", aa.limit, "At most this many alerts, newest first (default 100; 0: all)");
  alerts->add_option("--format", aa.format, "table or json (one alert per line)")
      ->check(CLI::IsMember({"table", "json"}));

  int64_t status_id = 0;
  std::string status_value, status_note;
  CLI::App* alert_status = app.add_subcommand("alert-status", "Set an alert's status");
  add_common(alert_status, false);
  alert_status->add_option("id", status_id, "The alert's id")->required()->check(CLI::PositiveNumber);
  alert_status->add_option("status", status_value, "new, acknowledged or resolved")->required();
  alert_status->add_option("--note", status_note, "A note kept with the alert (replaces the last one)");

  bool devices_json = false;
  CLI::App* devices = app.add_subcommand("devices", "List the devices and their state");
  add_common(devices, false);
  devices->add_flag("--json", devices_json, "One JSON object per device");

  std::string desired_device, desired_group, desired_file, desired_version;
  CLI::App* desired = app.add_subcommand(
      "desired", "Set the desired configuration of a device or a group (a JSON object of agent config sections)");
  add_common(desired, false);
  auto* dd = desired->add_option("--device", desired_device, "The device");
  auto* dg = desired->add_option("--group", desired_group, "The group");
  dd->excludes(dg);
  desired->add_option("file", desired_file, "JSON file, e.g. {\"process\": {\"priority\": \"high\"}}")
      ->required()
      ->check(CLI::ExistingFile);
  desired->add_option("--version", desired_version, "Version to publish it under (default: the time in ms)");

  EnrollArgs ea;
  CLI::App* enroll = app.add_subcommand(
      "enroll", "Issue a device certificate and write its agent bundle (creates the hub's CA on first use)");
  add_common(enroll, false);
  enroll->add_option("device", ea.device, "Device id (1-64 of A-Z a-z 0-9 . _ -)")->required();
  enroll->add_option("--broker", ea.broker, "The broker as devices reach it: mqtts://HOST:PORT")->required();
  enroll->add_option("-o,--out", ea.out, "Bundle directory (default: ./DEVICE-bundle)");
  enroll->add_option("--group", ea.group, "Put the device in this group (its desired configuration applies)");
  enroll->add_option("--install-dir", ea.install_dir, "Where the bundle will be installed on the device (absolute)");
  enroll->add_option("--days", ea.days, "Certificate validity in days")->check(CLI::Range(1, 36500));

  std::string revoke_device, revoke_broker_dir;
  CLI::App* revoke = app.add_subcommand("revoke", "Revoke every certificate of a device");
  add_common(revoke, false);
  revoke->add_option("device", revoke_device, "Device id")->required();
  revoke->add_option("--broker-dir", revoke_broker_dir,
                     "The broker's configuration directory: its crl.pem is replaced");

  BrokerOptions bo;
  bo.user = "mosquitto";
  std::string broker_out;
  CLI::App* broker = app.add_subcommand(
      "broker-config", "Write the Mosquitto configuration (TLS, client certificates, ACL) and the hub's certificate");
  add_common(broker, false);
  broker->add_option("-o,--out", broker_out, "Directory for mosquitto.conf and its files")->required();
  broker->add_option("--port", bo.port, "TLS listener port (default 8883)")->check(CLI::Range(1, 65535));
  broker->add_option("--listen", bo.listen_host, "Listen on this address only (default: every address)");
  broker->add_option("--hostname", bo.hostnames, "A name or address devices use to reach the broker (repeatable)");
  broker->add_option("--user", bo.user, "Account mosquitto runs as when started as root (default mosquitto)");
  broker->add_option("--log-file", bo.log_file, "The broker's log file (default: mosquitto's)");

  std::string crl_broker_dir;
  CLI::App* crl = app.add_subcommand(
      "crl", "Sign the certificate revocation list again and install it for the broker (run it daily: it expires)");
  add_common(crl, false);
  crl->add_option("--broker-dir", crl_broker_dir, "The broker's configuration directory (broker-config --out)")
      ->required();

  std::string token_action, token_name, token_role = "viewer";
  CLI::App* token = app.add_subcommand("token", "Create, list or revoke HTTP API tokens");
  add_common(token, false);
  token->add_option("action", token_action, "create, list or revoke")
      ->required()
      ->check(CLI::IsMember({"create", "list", "revoke"}));
  token->add_option("name", token_name, "Token name (create, revoke)");
  token->add_option("--role", token_role, "create: admin (may change configuration) or viewer (read only)")
      ->check(CLI::IsMember({"admin", "viewer"}));

  bool print_defaults = false, print_reference = false;
  std::string check;
  CLI::App* config = app.add_subcommand("config", "Show or validate the hub's configuration");
  auto* pd = config->add_flag("--print-defaults", print_defaults, "Print a commented file with every default");
  auto* pr = config->add_flag("--print-reference", print_reference, "Print the configuration reference (Markdown)");
  auto* ck = config->add_option("--check", check, "Validate FILE: every error with line and key; exit 2 if invalid")
                 ->check(CLI::ExistingFile);
  pd->excludes(pr)->excludes(ck);
  pr->excludes(ck);

  vuln::CliArgs va;
  CLI::App* vuln_cmd = app.add_subcommand(
      "vuln", "Vulnerabilities: import advisories (OSV, Debian security tracker), match an SBoM against them");
  auto [vuln_import, vuln_scan] = vuln::AddVulnCommands(vuln_cmd, &va);
  add_common(vuln_import, false);
  add_common(vuln_scan, false);

  app.add_subcommand("version", "Print the version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (app.got_subcommand("version")) {
    std::printf("vigil-hub %s\n", VIGIL_VERSION);
    return kExitOk;
  }
  if (app.got_subcommand(config)) return CmdConfig(schema, print_defaults, print_reference, check);

  SetUpLogging("info");
  if (!db_flag.empty()) src.overrides.push_back("hub.db=" + db_flag);
  if (!data_dir_flag.empty()) src.overrides.push_back("hub.data_dir=" + data_dir_flag);
  if (!mqtt_flag.empty()) src.overrides.push_back("mqtt.url=" + mqtt_flag);
  if (!http_flag.empty()) src.overrides.push_back("http.listen=" + http_flag);
  auto loaded = LoadHubConfig(schema, src);
  if (!loaded.ok()) {
    spdlog::error("invalid configuration:\n{}", loaded.status().message());
    return kExitUsage;
  }
  SetUpLogging(loaded->GetString("hub.log_level"));

  if (app.got_subcommand(serve)) return CmdServe(*loaded);
  if (app.got_subcommand(query)) return CmdQuery(*loaded, qa);
  if (app.got_subcommand(devices)) return CmdDevices(*loaded, devices_json);
  if (app.got_subcommand(alerts)) return CmdAlerts(*loaded, aa);
  if (app.got_subcommand(alert_status)) return CmdAlertStatus(*loaded, status_id, status_value, status_note);
  if (app.got_subcommand(vuln_cmd)) {
    return vuln_import->parsed() ? vuln::RunVulnImport(StoreUrl(*loaded), va) : vuln::RunVulnScan(StoreUrl(*loaded), va);
  }
  if (app.got_subcommand(enroll)) return CmdEnroll(*loaded, ea);
  if (app.got_subcommand(revoke)) return CmdRevoke(*loaded, revoke_device, revoke_broker_dir);
  if (app.got_subcommand(broker)) {
    if (bo.hostnames.empty()) bo.hostnames = {"localhost", "127.0.0.1"};
    return CmdBrokerConfig(*loaded, bo, broker_out);
  }
  if (app.got_subcommand(crl)) return CmdCrl(*loaded, crl_broker_dir);
  if (app.got_subcommand(token)) {
    if (token_action != "list" && token_name.empty()) {
      std::fprintf(stderr, "token %s: give the token's name\n", token_action.c_str());
      return kExitUsage;
    }
    return CmdToken(*loaded, token_action, token_name, token_role);
  }
  if (app.got_subcommand(desired)) {
    if (desired_device.empty() == desired_group.empty()) {
      std::fprintf(stderr, "desired: give --device ID or --group NAME\n");
      return kExitUsage;
    }
    return CmdDesired(*loaded, desired_device, desired_group, desired_file, desired_version);
  }
  return kExitUsage;
}

}  // namespace vigil::hub
