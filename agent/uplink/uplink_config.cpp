#include "agent/uplink/uplink_config.h"

namespace vigil {
namespace {

constexpr int64_t kHour = 3'600'000;

constexpr SettingSpec kUplinkSettings[] = {
    {"ca_file", SettingType::kString, "", "mqtts: the CA certificate (PEM) that issued the broker's certificate"},
    {"cert_file", SettingType::kString, "", "mqtts: this device's client certificate (PEM)"},
    {"key_file", SettingType::kString, "", "mqtts: the private key of the client certificate (PEM)"},
    {"username", SettingType::kString, "",
     "mqtt: user name for the broker (plain TCP is for local use; use mqtts with certificates otherwise)"},
    {"password", SettingType::kString, "", "mqtt: password for the broker"},
    {"client_id", SettingType::kString, "", "MQTT client id; empty: vigil-<device id>"},
    {"keepalive", SettingType::kDuration, "60s", "MQTT keepalive: how soon a dead connection is noticed", 5000,
     kHour},
    {"max_message_size", SettingType::kSize, "256KB",
     "Largest events message (compressed); a message carries as many events as fit", 4096, 64 << 20},
    {"compression", SettingType::kEnum, "zstd", "Events messages are compressed with zstd, or sent as plain JSON",
     0, 0, "zstd|none"},
    {"compression_level", SettingType::kInt, "3", "zstd level: higher packs more events per message for more CPU",
     1, 19},
    {"max_inflight", SettingType::kInt, "4", "Events messages sent and not yet acknowledged, at most", 1, 64},
    {"reconnect_min", SettingType::kDuration, "1s", "First wait before connecting again after a failure", 100,
     kHour},
    {"reconnect_max", SettingType::kDuration, "60s",
     "Longest wait between attempts (the wait doubles from reconnect_min, with jitter)", 100, 24 * kHour},
};

constexpr SettingSpec kSpoolSettings[] = {
    {"dir", SettingType::kString, "", "Directory of the spool's segment files; empty: <agent.state_dir>/spool"},
    {"max_size", SettingType::kSize, "16MB",
     "Disk the spool may use; when full, the oldest low-priority events go first (counted in agent_stats)",
     128 << 10, int64_t{1} << 40},
    {"segment_size", SettingType::kSize, "1MB",
     "Size of one segment file (at most an eighth of max_size is used)", 16 << 10, 64 << 20},
    {"sync", SettingType::kEnum, "interval",
     "When appended events are fsynced: after every write round (always), every sync_interval, or never (tmpfs)", 0,
     0, "always|interval|never"},
    {"sync_interval", SettingType::kDuration, "200ms",
     "With sync interval: how often; events are sent only once synced, so this adds to their delay", 10, 60'000},
};

}  // namespace

void AddUplinkSections(ConfigSchema& schema) {
  schema.AddSection("uplink",
                    "Sending events to the hub over MQTT (run --output mqtt://HOST:PORT or mqtts://HOST:PORT).",
                    kUplinkSettings);
  schema.AddSection("spool", "The persistent outbox on disk that events wait in until the broker has them.",
                    kSpoolSettings);
}

Result<SpoolOptions> SpoolOptionsFromConfig(const Config& config) {
  SpoolOptions o;
  o.dir = config.GetString("spool.dir");
  if (o.dir.empty()) o.dir = config.GetString("agent.state_dir") + "/spool";
  o.max_bytes = static_cast<uint64_t>(config.GetInt("spool.max_size"));
  o.segment_bytes = static_cast<uint64_t>(config.GetInt("spool.segment_size"));
  auto sync = ParseSpoolSync(config.GetString("spool.sync"));
  if (!sync.ok()) return sync.status();
  o.sync = *sync;
  o.sync_interval_ms = config.GetInt("spool.sync_interval");
  return o;
}

UplinkOptions UplinkOptionsFromConfig(const Config& config, std::string url, std::string device_id) {
  UplinkOptions o;
  o.url = std::move(url);
  o.device_id = std::move(device_id);
  o.client_id = config.GetString("uplink.client_id");
  o.ca_file = config.GetString("uplink.ca_file");
  o.cert_file = config.GetString("uplink.cert_file");
  o.key_file = config.GetString("uplink.key_file");
  o.username = config.GetString("uplink.username");
  o.password = config.GetString("uplink.password");
  o.keepalive_s = static_cast<int>(config.GetInt("uplink.keepalive") / 1000);
  o.max_message_bytes = static_cast<size_t>(config.GetInt("uplink.max_message_size"));
  o.compress = config.GetString("uplink.compression") == "zstd";
  o.compression_level = static_cast<int>(config.GetInt("uplink.compression_level"));
  o.max_inflight = static_cast<int>(config.GetInt("uplink.max_inflight"));
  o.reconnect_min_ms = config.GetInt("uplink.reconnect_min");
  o.reconnect_max_ms = std::max(config.GetInt("uplink.reconnect_max"), o.reconnect_min_ms);
  return o;
}

}  // namespace vigil
