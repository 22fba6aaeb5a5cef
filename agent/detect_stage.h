// Detection on the device (VIGIL_WITH_DETECT): the detection engine (agent/detect) as the
// pipeline's inspector, so that every event is tested before it is aggregated and an alert is
// written at once, with or without a link to the hub.
//
// Rules: the built-in rules (rules/*.yml, embedded at build time) unless detect.builtin_rules
// is off, the rule files and directories of detect.rules, and the rules generated from the
// allow lists and thresholds of the `detect` section (CustomRules below). Lists: the built-in
// lists, then the files of detect.lists_dir (a file replaces the built-in list of its name),
// then the allow lists of the configuration.
//
// A rule file that cannot be read, or a list directory that cannot be read, is an error that
// stops the start (the configuration names something that is not there). A rule that does not
// load (bad YAML, unknown field...) is logged with its file and line and counted in
// agent_stats (`detect.load_errors`); the other rules run. A reload (SIGHUP, remote
// configuration) builds the stage again: correlation windows start empty.
//
// Threads: Create on any thread; Inspect and Stats on the pipeline thread only.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/core/pipeline.h"
#include "agent/core/settings.h"
#include "agent/detect/detect.h"

namespace vigil {

// Adds the `detect` section to the agent's configuration schema.
void AddDetectSection(ConfigSchema& schema);

// The Sigma text of the rules the `detect` section's allow lists and thresholds ask for (""
// when none is set). Each allow list is a named list (config_allowed_processes, ...) that
// DetectStage::Create loads from the same settings.
std::string CustomRules(const Config& config);

class DetectStage final : public Inspector {
 public:
  // Loads rules and lists as the `detect` section says. nullptr (and no error) when
  // detect.enabled is off.
  static Result<std::unique_ptr<DetectStage>> Create(const Config& config);

  // Tests `e`; its alerts, less those of detect.disabled_rules, are appended to `made`.
  void Inspect(const Event& e, std::vector<Event>* made) override;

  // For agent_stats: rules loaded, load errors, and the engine's counters.
  Json Stats() const;

  const detect::RuleSet& rules() const { return *rules_; }
  const std::vector<std::string>& load_errors() const { return load_errors_; }

 private:
  DetectStage() = default;

  std::shared_ptr<const detect::RuleSet> rules_;
  std::unique_ptr<detect::Engine> engine_;
  std::vector<std::string> load_errors_;  // "file:line: message"
  std::set<std::string, std::less<>> disabled_;  // rule ids and names
  uint64_t disabled_count_ = 0;
};

}  // namespace vigil
