#include "agent/collectors/heartbeat/heartbeat.h"

namespace vigil::heartbeat {

Json HeartbeatData(int64_t uptime_ms) { return Json{{"uptime_s", uptime_ms > 0 ? uptime_ms / 1000 : 0}}; }

HeartbeatCollector::~HeartbeatCollector() { Stop(); }

Status HeartbeatCollector::Start() {
  if (task_ != 0) return Status::Ok();
  const int64_t interval_ms = ctx_.config.GetInt("heartbeat.interval");
  start_mono_ms_ = ctx_.env.clock().MonotonicMs();
  task_ = ctx_.scheduler.Add("heartbeat", interval_ms, start_mono_ms_,
                             [this](int64_t now_mono_ms) { Beat(now_mono_ms); });
  return Status::Ok();
}

void HeartbeatCollector::Stop() {
  ctx_.scheduler.Remove(task_);
  task_ = 0;
}

void HeartbeatCollector::Beat(int64_t now_mono_ms) {
  Event e;
  e.type = "heartbeat";
  e.ts_ms = ctx_.env.clock().NowMs();
  e.data = HeartbeatData(now_mono_ms - start_mono_ms_);
  ctx_.Emit(std::move(e));
}

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
