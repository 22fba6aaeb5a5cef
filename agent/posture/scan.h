// Running a posture policy against a system: the live one (root "/") or a root file system
// (a directory holding an unpacked image or a prepared test tree).
//
// Every file a rule names is read under the root: a rule for /etc/shadow reads
// <root>/etc/shadow, a sysctl reads <root>/proc/sys/..., the mount table
// <root>/proc/self/mounts (else <root>/proc/mounts), processes <root>/proc/<pid>. Symbolic
// links inside the root that point to absolute paths are followed as the kernel follows them
// (on the live system the same thing; under another root, to the host's file).
//
// A scan is a plain function of (policy, target): it keeps what it read (mount table,
// package inventory, command output...) only for the duration of the call, so a periodic
// scanner calls RunScan again with the same shared Policy. Scans of one Policy may run on
// several threads at once; a ScanTarget's Env and CommandRunner must then be thread-safe
// (the platform ones are).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/platform/command_runner.h"
#include "agent/platform/env.h"
#include "agent/posture/policy.h"

namespace vigil::posture {

// The result of a rule or a check (docs/posture.md, "Results"):
//   pass / fail      the expectation holds or not;
//   not_applicable   its target is missing here (no sshd_config, no /proc/sys key, no
//                    package database, a requirement not met);
//   error            the target is there but could not be read (permission, I/O, a command
//                    that timed out, a pattern over its match limit).
enum class Outcome { kPass, kFail, kNotApplicable, kError };
std::string_view OutcomeName(Outcome o);  // "pass", "fail", "not_applicable", "error"

// Evidence is bounded: what a rule found (file:line and the line, the value read, the path
// that is missing), cut at this many bytes; a check's evidence joins its rules', cut at
// kMaxCheckEvidenceBytes.
inline constexpr size_t kMaxEvidenceBytes = 256;
inline constexpr size_t kMaxCheckEvidenceBytes = 1024;
// Files are read up to this size (a larger file is read in part, and the evidence says so).
inline constexpr size_t kMaxFileBytes = 4 << 20;
// A command's standard output is kept up to this size.
inline constexpr size_t kMaxCommandOutputBytes = 256 << 10;

struct RuleResult {
  Outcome outcome = Outcome::kError;
  std::string evidence;
};

struct CheckResult {
  const Check* check = nullptr;  // in the report's policy
  Outcome outcome = Outcome::kError;
  std::string evidence;
  std::vector<RuleResult> rules;  // one per rule of the check (empty when a requirement failed)
};

struct ScanSummary {
  size_t pass = 0;
  size_t fail = 0;
  size_t not_applicable = 0;
  size_t error = 0;
  // pass / (pass + fail) in percent; nullopt when no check passed or failed.
  std::optional<double> Score() const;
};

struct ScanReport {
  std::shared_ptr<const Policy> policy;
  std::string root;
  int64_t started_ms = 0;   // wall clock, ms since the epoch
  int64_t duration_ms = 0;  // monotonic
  std::vector<CheckResult> results;  // in the policy's order
  ScanSummary summary;
};

struct ScanTarget {
  Env* env = nullptr;  // required
  std::string root = "/";
  // Runs the policy's declared commands; null: command rules are not_applicable (the CLI
  // gives none when the root is not "/": a host's program says nothing about an image).
  CommandRunner* runner = nullptr;
};

struct ScanOptions {
  // Only these check ids (empty: all). Unknown ids are the caller's to report.
  std::vector<std::string> only;
  // Called before each check is evaluated, with its index among those run and their count.
  std::function<void(size_t index, size_t total, const Check& check)> progress;
};

ScanReport RunScan(std::shared_ptr<const Policy> policy, const ScanTarget& target, const ScanOptions& options = {});

// The report as JSON (docs/posture.md, "JSON output"): policy {id, name, version}, root,
// started_ms, duration_ms, summary {pass, fail, not_applicable, error, score}, and results
// [{id, title, group, severity, references, result, evidence, rules: [{kind, target, line,
// result, evidence}], rationale, remediation}]. With include_texts false, rationale and
// remediation are left out (an event carries ids; the hub has the texts).
nlohmann::json ReportToJson(const ScanReport& report, bool include_texts = true);

}  // namespace vigil::posture
