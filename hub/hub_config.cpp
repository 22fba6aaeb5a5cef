#include "hub/hub_config.h"

namespace vigil::hub {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kDay = 86'400'000;

constexpr SettingSpec kHubSettings[] = {
    {"data_dir", SettingType::kString, "/var/lib/vigil-hub",
     "Directory of the hub's own files: its CA, API tokens, the inbox, and the SQLite store by default"},
    {"db", SettingType::kString, "",
     "The store: sqlite:PATH, or a PostgreSQL URL postgresql://USER@HOST:PORT/DB; empty: sqlite:<data_dir>/hub.db"},
    {"log_level", SettingType::kEnum, "info", "Least severe level of the hub's log (stderr)", 0, 0,
     "trace|debug|info|warn|error"},
};

constexpr SettingSpec kMqttSettings[] = {
    {"url", SettingType::kString, "mqtt://127.0.0.1:1883",
     "The broker: mqtts://HOST:PORT (TLS, the hub's client certificate) or mqtt://HOST:PORT (local use)"},
    {"ca_file", SettingType::kString, "", "mqtts: the CA certificate (PEM) of the broker's certificate"},
    {"cert_file", SettingType::kString, "", "mqtts: the hub's client certificate (PEM, CN vigil-hub)"},
    {"key_file", SettingType::kString, "", "mqtts: the key of the hub's client certificate (PEM)"},
    {"username", SettingType::kString, "", "mqtt: user name for the broker"},
    {"password", SettingType::kString, "", "mqtt: password for the broker"},
    {"client_id", SettingType::kString, "vigil-hub",
     "MQTT client id: the broker keeps this hub's session (and queues messages for it) under it; each hub "
     "process needs its own"},
    {"share_group", SettingType::kString, "vigil-hub",
     "Shared subscription group: hub processes in one group share the devices' messages"},
    {"keepalive", SettingType::kDuration, "30s", "MQTT keepalive", 5 * kSecond, 3600 * kSecond},
    {"session_expiry", SettingType::kDuration, "7d",
     "How long the broker keeps the hub's session, and queues messages for it, while the hub is down", 0, 365 * kDay},
    {"max_message_size", SettingType::kSize, "1023KB", "Largest events message taken (compressed); larger are refused",
     4096, 1047552},
    {"max_raw_size", SettingType::kSize, "8MB",
     "Most JSON one events message may decompress to; a message that expands further is refused", 65536,
     int64_t{64} << 20},
};

constexpr SettingSpec kHttpSettings[] = {
    {"listen", SettingType::kString, "127.0.0.1:8080", "Address and port of the HTTP API and console (HOST:PORT)"},
};

constexpr SettingSpec kDeviceSettings[] = {
    {"silent_after", SettingType::kDuration, "72h",
     "A device heard from for this long (no event, no status) is marked silent", 10 * kSecond, 365 * kDay},
    {"check_interval", SettingType::kDuration, "1m", "How often devices are checked for silence", kSecond, kDay},
};

constexpr SettingSpec kRetentionSettings[] = {
    {"max_age", SettingType::kDuration, "90d", "Events older than this are deleted (0s: kept whatever their age)", 0,
     3650 * kDay},
    {"max_size", SettingType::kSize, "0B",
     "The events' JSON may take at most this much; the oldest go first (0B: no limit)", 0, int64_t{1} << 50},
    {"interval", SettingType::kDuration, "10m", "How often retention runs", kSecond, kDay},
};

constexpr SettingSpec kInboxSettings[] = {
    {"sync", SettingType::kBool, "false",
     "fsync each message taken from the broker before storing it (survives power loss, not just a crash; slower)"},
};

constexpr SettingSpec kAnalyzeSettings[] = {
    {"enabled", SettingType::kBool, "true", "Run the detection rules over the whole fleet's events in the hub"},
    {"rules", SettingType::kList, "",
     "Rule files or directories (*.yml, recursively) the hub loads; empty: the built-in rules (rules/*.yml, "
     "compiled in)"},
    {"lists", SettingType::kString, "",
     "Directory of named list files (threat-intel addresses, ...), one list per file named after it; empty: the "
     "built-in lists (rules/lists, compiled in)"},
    {"alert_rules", SettingType::kList,
     "login_failures_across_devices,threat_intel_address_connection,login_from_threat_intel_address",
     "Ids or names of the rules whose alerts the hub raises (* for every rule); the other rules run on the devices, "
     "which send their own alerts"},
    {"suppress", SettingType::kDuration, "10m",
     "Alerts of one rule and group within this time of the last are counted, not raised again (0s: never "
     "suppressed)",
     0, kDay},
    {"queue", SettingType::kInt, "100000",
     "Events waiting for the analyzer at most; beyond, events are dropped from analysis (still stored) and counted", 1,
     10'000'000},
};

}  // namespace

ConfigSchema BuildHubSchema() {
  ConfigSchema schema;
  schema.AddSection("hub", "The hub itself.", kHubSettings);
  schema.AddSection("mqtt", "The broker the devices publish to.", kMqttSettings);
  schema.AddSection("http", "The HTTP API.", kHttpSettings);
  schema.AddSection("devices", "Device states.", kDeviceSettings);
  schema.AddSection("retention", "How long raw events are kept.", kRetentionSettings);
  schema.AddSection("analyze",
                    "Detection in the hub (hub/analyze): fleet rules over every device's events, and threat-intel "
                    "lists applied fleet-wide. Rules and lists are read again on SIGHUP and POST "
                    "/api/v1/rules/reload.",
                    kAnalyzeSettings);
  schema.AddSection("inbox", "Messages taken from the broker, kept on disk until stored (hub/ingest/inbox.h).",
                    kInboxSettings);
  return schema;
}

std::string StoreUrl(const Config& config) {
  const std::string& db = config.GetString("hub.db");
  if (!db.empty()) return db;
  return "sqlite:" + config.GetString("hub.data_dir") + "/hub.db";
}

}  // namespace vigil::hub
