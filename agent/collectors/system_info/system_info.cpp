#include "agent/collectors/system_info/system_info.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "agent/collectors/system_info/sysinfo_parse.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

namespace vigil::system_info {
namespace {

constexpr size_t kSmallFile = 4 << 10;
constexpr size_t kTextFile = 64 << 10;
constexpr size_t kProcFile = 1 << 20;

// The file's content, or nullopt when it cannot be read.
std::optional<std::string> Read(Env& env, const std::string& path, size_t max_bytes) {
  Result<std::string> r = env.ReadFile(path, max_bytes);
  if (!r.ok()) return std::nullopt;
  return std::move(r).value();
}

// A sysfs/procfs one-value file, sanitised; empty when unreadable or blank.
std::string ReadValue(Env& env, const std::string& path) {
  std::optional<std::string> s = Read(env, path, kSmallFile);
  return s ? SanitizeText(*s) : std::string();
}

void PutIfNotEmpty(Json& obj, const char* key, std::string value) {
  if (!value.empty()) obj[key] = std::move(value);
}

// os-release keys copied into the event, lower-cased.
constexpr std::string_view kOsReleaseKeys[] = {
    "ID",       "ID_LIKE",    "NAME",     "PRETTY_NAME",   "VERSION", "VERSION_ID", "VERSION_CODENAME",
    "BUILD_ID", "VARIANT_ID", "IMAGE_ID", "IMAGE_VERSION",
};

Json CollectOs(Env& env) {
  std::optional<std::string> text = Read(env, "/etc/os-release", kTextFile);
  if (!text) text = Read(env, "/usr/lib/os-release", kTextFile);
  Json os = Json::object();
  if (!text) return os;
  const std::map<std::string, std::string> fields = ParseOsRelease(*text);
  for (std::string_view key : kOsReleaseKeys) {
    auto it = fields.find(std::string(key));
    if (it == fields.end() || it->second.empty()) continue;
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    os[lower] = it->second;
  }
  return os;
}

Json CollectKernel(Env& env, Json& data) {
  Json kernel = Json::object();
  const std::vector<std::string> u = env.Uname();
  if (u.size() >= 1) PutIfNotEmpty(kernel, "name", SanitizeText(u[0]));
  if (u.size() >= 2) PutIfNotEmpty(kernel, "release", SanitizeText(u[1]));
  if (u.size() >= 3) PutIfNotEmpty(kernel, "version", SanitizeText(u[2]));
  if (u.size() >= 4) PutIfNotEmpty(data, "architecture", SanitizeText(u[3]));
  return kernel;
}

Json CollectHardware(Env& env, const CpuInfo& cpu) {
  Json hw = Json::object();
  const std::string dmi = "/sys/class/dmi/id/";
  std::string vendor = ReadValue(env, dmi + "sys_vendor");
  std::string model = ReadValue(env, dmi + "product_name");
  const std::string board_vendor = ReadValue(env, dmi + "board_vendor");
  const std::string board_name = ReadValue(env, dmi + "board_name");
  if (vendor.empty()) vendor = board_vendor;
  if (model.empty()) model = board_name;
  if (!vendor.empty() || !model.empty()) {
    hw["source"] = "dmi";
    PutIfNotEmpty(hw, "vendor", vendor);
    PutIfNotEmpty(hw, "model", model);
    PutIfNotEmpty(hw, "version", ReadValue(env, dmi + "product_version"));
    PutIfNotEmpty(hw, "board_vendor", board_vendor);
    PutIfNotEmpty(hw, "board_name", board_name);
    PutIfNotEmpty(hw, "bios_version", ReadValue(env, dmi + "bios_version"));
  }

  // Device tree (ARM, MIPS, RISC-V boards without DMI).
  std::optional<std::string> dt_model = Read(env, "/proc/device-tree/model", kSmallFile);
  if (!dt_model) dt_model = Read(env, "/sys/firmware/devicetree/base/model", kSmallFile);
  std::optional<std::string> dt_compat = Read(env, "/proc/device-tree/compatible", kSmallFile);
  if (!dt_compat) dt_compat = Read(env, "/sys/firmware/devicetree/base/compatible", kSmallFile);
  const std::vector<std::string> compatible = dt_compat ? ParseNulList(*dt_compat) : std::vector<std::string>();
  if (!compatible.empty()) hw["compatible"] = compatible;
  if (!hw.contains("source")) {
    // The model property is a single NUL-terminated string.
    std::string dt_model_text;
    if (dt_model) {
      const std::string_view raw = *dt_model;
      dt_model_text = SanitizeText(raw.substr(0, raw.find('\0')));
    }
    std::string dt_vendor = compatible.empty() ? "" : CompatibleVendor(compatible.front());
    if (!dt_model_text.empty() || !dt_vendor.empty()) {
      hw["source"] = "devicetree";
      PutIfNotEmpty(hw, "vendor", std::move(dt_vendor));
      PutIfNotEmpty(hw, "model", std::move(dt_model_text));
    } else if (!cpu.board_model.empty()) {
      hw["source"] = "cpuinfo";
      hw["model"] = cpu.board_model;
    }
  }
  return hw;
}

Json CollectCpu(Env& env, const std::optional<std::string>& cpuinfo_text, CpuInfo* cpu) {
  Json out = Json::object();
  if (cpuinfo_text) *cpu = ParseCpuInfo(*cpuinfo_text);
  PutIfNotEmpty(out, "model", cpu->model);
  PutIfNotEmpty(out, "vendor", cpu->vendor);
  PutIfNotEmpty(out, "hardware", cpu->hardware);
  int count = cpu->count;
  if (count == 0) {
    if (std::optional<std::string> online = Read(env, "/sys/devices/system/cpu/online", kSmallFile)) {
      count = ParseCpuListCount(*online).value_or(0);
    }
  }
  if (count > 0) out["count"] = count;
  return out;
}

// The interface an address label belongs to: IPv4 aliases are labelled "eth0:1".
std::string BaseInterface(std::string_view label) { return std::string(label.substr(0, label.find(':'))); }

Json CollectNics(Env& env, InterfaceAddressSource* addrs, const SnapshotOptions& opts, Json& data) {
  struct Nic {
    std::vector<std::string> ipv4, ipv6;
    size_t omitted = 0;
  };
  std::map<std::string, Nic> nics;  // sorted by name
  if (Result<std::vector<std::string>> names = env.ListDir("/sys/class/net"); names.ok()) {
    for (const std::string& n : *names) {
      if (!n.empty()) nics[n];
    }
  }
  if (addrs != nullptr) {
    if (Result<std::vector<InterfaceAddress>> list = addrs->List(); list.ok()) {
      for (const InterfaceAddress& a : *list) {
        const std::string base = BaseInterface(a.interface);
        if (base.empty() || a.address.empty()) continue;
        Nic& nic = nics[base];
        std::vector<std::string>* dst = a.family == 4 ? &nic.ipv4 : a.family == 6 ? &nic.ipv6 : nullptr;
        if (dst == nullptr) continue;
        if (dst->size() >= opts.max_addresses) {
          ++nic.omitted;
          continue;
        }
        std::string text = SanitizeText(a.address);
        if (a.prefix_len >= 0) text += "/" + std::to_string(a.prefix_len);
        dst->push_back(std::move(text));
      }
    }
  }

  Json out = Json::array();
  size_t omitted = 0;
  for (auto& [name, nic] : nics) {
    if (out.size() >= opts.max_nics) {
      ++omitted;
      continue;
    }
    Json j = Json::object();
    j["name"] = SanitizeText(name);
    const std::string dir = "/sys/class/net/" + name + "/";
    if (std::optional<std::string> mac = Read(env, dir + "address", kSmallFile)) {
      PutIfNotEmpty(j, "mac", NormalizeMac(*mac));
    }
    PutIfNotEmpty(j, "operstate", ReadValue(env, dir + "operstate"));
    if (std::optional<std::string> mtu = Read(env, dir + "mtu", kSmallFile)) {
      if (std::optional<int64_t> v = ParseDecimal(*mtu); v && *v > 0) j["mtu"] = *v;
    }
    if (!nic.ipv4.empty()) j["ipv4"] = std::move(nic.ipv4);
    if (!nic.ipv6.empty()) j["ipv6"] = std::move(nic.ipv6);
    if (nic.omitted > 0) j["addresses_omitted"] = nic.omitted;
    out.push_back(std::move(j));
  }
  if (omitted > 0) data["nics_omitted"] = omitted;
  return out;
}

}  // namespace

std::string_view AgentVersion() { return VIGIL_VERSION; }

Json CollectSnapshot(Env& env, InterfaceAddressSource* addrs, const SnapshotOptions& opts) {
  Json data = Json::object();
  PutIfNotEmpty(data, "hostname", SanitizeText(env.Hostname()));

  Json kernel = CollectKernel(env, data);
  if (!kernel.empty()) data["kernel"] = std::move(kernel);

  Json os = CollectOs(env);
  if (!os.empty()) data["os"] = std::move(os);

  const std::optional<std::string> cpuinfo = Read(env, "/proc/cpuinfo", kProcFile);
  CpuInfo cpu;
  Json cpu_json = CollectCpu(env, cpuinfo, &cpu);

  Json hw = CollectHardware(env, cpu);
  if (!hw.empty()) data["hardware"] = std::move(hw);
  if (!cpu_json.empty()) data["cpu"] = std::move(cpu_json);

  if (std::optional<std::string> meminfo = Read(env, "/proc/meminfo", kTextFile)) {
    if (std::optional<uint64_t> total = ParseMemTotalBytes(*meminfo)) data["memory_total_bytes"] = *total;
  }
  if (std::optional<std::string> stat = Read(env, "/proc/stat", kProcFile)) {
    if (std::optional<int64_t> btime = ParseBootTime(*stat)) data["boot_ts"] = *btime * 1000;
  }

  Json nics = CollectNics(env, addrs, opts, data);
  if (!nics.empty()) data["nics"] = std::move(nics);

  PutIfNotEmpty(data, "agent_version", SanitizeText(opts.agent_version));
  return data;
}

SystemInfoCollector::SystemInfoCollector(CollectorContext& ctx, std::unique_ptr<InterfaceAddressSource> addrs)
    : ctx_(ctx), addrs_(std::move(addrs)) {}

SystemInfoCollector::~SystemInfoCollector() { Stop(); }

Status SystemInfoCollector::Start() {
  if (task_ != 0) return Status::Ok();
  const int64_t interval_ms = ctx_.config.GetInt("system_info.interval");
  opts_.max_nics = static_cast<size_t>(ctx_.config.GetInt("system_info.max_nics"));
  opts_.agent_version = std::string(AgentVersion());
  task_ = ctx_.scheduler.Add("system_info", interval_ms, ctx_.env.clock().MonotonicMs(),
                             [this](int64_t /*now_mono_ms*/) { Snapshot(); });
  return Status::Ok();
}

void SystemInfoCollector::Stop() {
  ctx_.scheduler.Remove(task_);
  task_ = 0;
}

void SystemInfoCollector::Snapshot() {
  Event e;
  e.type = "system_info";
  e.action = "snapshot";
  e.ts_ms = ctx_.env.clock().NowMs();
  e.data = CollectSnapshot(ctx_.env, addrs_.get(), opts_);
  ctx_.Emit(std::move(e));
}

namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "interval",
     .type = SettingType::kDuration,
     .default_value = "1h",
     .help = "How often the snapshot is sent again after the one sent at start.",
     .min = 60'000,
     .max = 7 * 86'400'000LL},
    {.key = "max_nics",
     .type = SettingType::kInt,
     .default_value = "64",
     .help = "Most network interfaces listed in one snapshot, by name order; the number left "
             "out is sent as nics_omitted.",
     .min = 1,
     .max = 4096},
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) {
  return std::make_unique<SystemInfoCollector>(ctx, NewPlatformInterfaceAddressSource());
}

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "system_info",
    .help =
        "Host inventory (OS, kernel, hardware, CPU, memory, network interfaces), sent at "
        "start and every interval.",
    .default_priority = Priority::kLow,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::system_info
