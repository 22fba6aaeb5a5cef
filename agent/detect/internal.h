// The compiled form of a RuleSet, shared by the loader (loader.cpp, which builds it) and the
// engine (engine.cpp, which reads it). Not part of the API: include detect.h instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/detect/condition.h"
#include "agent/detect/detect.h"
#include "agent/detect/lists.h"

namespace vigil::detect::internal {

inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;

// Where a field's values come from in an event.
struct SlotDef {
  enum class Kind : uint8_t { kType, kAction, kDevice, kPriority, kData, kAllText };
  Kind kind = Kind::kData;
  std::vector<std::string> path;  // kData: keys from `data` down; an array on the way means each element
  std::string key;                // "data.exe", "@type", "@text": unique per slot
};

// A compiled PCRE2 pattern (shared, immutable; matching uses the engine's match data).
struct Regex {
  void* code = nullptr;  // pcre2_code*
  ~Regex();
};

// One value of a field test.
struct Matcher {
  enum class Op : uint8_t {
    kEquals,
    kContains,
    kStartsWith,
    kEndsWith,
    kGlob,
    kRegex,
    kCidr,
    kGt,
    kGte,
    kLt,
    kLte,
    kList
  };
  Op op = Op::kEquals;
  bool cased = false;         // compare with the original text instead of the lower-cased one
  std::string lit;            // literal (lower-cased unless cased); kGlob: the pattern's characters
  std::vector<uint8_t> glob;  // kGlob: per character of lit: 0 itself, 1 '?', 2 '*'
  std::shared_ptr<Regex> re;  // kRegex
  IpAddr net;                 // kCidr
  int net_len = 0;
  double num = 0;                  // kGt..kLte
  std::shared_ptr<ListSlot> list;  // kList
};

// `Field|modifiers: values` within a selection.
struct FieldTest {
  enum class Special : uint8_t { kNone, kNull, kExists, kNotExists };
  int slot = -1;  // -1: the field is not in this event type (never present)
  Special special = Special::kNone;
  bool all = false;       // every value must match (the `all` modifier)
  bool has_null = false;  // a null among the values: an absent or null field matches
  std::vector<Matcher> values;
  std::string field;  // as written in the rule, for summaries
};

// A search identifier: OR of alternatives, each an AND of field tests (a map), or keywords.
struct Selection {
  std::vector<std::vector<FieldTest>> alternatives;
};

struct RuleMeta {
  std::string id, name, title, level, file, description;
  int line = 0;
  std::vector<std::string> attack, tags;
  bool generates = true;  // base rules: false when only correlations use it
  bool is_correlation = false;
  std::vector<std::string> targets;  // "type/action"
};

// A correlation that a base rule instance feeds, with that instance's slots for it.
struct CorrRef {
  int corr = -1;      // index into RuleSet::Impl::correlations
  int rule_pos = -1;  // position of the base rule in the correlation's `rules`
  std::vector<int> group_slots;
  int value_slot = -1;  // value_count
};

// A base rule compiled for one (type, action) target.
struct Instance {
  int meta = -1;
  std::vector<Selection> selections;
  CondTree cond;
  std::vector<CorrRef> corrs;
  std::vector<std::pair<std::string, int>> summary_fields;  // (field name, slot), at most 4
};

// Aho-Corasick automaton over lower-cased literals with a compacted alphabet: a byte in no
// literal always leads back to the root.
class AhoCorasick {
 public:
  void Build(const std::vector<std::string>& patterns);
  bool empty() const { return classes_ == 0; }
  // Calls hit(pattern_index) for every occurrence (a pattern may be reported repeatedly).
  template <typename Hit>
  void Scan(std::string_view text, const Hit& hit) const {
    int32_t s = 0;
    for (unsigned char c : text) {
      s = delta_[static_cast<size_t>(s) * classes_ + cls_[c]];
      if (out_begin_[static_cast<size_t>(s)] != out_begin_[static_cast<size_t>(s) + 1]) {
        for (int32_t k = out_begin_[static_cast<size_t>(s)]; k < out_begin_[static_cast<size_t>(s) + 1]; ++k)
          hit(out_[static_cast<size_t>(k)]);
      }
    }
  }
  size_t states() const { return out_begin_.empty() ? 0 : out_begin_.size() - 1; }

 private:
  uint8_t cls_[256] = {};
  size_t classes_ = 0;
  std::vector<int32_t> delta_;
  std::vector<int32_t> out_begin_;
  std::vector<int32_t> out_;
};

struct Group {
  std::vector<Instance> instances;
  // Prefilter: literal k says instances prefilter_rules[k] may match when it occurs in the
  // lower-cased text of slot prefilter_slot[k].
  AhoCorasick ac;
  std::vector<int> prefilter_slot;
  std::vector<std::vector<int>> prefilter_rules;
  std::vector<int> scan_slots;           // distinct slots scanned
  std::vector<uint8_t> needs_prefilter;  // per instance: 1 when it is skipped unless marked
};

struct Correlation {
  enum class Type : uint8_t { kEventCount, kValueCount, kTemporal, kTemporalOrdered };
  enum class Cmp : uint8_t { kGt, kGte, kLt, kLte, kEq, kNone };
  int meta = -1;
  Type type = Type::kEventCount;
  Cmp cmp = Cmp::kNone;
  int64_t threshold = 0;
  int64_t timespan_ms = 0;
  std::vector<int> rules;  // meta indices of the base rules, in order
  std::vector<std::string> group_by;
  std::string value_field;
  size_t window_cap = 0;  // timestamps / values kept per group
  bool Check(int64_t v) const {
    switch (cmp) {
      case Cmp::kGt:
        return v > threshold;
      case Cmp::kGte:
        return v >= threshold;
      case Cmp::kLt:
        return v < threshold;
      case Cmp::kLte:
        return v <= threshold;
      case Cmp::kEq:
        return v == threshold;
      case Cmp::kNone:
        return true;
    }
    return false;
  }
};

std::string_view CorrelationTypeName(Correlation::Type t);

}  // namespace vigil::detect::internal

namespace vigil::detect {

struct RuleSet::Impl {
  std::vector<internal::RuleMeta> metas;
  std::vector<internal::SlotDef> slots;
  internal::StrMap<int> slot_index;
  std::vector<internal::Group> groups;
  // type -> action -> group index ("" for types without actions)
  internal::StrMap<internal::StrMap<int>> group_index;
  std::vector<internal::Correlation> correlations;
  std::shared_ptr<Lists> lists;
  size_t base_rules = 0;
  size_t max_instances = 0;
};

}  // namespace vigil::detect
