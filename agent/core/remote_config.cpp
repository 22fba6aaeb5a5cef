#include "agent/core/remote_config.h"

namespace vigil {

Result<DesiredConfig> ParseDesiredConfig(std::string_view payload) {
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("desired configuration: not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("desired configuration: expected a JSON object");
  DesiredConfig d;
  auto version = j.find("version");
  if (version == j.end()) return Status::InvalidArgument("desired configuration: 'version' is missing");
  if (version->is_string() && !version->get_ref<const std::string&>().empty() &&
      version->get_ref<const std::string&>().size() <= 128) {
    d.version = version->get<std::string>();
  } else if (version->is_number_unsigned()) {
    d.version = std::to_string(version->get<uint64_t>());
  } else {
    return Status::InvalidArgument(
        "desired configuration: 'version' must be a non-empty string (at most 128 characters) or a non-negative "
        "integer");
  }
  auto config = j.find("config");
  if (config == j.end()) return Status::InvalidArgument("desired configuration: 'config' is missing");
  if (!config->is_object()) return Status::InvalidArgument("desired configuration: 'config' must be an object");
  d.config = std::move(*config);
  return d;
}

bool IsLocalOnlyKey(std::string_view key) {
  return key == "agent.device_id" || key == "agent.state_dir" || key.starts_with("output.") ||
         key.starts_with("uplink.") || key.starts_with("spool.");
}

namespace {

// LoadConfig reports "origin:LINE:COL: key 'a.b': why" or "origin:LINE:COL: why", one per line.
std::vector<InvalidField> SplitErrors(std::string_view all) {
  std::vector<InvalidField> out;
  while (!all.empty()) {
    size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
    InvalidField f;
    size_t k = line.find("key '");
    size_t end = k == std::string_view::npos ? k : line.find('\'', k + 5);
    if (end != std::string_view::npos) f.key = std::string(line.substr(k + 5, end - k - 5));
    // Drop the origin and position: the document has no lines worth naming.
    size_t at = line.find(": ");
    f.error = std::string(at == std::string_view::npos ? line : line.substr(at + 2));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

MergedConfig MergeRemoteConfig(const ConfigSchema& schema, const Config& local, const DesiredConfig& desired) {
  MergedConfig m;
  for (const auto& [section, keys] : desired.config.items()) {
    if (!keys.is_object()) continue;  // LoadConfig names it
    for (const auto& [key, _] : keys.items()) {
      const std::string full = section + "." + key;
      if (IsLocalOnlyKey(full) && schema.Find(full))
        m.invalid.push_back({full, "set only in the device's local configuration file"});
    }
  }
  auto loaded = LoadConfig(schema, desired.config.dump(), "remote configuration " + desired.version);
  if (!loaded.ok()) {
    for (InvalidField& f : SplitErrors(loaded.status().message())) m.invalid.push_back(std::move(f));
  }
  if (!m.invalid.empty()) return m;
  m.config = std::move(*loaded);
  for (const SettingsSection& section : schema.sections()) {
    for (const SettingSpec& spec : section.specs) {
      const std::string full = section.name + "." + std::string(spec.key);
      const bool remote = m.config.IsSet(full);
      if (local.IsSet(full) || IsLocalOnlyKey(full)) {
        if (remote) m.pinned.push_back(full);
        m.config.TakeFrom(local, full);
      }
    }
  }
  m.ok = true;
  return m;
}

Json ReportedConfig(const DesiredConfig& desired, const MergedConfig& merged, int64_t now_ms) {
  Json r{{"version", desired.version}, {"applied", merged.ok}, {"ts", now_ms}};
  if (merged.ok) {
    Json config = desired.config;
    for (const std::string& key : merged.pinned) {
      size_t dot = key.find('.');
      auto section = config.find(key.substr(0, dot));
      if (section != config.end() && section->is_object()) section->erase(key.substr(dot + 1));
    }
    r["config"] = std::move(config);
    r["pinned"] = merged.pinned;
  } else {
    Json invalid = Json::array();
    for (const InvalidField& f : merged.invalid) invalid.push_back({{"key", f.key}, {"error", f.error}});
    r["invalid"] = std::move(invalid);
  }
  return r;
}

}  // namespace vigil
