#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include "agent/core/config_tables.h"
#include "agent/platform/signals.h"
#ifdef VIGIL_WITH_DETECT
#include "agent/detect_stage.h"
#endif

namespace vigil {
namespace {

constexpr int64_t kReturnFreeMemoryEveryMs = 60'000;

}  // namespace

struct Agent::Running {
  Config config;
#ifdef VIGIL_WITH_DETECT
  std::unique_ptr<DetectStage> detect;  // outlives the pipeline that inspects with it
#endif
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<Pipeline> pipeline;
  std::vector<std::unique_ptr<CollectorStats>> stats;
  std::vector<std::unique_ptr<CollectorContext>> contexts;
  std::vector<std::unique_ptr<Collector>> collectors;
  std::atomic<bool> stop{false};
  std::thread thread;
};

Agent::Agent(Env& env, std::unique_ptr<Output> output) : env_(env), output_(std::move(output)) {}
Agent::Agent(Env& env) : env_(env) {}
Agent::~Agent() { Stop(); }

Status Agent::Start(const Config& config) {
  if (!seq_) {
    const std::string& state_dir = config.GetString("agent.state_dir");
    auto id = ResolveDeviceId(env_, config.GetString("agent.device_id"), state_dir);
    if (!id.ok()) return id.status();
    device_id_ = *id;
    auto seq = SequenceCounter::Open(env_, state_dir);
    if (!seq.ok()) return seq.status();
    seq_ = std::move(*seq);
    if (last_seq_in_output_) seq_->SetTrackedByOutput();
    if (last_seq_in_output_ && seq_->ResumeAfterCrash(*last_seq_in_output_))
      spdlog::info("sequence: resuming at {} after an unclean stop (the spool holds every number before it)",
                   seq_->peek());
  }
  return StartRunning(config);
}

Status Agent::StartRunning(const Config& config) {
  auto r = std::make_unique<Running>();
  r->config = config;
  r->bus = std::make_unique<EventBus>(static_cast<size_t>(config.GetInt("agent.bus_capacity")));
  r->pipeline = std::make_unique<Pipeline>(env_, *r->bus, *output_, *seq_, device_id_, PriorityIntervals(config));
  for (const auto& [name, fn] : stats_sources_) r->pipeline->AddStatsSource(name, fn);
#ifdef VIGIL_WITH_DETECT
  auto detect = DetectStage::Create(config);
  if (!detect.ok()) return detect.status();
  r->detect = std::move(*detect);
  if (r->detect) {
    r->pipeline->SetInspector(r->detect.get());
    r->pipeline->AddStatsSource("detect", [stage = r->detect.get()] { return stage->Stats(); });
  }
#endif

  for (const CollectorDescriptor* d : CompiledCollectors()) {
    const std::string name(d->name);
    auto priority = ParsePriority(config.GetString(name + ".priority"));
    if (!priority.ok() || *priority == Priority::kOff) {
      spdlog::info("collector {}: off", name);
      continue;
    }
    auto stats = std::make_unique<CollectorStats>(name);
    r->pipeline->AddCollector(name, static_cast<size_t>(config.GetInt(name + ".cache_entries")), stats.get());
    auto ctx = std::unique_ptr<CollectorContext>(
        new CollectorContext{r->config, env_, *r->bus, r->pipeline->scheduler(), *stats, *priority});
    std::unique_ptr<Collector> c = d->factory(*ctx);
    Status st = c->Start();
    if (!st.ok()) {
      if (st.code() == Status::Code::kUnavailable) {
        spdlog::warn("collector {}: not available here: {}", name, st.message());
        stats->SetSource("unavailable");
        r->stats.push_back(std::move(stats));  // still reported in agent_stats
        continue;
      }
      for (auto& started : r->collectors) started->Stop();
      return st.WithContext("collector " + name);
    }
    spdlog::info("collector {}: started ({}{})", name, PriorityName(*priority),
                 stats->source().empty() ? "" : ", source " + stats->source());
    r->stats.push_back(std::move(stats));
    r->contexts.push_back(std::move(ctx));
    r->collectors.push_back(std::move(c));
  }
  auto stats_priority = ParsePriority(config.GetString("stats.priority"));
  r->pipeline->AddStatsTask(config.GetInt("stats.interval"), stats_priority.value_or(Priority::kLow));

  // What starting the collectors allocated and freed goes back at once, later scans' leftovers
  // within a minute (platform/signals.h).
  r->pipeline->scheduler().Add("return_free_memory", kReturnFreeMemoryEveryMs, env_.clock().MonotonicMs(),
                               [](int64_t) { ReturnFreeMemory(); });

  Running* raw = r.get();
  r->thread = std::thread([raw] {
    while (!raw->stop.load(std::memory_order_acquire)) raw->pipeline->RunOnce(100);
  });
  running_ = std::move(r);
  return Status::Ok();
}

void Agent::StopRunning() {
  if (!running_) return;
  // Collectors first, so nothing new arrives; then the pipeline writes out what is left.
  for (auto& c : running_->collectors) c->Stop();
  running_->stop.store(true, std::memory_order_release);
  running_->bus->Close();
  if (running_->thread.joinable()) running_->thread.join();
  running_->pipeline->Drain();
  running_.reset();
}

void Agent::Stop() {
  StopRunning();
  if (seq_) {
    Status st = seq_->Close();
    if (!st.ok()) spdlog::error("sequence counter: {}", st.ToString());
    seq_.reset();
  }
}

Status Agent::Reload(const Config& config) {
  StopRunning();
  return StartRunning(config);
}

}  // namespace vigil
