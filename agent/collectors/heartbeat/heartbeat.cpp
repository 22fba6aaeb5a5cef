#include "agent/collectors/heartbeat/heartbeat.h"

#include <atomic>

namespace vigil::heartbeat {

Json HeartbeatData(int64_t uptime_ms) { return Json{{"uptime_s", uptime_ms > 0 ? uptime_ms / 1000 : 0}}; }

struct HeartbeatCollector::State {
  explicit State(CollectorContext& c) : ctx(c) {}

  void Beat(int64_t now_mono_ms) {
    if (!running.load(std::memory_order_acquire)) return;
    Event e;
    e.type = "heartbeat";
    e.ts_ms = ctx.env.clock().NowMs();
    e.data = HeartbeatData(now_mono_ms - start_mono_ms);
    ctx.Emit(std::move(e));
  }

  CollectorContext& ctx;
  int64_t start_mono_ms = 0;
  std::atomic<bool> running{false};
};

HeartbeatCollector::HeartbeatCollector(CollectorContext& ctx) : state_(std::make_shared<State>(ctx)) {}

HeartbeatCollector::~HeartbeatCollector() { Stop(); }

Status HeartbeatCollector::Start() {
  if (registered_) return Status::Ok();
  CollectorContext& ctx = state_->ctx;
  const int64_t interval_ms = ctx.config.GetInt("heartbeat.interval");
  state_->start_mono_ms = ctx.env.clock().MonotonicMs();
  state_->running.store(true, std::memory_order_release);
  ctx.scheduler.Add("heartbeat", interval_ms, state_->start_mono_ms,
                    [state = state_](int64_t now_mono_ms) { state->Beat(now_mono_ms); });
  registered_ = true;
  return Status::Ok();
}

void HeartbeatCollector::Stop() { state_->running.store(false, std::memory_order_release); }

namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "interval",
     .type = SettingType::kDuration,
     .default_value = "60s",
     .help = "Time between two heartbeats; the first is sent at start.",
     .min = 1'000,
     .max = 86'400'000},
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<HeartbeatCollector>(ctx); }

}  // namespace

extern const CollectorDescriptor kDescriptor = {
    .name = "heartbeat",
    .help = "Periodic liveness event carrying the agent's uptime.",
    .default_priority = Priority::kHigh,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::heartbeat
