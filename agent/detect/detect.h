// The detection engine: Sigma rules and Sigma correlation rules over Vigil events.
//
// The rule format Vigil accepts (a Sigma subset, its field mapping, the condition grammar,
// correlations, named lists and placeholders) is written out in docs/rules.md; the condition
// grammar is also in agent/detect/condition.h and the list file format in lists.h.
//
// Two objects:
//   RuleSet  the rules, parsed from YAML text and compiled once: grouped by event (type,
//            action), field paths resolved against the event schema, values compiled to
//            matchers (literals, wildcards, PCRE2 regular expressions, networks), and per
//            group one Aho-Corasick automaton over every rule's required literals that picks
//            the candidate rules of an event in one pass over its text fields. Immutable once
//            loaded; shared (std::shared_ptr<const RuleSet>) by any number of engines and
//            threads.
//   Engine   evaluates events against a RuleSet and produces alerts; holds the state that
//            changes: correlation windows per (correlation, group), alert suppression, and
//            scratch buffers so that evaluating an event does not allocate in the common case
//            (no candidate rule, or a candidate that does not match). One Engine per thread:
//            an Engine is not thread-safe. Two engines never share state (the hub runs one per
//            ingest thread, or one over the whole fleet).
//
// Errors are values. RuleSet::Load never throws and never stops at the first bad rule: each
// document that fails (bad YAML, unknown modifier, unsupported log source, unknown field, bad
// condition...) is reported as a LoadIssue naming file, line and what is wrong, and every good
// rule is loaded. Named lists a rule refers to but that are not loaded are warnings (the rule
// loads and the list matches nothing until it is set).
//
// OS-free: this library parses text handed to it; reading rule and list files is done by the
// small helpers in agent/detect/files.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/status.h"
#include "agent/detect/lists.h"

namespace vigil::schema {
class Schema;
}

namespace vigil::detect {

namespace internal {
struct CorrRef;
}

// One rule file's text. `name` is used in messages only (normally the path).
struct RuleSource {
  std::string name;
  std::string text;
};

// A rule that failed to load, or a warning about one that loaded.
struct LoadIssue {
  std::string file;
  int line = 0;      // 1-based; 0 when the problem is not tied to a line
  std::string rule;  // the rule's title or id when known
  std::string message;
  // "rules/x.yml:12: detection.selection: unknown modifier 'foo'"
  std::string ToString() const;
};

struct LoadOptions {
  // The event schema fields are mapped against; nullptr: the built-in schema.
  const schema::Schema* schema = nullptr;
  // Named lists for `%name%` placeholders; nullptr: a new empty Lists (see RuleSet::lists()).
  std::shared_ptr<Lists> lists;
};

// What a loaded rule is, for listings and the CLI.
struct RuleInfo {
  std::string id;
  std::string title;
  std::string level;
  std::string file;
  int line = 0;
  bool correlation = false;
  bool generates_alerts = true;      // false: a base rule only feeding correlations
  std::vector<std::string> targets;  // "process/exec", "network/connect", ...
};

class RuleSet {
 public:
  struct LoadResult {
    std::shared_ptr<const RuleSet> rules;  // never null; holds the rules that loaded
    std::vector<LoadIssue> errors;         // one per document (rule) that failed
    std::vector<LoadIssue> warnings;
    size_t loaded = 0;  // rules and correlations loaded
    size_t failed = 0;  // documents that failed (== errors.size())
  };

  // Parses and compiles every document of every source (documents are separated by lines
  // starting with `---`). A correlation may refer to base rules of any source.
  static LoadResult Load(std::span<const RuleSource> sources, const LoadOptions& options = {});

  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  size_t rule_count() const;  // base (single-event) rules
  size_t correlation_count() const;
  std::vector<RuleInfo> Rules() const;
  const std::shared_ptr<Lists>& lists() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit RuleSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct EngineOptions {
  // Alerts of the same rule and group within this time of the last one sent are suppressed
  // and counted (the next alert sent carries the count). 0 disables suppression.
  int64_t suppress_ms = 60'000;
  // At most this many (rule, group) suppression entries; the least recently used is dropped.
  size_t max_suppress_entries = 10'000;
  // At most this many groups per correlation; the least recently used group is evicted and
  // counted (EngineStats::groups_evicted).
  size_t max_groups = 10'000;
  // Earlier events a correlation alert lists in `event_refs` (kept per group, newest last).
  size_t max_event_refs = 10;
};

struct EngineStats {
  uint64_t events = 0;            // events processed
  uint64_t candidates = 0;        // rule evaluations after the literal prefilter
  uint64_t matches = 0;           // base rule matches
  uint64_t alerts = 0;            // alerts produced
  uint64_t suppressed = 0;        // alerts suppressed
  uint64_t groups_evicted = 0;    // correlation groups dropped by the LRU bound
  uint64_t suppress_evicted = 0;  // suppression entries dropped by their bound
  size_t groups = 0;              // correlation groups held now
};

class Engine {
 public:
  explicit Engine(std::shared_ptr<const RuleSet> rules, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates `event` (its `ts_ms` is the time for correlations and suppression, so recorded
  // events replay as they happened) and appends any alerts to `*alerts`: Events of type
  // `alert` (schema/events.yml), priority high, device and ts of `event`. Never throws.
  void Process(const Event& event, std::vector<Event>* alerts);

  const EngineStats& stats() const { return stats_; }
  // Bytes held by correlation state (groups, windows, value sets, event references) and
  // suppression entries, as counted by the engine (container nodes included, allocator
  // overhead not).
  size_t StateBytes() const;

  struct State;

 private:
  // Suppression: whether an alert of `key` at `ts` is sent; when it is, the count suppressed
  // since the last one sent.
  bool AllowAlert(const std::string& key, int64_t ts, int64_t* suppressed_before);
  void UpdateCorrelation(const internal::CorrRef& ref, int base_meta, const std::string& key,
                         std::vector<std::string> values, const std::string& value, const Event& event,
                         std::vector<Event>* alerts);

  std::shared_ptr<const RuleSet> rules_;
  EngineOptions options_;
  EngineStats stats_;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::detect

namespace vigil::detect {

// The field mapping tables of docs/rules.md, generated from the schema: each Sigma log source
// with its Vigil event types and the Sigma taxonomy fields they carry (with the Vigil key
// each maps to), then the `product: vigil` categories and services. A test checks that
// docs/rules.md contains this text.
std::string FieldMappingMarkdown(const schema::Schema& schema);

}  // namespace vigil::detect
