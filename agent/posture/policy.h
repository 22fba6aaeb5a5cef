// Posture policies: what a policy file says, and loading it.
//
// A policy is a YAML file (format written out in full in docs/posture.md, summarised here):
//
//   policy:       {id, name, version, description?}            required
//   requirements: {condition?, rules: [rule...]}                optional: the policy applies
//                                                               only where these hold
//   commands:     [{id, argv: [abs-path, arg...], timeout?}]    the only programs it may run
//   groups:       [{id, title, description?, checks: [check...]}]
//   check:        {id, title, rationale, remediation, severity: low|medium|high|critical,
//                  references: [str...], requirements?, condition?: all|any|none,
//                  rules: [rule...]}
//   rule:         a map with exactly one kind key (file, directory, sysctl, module, mount,
//                 process, package, service, command) and that kind's expectations.
//
// Loading never stops at the first problem: every bad check is reported (file, line, field)
// and left out, and the others load. Unknown keys are errors. The loaded Policy is immutable
// and holds its compiled regular expressions: scanners share one Policy across threads and
// scans (shared_ptr<const Policy>).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/posture/regex.h"

namespace vigil::posture {

enum class Severity { kLow, kMedium, kHigh, kCritical };
std::string_view SeverityName(Severity s);  // "low", "medium", "high", "critical"

// How the results of a list of rules combine (see docs/posture.md, "Conditions").
enum class Condition { kAll, kAny, kNone };
std::string_view ConditionName(Condition c);

enum class CompareOp { kLe, kLt, kGe, kGt, kEq, kNe };
struct Comparison {
  CompareOp op = CompareOp::kEq;
  int64_t bound = 0;
  bool Holds(int64_t value) const;
  std::string ToString() const;  // "<= 4"
};
// Parses "<= 4", ">=14", "== 0", "!= 1"; nullopt when malformed.
std::optional<Comparison> ParseComparison(std::string_view text);

enum class RuleKind { kFile, kDirectory, kSysctl, kModule, kMount, kProcess, kPackage, kService, kCommand };
std::string_view RuleKindName(RuleKind k);

// What a rule's result is when its target (file, sysctl, mount, command...) is missing.
enum class MissingIs { kNotApplicable, kPass, kFail };

struct Rule {
  RuleKind kind = RuleKind::kFile;
  size_t line = 0;  // of the rule in the policy file

  // The target: file paths (a `*`, `?` or `[...]` glob is allowed in the last component),
  // a directory, a sysctl key, a module, a mount point, a process, a service or a command id
  // (in `target`); packages (any of `targets`, also used for files and services).
  std::string target;
  std::vector<std::string> targets;

  std::optional<bool> exists;                   // file, directory
  std::shared_ptr<const Regex> matches;         // file, command, sysctl: a line matches
  std::shared_ptr<const Regex> not_matches;     // file, command, sysctl: no line matches
  std::shared_ptr<const Regex> capture;         // file, command: group 1 of the first match
  std::optional<Comparison> compare;            // with capture; sysctl
  std::optional<int64_t> default_value;         // with capture: when no line matches
  std::optional<std::string> value;             // sysctl: exact value (spaces normalised)
  std::optional<uint32_t> mode_max;             // file: no permission bit beyond these
  std::optional<uint32_t> mode_exact;           // file: exactly these permission bits
  std::vector<std::string> owners;              // file: any of (names or numbers)
  std::vector<std::string> groups;              // file: any of (names or numbers)
  std::shared_ptr<const Regex> contains;        // directory: an entry matches
  std::shared_ptr<const Regex> not_contains;    // directory: no entry matches
  std::optional<bool> loaded;                   // module
  std::optional<bool> loadable;                 // module
  std::vector<std::string> options;             // mount: each present
  std::vector<std::string> not_options;         // mount: none present
  std::optional<bool> separate;                 // mount: a mount of its own
  std::optional<bool> running;                  // process
  std::optional<bool> installed;                // package
  std::optional<bool> enabled;                  // service
  std::optional<int> exit_code;                 // command
  MissingIs missing = MissingIs::kNotApplicable;
};

struct RuleList {
  Condition condition = Condition::kAll;
  std::vector<Rule> rules;
};

struct CommandSpec {
  std::string id;
  std::vector<std::string> argv;  // argv[0] absolute
  int timeout_ms = 10000;
  size_t line = 0;
};

struct Check {
  std::string id;
  std::string title;
  std::string rationale;
  std::string remediation;
  Severity severity = Severity::kMedium;
  std::vector<std::string> references;
  std::string group;  // the id of its group
  std::optional<RuleList> requirements;
  RuleList rules;
  size_t line = 0;
};

struct CheckGroup {
  std::string id;
  std::string title;
  std::string description;
};

struct Policy {
  std::string file;  // as named to the loader
  std::string id;
  std::string name;
  std::string version;
  std::string description;
  std::optional<RuleList> requirements;
  std::vector<CommandSpec> commands;
  std::vector<CheckGroup> groups;
  std::vector<Check> checks;  // in file order; ids unique

  const CommandSpec* FindCommand(std::string_view id) const;
  const Check* FindCheck(std::string_view id) const;
};

// One problem in a policy file. `line` is 1-based (0: not tied to a line); `check` is the id
// of the check left out because of it (empty for a problem outside the checks).
struct PolicyIssue {
  std::string file;
  size_t line = 0;
  std::string check;
  std::string field;  // the key at fault, e.g. "rules[2].compare"
  std::string message;
  std::string ToString() const;  // "file:line: check 'X': field 'Y': message"
};

struct LoadedPolicy {
  std::shared_ptr<const Policy> policy;  // null only when the text is not a YAML map at all
  std::vector<PolicyIssue> issues;
  bool ok() const { return policy != nullptr && issues.empty(); }
};

// Limits on what a policy may hold (larger inputs are refused with an issue).
inline constexpr size_t kMaxPolicyBytes = 4 << 20;
inline constexpr size_t kMaxChecks = 5000;
inline constexpr int kMaxCommandTimeoutMs = 300000;

// Parses and compiles a policy. `file` names the source in issues. Thread-safe (no state).
LoadedPolicy LoadPolicy(std::string_view text, std::string_view file);

}  // namespace vigil::posture
