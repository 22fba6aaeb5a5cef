#include "agent/core/pipeline.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vigil {

Pipeline::Pipeline(Env& env, EventBus& bus, Output& output, SequenceCounter& seq, std::string device_id,
                   std::array<int64_t, kPriorityCount> intervals_ms)
    : env_(env),
      bus_(bus),
      output_(output),
      seq_(seq),
      device_id_(std::move(device_id)),
      aggregator_(intervals_ms, env.clock().MonotonicMs(), [this](Event&& e) { Write(std::move(e)); }),
      started_mono_ms_(env.clock().MonotonicMs()) {}

void Pipeline::AddCollector(const std::string& name, size_t cache_entries, CollectorStats* stats) {
  aggregator_.AddCollector(name, cache_entries, stats);
  stats_by_collector_[name] = stats;
}

void Pipeline::Write(Event&& e) {
  e.device = device_id_;
  e.seq = seq_.Next();
  if (auto it = stats_by_collector_.find(e.collector); it != stats_by_collector_.end())
    it->second->emitted.fetch_add(1, std::memory_order_relaxed);
  ++emitted_;
  wrote_ = true;
  Status st = output_.Write(e);
  if (!st.ok()) NoteOutputError(st);
}

void Pipeline::NoteOutputError(const Status& st) {
  // Log the first failure and every change of error, not every event.
  if (output_errors_ == 0 || st.message() != last_output_error_.message())
    spdlog::error("output: {} (events are being lost; counted in agent_stats)", st.ToString());
  ++output_errors_;
  last_output_error_ = st;
}

void Pipeline::EmitNow(Event&& e) {
  if (e.ts_ms == 0) e.ts_ms = env_.clock().NowMs();
  Write(std::move(e));
}

void Pipeline::Take() {
  for (Event& e : batch_) {
    if (inspector_ != nullptr && e.inspection != Inspection::kSkip) {
      e.device = device_id_;
      made_.clear();
      inspector_->Inspect(e, &made_);
      for (Event& m : made_) Write(std::move(m));
    }
    if (e.inspection == Inspection::kOnly) continue;
    aggregator_.Add(std::move(e));
  }
}

void Pipeline::RunOnce(int64_t max_wait_ms) {
  const int64_t now = env_.clock().MonotonicMs();
  int64_t wait = std::min(max_wait_ms, aggregator_.NextDeadline() - now);
  wait = std::max<int64_t>(wait, 0);
  batch_.clear();
  bus_.PopAll(&batch_, std::chrono::milliseconds(wait));
  Take();
  const int64_t after = env_.clock().MonotonicMs();
  aggregator_.Tick(after);
  scheduler_.RunDue(after);
  if (wrote_) {
    wrote_ = false;
    Status st = output_.Flush();
    if (!st.ok()) NoteOutputError(st);
  }
}

void Pipeline::Drain() {
  batch_.clear();
  bus_.PopAll(&batch_, std::chrono::milliseconds(0));
  Take();
  aggregator_.FlushAll();
  wrote_ = false;
  Status st = output_.Flush();
  if (!st.ok()) spdlog::error("output: flush failed: {}", st.ToString());
}

void Pipeline::AddStatsTask(int64_t interval_ms, Priority priority) {
  if (priority == Priority::kOff) return;
  scheduler_.Add("agent_stats", interval_ms, env_.clock().MonotonicMs() + interval_ms,
                 [this, priority](int64_t) { EmitNow(MakeStatsEvent(priority)); });
}

Event Pipeline::MakeStatsEvent(Priority priority) {
  Event e;
  e.type = "agent_stats";
  e.priority = priority;
  e.collector = "agent";
  Json collectors = Json::array();
  for (const auto& [_, s] : stats_by_collector_) collectors.push_back(s->ToJson());
  e.data["collectors"] = std::move(collectors);
  e.data["bus"] = {{"capacity", bus_.capacity()},
                   {"dropped", bus_.dropped()},
                   {"high_watermark", bus_.high_watermark()}};
  e.data["aggregator_held"] = aggregator_.held();
  e.data["events_emitted"] = emitted_;
  e.data["output_errors"] = output_errors_;
  e.data["rss_bytes"] = env_.SelfRssBytes();
  e.data["cpu_ms"] = env_.SelfCpuMs();
  e.data["uptime_s"] = (env_.clock().MonotonicMs() - started_mono_ms_) / 1000;
  for (const auto& [name, fn] : stats_sources_) e.data[name] = fn();
  return e;
}

}  // namespace vigil
