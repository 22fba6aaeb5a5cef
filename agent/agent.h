// Agent: assembles the collectors of this build, the bus and the pipeline from a Config, and
// runs them until stopped.
//
// Threads: each collector may run its own; the pipeline runs on one thread of its own; the
// caller's thread (main) calls Start, Reload and Stop, and waits for signals.
// The output, the device id and the sequence counter live as long as the Agent: a reload
// restarts collectors and pipeline with the new configuration but keeps those (changing
// agent.state_dir, agent.device_id or output.* takes a restart).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/collector.h"
#include "agent/core/pipeline.h"
#include "agent/core/settings.h"
#include "agent/core/state.h"

namespace vigil {

class Agent {
 public:
  Agent(Env& env, std::unique_ptr<Output> output);
  explicit Agent(Env& env);
  // Before Start: where events go.
  void SetOutput(std::unique_ptr<Output> output) { output_ = std::move(output); }
  ~Agent();

  // Resolves identity and sequence (first start only), starts collectors and the pipeline.
  // A collector that is unavailable here is logged and skipped; other errors are returned.
  Status Start(const Config& config);
  // Flushes everything that was collected, stops, and records the sequence counter.
  void Stop();
  // Stops collectors and pipeline (flushing), then starts them again with `config`.
  Status Reload(const Config& config);

  const std::string& device_id() const { return device_id_; }

  // Before Start: the last sequence number the output holds (the spool's). If the last run
  // crashed, numbering resumes right after it instead of after the reserved block, so the
  // hub sees no gap (SequenceCounter::ResumeAfterCrash).
  void SetLastSequenceInOutput(uint64_t last) { last_seq_in_output_ = last; }
  // Adds `name: fn()` to every agent_stats event; fn is called on the pipeline thread.
  void AddStatsSource(std::string name, std::function<Json()> fn) { stats_sources_.emplace_back(std::move(name), std::move(fn)); }

 private:
  struct Running;
  Status StartRunning(const Config& config);
  void StopRunning();

  Env& env_;
  std::unique_ptr<Output> output_;
  std::string device_id_;
  std::unique_ptr<SequenceCounter> seq_;
  std::unique_ptr<Running> running_;
  std::optional<uint64_t> last_seq_in_output_;
  std::vector<std::pair<std::string, std::function<Json()>>> stats_sources_;
};

}  // namespace vigil
