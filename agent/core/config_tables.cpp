#include "agent/core/config_tables.h"

namespace vigil {
namespace {

constexpr int64_t kDay = 86'400'000;

constexpr SettingSpec kAgentSettings[] = {
    {"device_id", SettingType::kString, "",
     "Device identity (1-64 of A-Z a-z 0-9 . _ -); empty: /etc/machine-id, else one generated and kept in state_dir"},
    {"state_dir", SettingType::kString, "/var/lib/vigil",
     "Directory for the agent's state (device id, sequence counter); the only place it writes besides outputs"},
    {"log_level", SettingType::kEnum, "info", "Least severe level of the agent's own log (stderr)", 0, 0,
     "trace|debug|info|warn|error"},
    {"bus_capacity", SettingType::kInt, "4096",
     "Events the queue between collectors and the pipeline holds; when full, new events are dropped and counted", 16,
     1 << 20},
};

constexpr SettingSpec kPrioritySettings[] = {
    {"high_interval", SettingType::kDuration, "0s",
     "How long identical high-priority events are aggregated before they are sent (0s: sent at once)", 0, kDay},
    {"medium_interval", SettingType::kDuration, "60s",
     "How long identical medium-priority events are aggregated before they are sent", 0, kDay},
    {"low_interval", SettingType::kDuration, "15m",
     "How long identical low-priority events are aggregated before they are sent", 0, 7 * kDay},
};

constexpr SettingSpec kOutputSettings[] = {
    {"target", SettingType::kString, "stdout",
     "Where events go: stdout (JSON Lines), pretty (readable), jsonl:PATH, or the hub's broker "
     "mqtt://HOST:PORT or mqtts://HOST:PORT (see uplink); `run --output` overrides it"},
    {"jsonl_max_size", SettingType::kSize, "64MB", "A JSON Lines file is rotated when it would grow past this size",
     4096, int64_t{1} << 40},
    {"jsonl_keep", SettingType::kInt, "3", "Rotated JSON Lines files kept (FILE.1 is the newest)", 0, 100},
};

constexpr SettingSpec kStatsSettings[] = {
    {"interval", SettingType::kDuration, "5m",
     "How often the agent reports its own counters, memory and CPU as an agent_stats event", 1000, kDay},
    {"priority", SettingType::kEnum, "low", "Priority of agent_stats events", 0, 0, "high|medium|low|off"},
};

// Added to every collector's own table.
constexpr SettingSpec kCacheEntries = {
    "cache_entries", SettingType::kInt, "256",
    "Distinct events this collector's aggregation cache holds; when full the oldest is sent early", 1, 65536};

}  // namespace

ConfigSchema BuildAgentSchema(std::span<const CollectorDescriptor* const> collectors) {
  ConfigSchema schema;
  schema.AddSection("agent", "The agent itself.", kAgentSettings);
  schema.AddSection("priorities",
                    "Each collector sends at a priority (high, medium, low, or off); each priority has an "
                    "aggregation interval.",
                    kPrioritySettings);
  schema.AddSection("output", "Local event output.", kOutputSettings);
  schema.AddSection("stats", "The agent_stats event: per-collector counters, drops and why, RSS and CPU.",
                    kStatsSettings);
  for (const CollectorDescriptor* d : collectors) {
    std::vector<SettingSpec> specs;
    specs.push_back({"priority", SettingType::kEnum, PriorityName(d->default_priority),
                     "Priority of this collector's events; off disables it", 0, 0, "high|medium|low|off"});
    specs.push_back(kCacheEntries);
    specs.insert(specs.end(), d->settings.begin(), d->settings.end());
    schema.AddSection(std::string(d->name), "Collector: " + std::string(d->help), specs);
  }
  return schema;
}

std::array<int64_t, kPriorityCount> PriorityIntervals(const Config& config) {
  return {config.GetInt("priorities.high_interval"), config.GetInt("priorities.medium_interval"),
          config.GetInt("priorities.low_interval")};
}

}  // namespace vigil
