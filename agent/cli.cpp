#include "agent/cli.h"

#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "agent/core/config_tables.h"
#include "agent/core/logging.h"
#include "agent/output/outputs.h"
#include "agent/platform/signals.h"

#ifdef VIGIL_WITH_UPLINK
#include <mutex>
#include <optional>

#include "agent/core/remote_config.h"
#include "agent/core/state.h"
#include "agent/uplink/uplink_config.h"
#endif

#ifdef VIGIL_WITH_DETECT
#include "agent/detect_stage.h"
#include "agent/rules_cli.h"
#endif

#ifdef VIGIL_WITH_SBOM
#include "agent/sbom_cli.h"
#endif

#ifdef VIGIL_WITH_POSTURE
#include "agent/scan_cli.h"
#endif

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil {
namespace {

constexpr const char* kDefaultConfigPath = "/etc/vigil/agent.yml";

struct ConfigSource {
  std::string path;                    // empty: defaults (plus overrides)
  std::vector<std::string> overrides;  // KEY=VALUE from --set
};

// Loads the file (if any) and applies --set overrides. Errors name file, line and key.
Result<Config> LoadConfigFrom(Env& env, const ConfigSchema& schema, const ConfigSource& src) {
  std::string text;
  if (!src.path.empty()) {
    auto read = env.ReadFile(src.path, 4 << 20);
    if (!read.ok()) return read.status();
    text = std::move(*read);
  }
  return LoadConfigWithOverrides(schema, src.path.empty() ? nullptr : &text, src.path, src.overrides);
}

void SetUpLogging(const std::string& level) { SetUpStderrLogging("vigil-agent", level); }

#ifdef VIGIL_WITH_UPLINK
// The uplink side of `run --output mqtt(s)://...`: the spool as the agent's output, the MQTT
// uplink, and remote configuration handed from the uplink thread to the main loop.
class UplinkRun {
 public:
  UplinkRun(Env& env, const ConfigSchema& schema) : env_(env), schema_(schema) {}
  ~UplinkRun() { Stop(); }

  // Opens the spool (returned as the agent's output) and prepares the agent to use it.
  Result<std::unique_ptr<Output>> OpenSpool(const Config& config, Agent& agent) {
    auto options = SpoolOptionsFromConfig(config);
    if (!options.ok()) return options.status();
    auto spool = Spool::Open(env_, *options);
    if (!spool.ok()) return spool.status();
    spool_ = spool->get();
    agent.SetLastSequenceInOutput(spool_->last_seq());
    agent.AddStatsSource("spool", [s = spool_] { return s->StatsJson(); });
    agent.AddStatsSource("uplink", [this] {
      Uplink* u = uplink_.load(std::memory_order_acquire);
      return u ? u->StatsJson() : Json::object();
    });
    return std::unique_ptr<Output>(std::move(*spool));
  }

  Status Start(const Config& config, const std::string& url, const std::string& device_id) {
    UplinkOptions options = UplinkOptionsFromConfig(config, url, device_id);
    options.agent_version = VIGIL_VERSION;
    owned_ = std::make_unique<Uplink>(env_, *spool_, std::move(options), [this](std::string payload) {
      std::lock_guard lock(mu_);
      inbox_ = std::move(payload);
    });
    Status st = owned_->Start();
    if (st.ok()) uplink_.store(owned_.get(), std::memory_order_release);
    return st;
  }

  void Stop() {
    uplink_.store(nullptr, std::memory_order_release);
    if (owned_) owned_->Stop();
  }

  // The desired configuration received since the last call, if any.
  std::optional<std::string> TakeDesired() {
    std::lock_guard lock(mu_);
    std::optional<std::string> out = std::move(inbox_);
    inbox_.reset();
    return out;
  }

  // Validates and applies a desired configuration; reports the outcome either way.
  void HandleDesired(const std::string& payload, const Config& local, Agent& agent) {
    auto desired = ParseDesiredConfig(payload);
    if (!desired.ok()) {
      spdlog::warn("remote configuration refused: {}", desired.status().message());
      Json r{{"version", nullptr},
             {"applied", false},
             {"ts", env_.clock().NowMs()},
             {"invalid", {{{"key", ""}, {"error", desired.status().message()}}}}};
      owned_->PublishReported(r.dump());
      return;
    }
    if (desired->version == last_version_) return;  // the retained copy, delivered again
    last_version_ = desired->version;
    MergedConfig merged = MergeRemoteConfig(schema_, local, *desired);
    if (!merged.ok) {
      std::string why;
      for (const InvalidField& f : merged.invalid) why += "\n  " + (f.key.empty() ? "" : f.key + ": ") + f.error;
      spdlog::warn("remote configuration {} refused, nothing applied:{}", desired->version, why);
    } else {
      Status st = agent.Reload(merged.config);
      if (!st.ok()) {
        spdlog::error("remote configuration {}: {}", desired->version, st.ToString());
        merged.ok = false;
        merged.invalid.push_back({"", st.ToString()});
      } else {
        SetUpLogging(merged.config.GetString("agent.log_level"));
        active_ = *desired;
        spdlog::info("remote configuration {} applied{}", desired->version,
                     merged.pinned.empty() ? "" : " (keys pinned by the local file kept)");
      }
    }
    owned_->PublishReported(ReportedConfig(*desired, merged, env_.clock().NowMs()).dump());
  }

  // After SIGHUP: the new local file with the remote configuration in force merged under it.
  Config Merge(const Config& local) const {
    if (!active_) return local;
    MergedConfig merged = MergeRemoteConfig(schema_, local, *active_);
    return merged.ok ? merged.config : local;
  }

 private:
  Env& env_;
  const ConfigSchema& schema_;
  Spool* spool_ = nullptr;  // owned by the agent (its output)
  std::unique_ptr<Uplink> owned_;
  std::atomic<Uplink*> uplink_{nullptr};  // read by the stats source on the pipeline thread
  std::mutex mu_;
  std::optional<std::string> inbox_;
  std::string last_version_;
  std::optional<DesiredConfig> active_;
};
#endif

int CmdRun(const ConfigSchema& schema, ConfigSource src, const std::string& output_flag, double duration_s) {
  BlockAgentSignals();
  TuneAllocatorForSmallFootprint();
  std::unique_ptr<Env> env = NewPlatformEnv();
  SetUpLogging("info");
  auto config = LoadConfigFrom(*env, schema, src);
  if (!config.ok()) {
    spdlog::error("invalid configuration:\n{}", config.status().message());
    return kExitUsage;
  }
  SetUpLogging(config->GetString("agent.log_level"));
  const std::string target = output_flag.empty() ? config->GetString("output.target") : output_flag;
#ifdef VIGIL_WITH_UPLINK
  std::unique_ptr<UplinkRun> uplink;
  Agent agent(*env);
  if (IsMqttUrl(target)) {
    if (auto url = ParseMqttUrl(target); !url.ok()) {
      spdlog::error("output: {}", url.status().message());
      return kExitUsage;
    }
    uplink = std::make_unique<UplinkRun>(*env, schema);
  }
  auto output = uplink ? uplink->OpenSpool(*config, agent)
                       : OpenOutput(*env, target, static_cast<uint64_t>(config->GetInt("output.jsonl_max_size")),
                                    static_cast<int>(config->GetInt("output.jsonl_keep")), StdoutIsTerminal());
#else
  Agent agent(*env);
  if (target.starts_with("mqtt://") || target.starts_with("mqtts://")) {
    spdlog::error("output {}: the uplink is not compiled into this build (VIGIL_WITH_UPLINK)", target);
    return kExitUsage;
  }
  auto output = OpenOutput(*env, target, static_cast<uint64_t>(config->GetInt("output.jsonl_max_size")),
                           static_cast<int>(config->GetInt("output.jsonl_keep")), StdoutIsTerminal());
#endif
  if (!output.ok()) {
    spdlog::error("output: {}", output.status().message());
    return output.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  agent.SetOutput(std::move(*output));
  Status st = agent.Start(*config);
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return kExitFailure;
  }
#ifdef VIGIL_WITH_UPLINK
  if (uplink) {
    if (Status us = uplink->Start(*config, target, agent.device_id()); !us.ok()) {
      spdlog::error("cannot start: {}", us.ToString());
      agent.Stop();
      return us.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
    }
  }
#endif
  spdlog::info("vigil-agent {} running as device {} (config: {}, output: {})", VIGIL_VERSION, agent.device_id(),
               src.path.empty() ? "defaults" : src.path, target);

  const int64_t deadline =
      duration_s > 0 ? env->clock().MonotonicMs() + static_cast<int64_t>(duration_s * 1000) : INT64_MAX;
  for (;;) {
    int64_t left = deadline - env->clock().MonotonicMs();
    if (left <= 0) break;
    AgentSignal sig = WaitForAgentSignal(static_cast<int>(std::min<int64_t>(left, 200)));
    if (sig == AgentSignal::kStop) {
      spdlog::info("stopping");
      break;
    }
#ifdef VIGIL_WITH_UPLINK
    if (uplink) {
      if (auto desired = uplink->TakeDesired()) uplink->HandleDesired(*desired, *config, agent);
    }
#endif
    if (sig == AgentSignal::kReload) {
      auto fresh = LoadConfigFrom(*env, schema, src);
      if (!fresh.ok()) {
        spdlog::error("reload refused, keeping the running configuration:\n{}", fresh.status().message());
        continue;
      }
      config = std::move(fresh);
      Config effective = *config;
#ifdef VIGIL_WITH_UPLINK
      if (uplink) effective = uplink->Merge(*config);
#endif
      SetUpLogging(effective.GetString("agent.log_level"));
      Status rs = agent.Reload(effective);
      if (!rs.ok()) {
        spdlog::error("reload failed: {}", rs.ToString());
        agent.Stop();
        return kExitFailure;
      }
      spdlog::info("configuration reloaded");
    }
  }
  agent.Stop();
#ifdef VIGIL_WITH_UPLINK
  if (uplink) uplink->Stop();  // sends what it can of what the agent flushed, then disconnects
#endif
  return kExitOk;
}

int CmdConfig(const ConfigSchema& schema, bool print_defaults, bool print_reference, const std::string& check,
              const std::vector<std::string>& overrides) {
  if (print_defaults) {
    std::fputs(schema.DefaultFileText().c_str(), stdout);
    return kExitOk;
  }
#ifdef VIGIL_WITH_CONFIG_REFERENCE
  if (print_reference) {
    std::fputs(schema.ReferenceMarkdown().c_str(), stdout);
    return kExitOk;
  }
#else
  (void)print_reference;
#endif
  if (!check.empty()) {
    std::unique_ptr<Env> env = NewPlatformEnv();
    auto config = LoadConfigFrom(*env, schema, ConfigSource{check, overrides});
    if (!config.ok()) {
      std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
      return kExitUsage;
    }
    std::printf("%s: OK\n", check.c_str());
    return kExitOk;
  }
#ifdef VIGIL_WITH_CONFIG_REFERENCE
  std::fputs("config: give one of --print-defaults, --print-reference, --check FILE (see --help)\n", stderr);
#else
  std::fputs("config: give one of --print-defaults, --check FILE (see --help)\n", stderr);
#endif
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  ConfigSchema schema = BuildAgentSchema(CompiledCollectors());
#ifdef VIGIL_WITH_UPLINK
  AddUplinkSections(schema);
#endif
#ifdef VIGIL_WITH_DETECT
  AddDetectSection(schema);
#endif

  CLI::App app{
      "vigil-agent: security agent for Linux devices.\n"
      "Collects what runs on the device and writes it as JSON events.\n"
      "Exit codes: 0 success, 1 runtime failure, 2 usage error or invalid configuration."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  ConfigSource src;
  std::string output_flag;
  double duration_s = 0;
  CLI::App* run = app.add_subcommand("run", "Run the agent until SIGTERM/SIGINT (SIGHUP reloads the config)");
  run->add_option("-c,--config", src.path,
                  std::string("Configuration file (YAML); default ") + kDefaultConfigPath + " if it exists")
      ->check(CLI::ExistingFile);
  run->add_option(
      "-o,--output", output_flag,
      "Where events go: stdout, pretty, jsonl:PATH, or a hub's broker mqtt://HOST:PORT or mqtts://HOST:PORT "
      "(TLS files in the uplink section; default: output.target)");
  run->add_option("-d,--duration", duration_s, "Stop after this many seconds (0: run until stopped)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--set", src.overrides, "Override a key, e.g. --set process.mode=poll (repeatable)");

  bool print_defaults = false, print_reference = false;
  std::string check;
  std::vector<std::string> check_overrides;
  CLI::App* config = app.add_subcommand("config", "Show or validate configuration");
  auto* pd = config->add_flag("--print-defaults", print_defaults, "Print a commented file with every default");
  auto* ck = config->add_option("--check", check, "Validate FILE: every error with line and key; exit 2 if invalid")
                 ->check(CLI::ExistingFile);
  pd->excludes(ck);
#ifdef VIGIL_WITH_CONFIG_REFERENCE  // not in the minimal build: the docs come from a full one
  auto* pr = config->add_flag("--print-reference", print_reference, "Print the configuration reference (Markdown)");
  pr->excludes(pd)->excludes(ck);
#endif
  config->add_option("--set", check_overrides, "With --check: apply KEY=VALUE overrides too");

  CLI::App* version = app.add_subcommand("version", "Print the version and the compiled-in collectors");
#ifdef VIGIL_WITH_DETECT
  RulesCommand rules(app);
#endif
#ifdef VIGIL_WITH_SBOM
  SbomCommand sbom(app);
#endif
#ifdef VIGIL_WITH_POSTURE
  ScanCommand scan(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (run->parsed()) {
    if (src.path.empty()) {
      if (FILE* f = std::fopen(kDefaultConfigPath, "r")) {
        std::fclose(f);
        src.path = kDefaultConfigPath;
      }
    }
    return CmdRun(schema, src, output_flag, duration_s);
  }
#ifdef VIGIL_WITH_DETECT
  if (rules.parsed()) return rules.Run();
#endif
#ifdef VIGIL_WITH_SBOM
  if (sbom.parsed()) return sbom.Run();
#endif
#ifdef VIGIL_WITH_POSTURE
  if (scan.parsed()) return scan.Run();
#endif
  if (config->parsed()) return CmdConfig(schema, print_defaults, print_reference, check, check_overrides);
  if (version->parsed()) {
    std::printf("vigil-agent %s\ncollectors:", VIGIL_VERSION);
    for (const CollectorDescriptor* d : CompiledCollectors())
      std::printf(" %.*s", static_cast<int>(d->name.size()), d->name.data());
    std::printf("\n");
    return kExitOk;
  }
  return kExitUsage;
}

}  // namespace vigil
