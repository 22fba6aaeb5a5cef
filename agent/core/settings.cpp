#include "agent/core/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <nlohmann/json.hpp>

namespace vigil {
namespace {

struct Unit {
  std::string_view name;
  int64_t factor;
};
constexpr Unit kDurationUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
constexpr Unit kSizeUnits[] = {
    {"B", 1},       {"KB", 1 << 10},         {"MB", 1 << 20},  {"GB", int64_t{1} << 30}, {"K", 1 << 10},
    {"M", 1 << 20}, {"G", int64_t{1} << 30}, {"KiB", 1 << 10}, {"MiB", 1 << 20},         {"GiB", int64_t{1} << 30}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses "<digits><unit>"; `units` empty means a bare integer.
Result<int64_t> ParseScaled(std::string_view text, std::span<const Unit> units, bool unit_required,
                            std::string_view what) {
  text = Trim(text);
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec == std::errc::result_out_of_range) return Status::InvalidArgument("'" + std::string(text) + "' is too large");
  if (ec != std::errc() || p == text.data())
    return Status::InvalidArgument("expected " + std::string(what) + ", got '" + std::string(text) + "'");
  std::string_view unit = Trim(std::string_view(p, end - p));
  if (unit.empty()) {
    if (unit_required && n != 0)
      return Status::InvalidArgument("'" + std::string(text) + "' needs a unit (" + std::string(what) + ")");
    return n;
  }
  for (const Unit& u : units) {
    if (u.name == unit) {
      if (n != 0 && (n > INT64_MAX / u.factor || n < INT64_MIN / u.factor))
        return Status::InvalidArgument("'" + std::string(text) + "' is too large");
      return n * u.factor;
    }
  }
  return Status::InvalidArgument("unknown unit '" + std::string(unit) + "' in '" + std::string(text) + "' (expected " +
                                 std::string(what) + ")");
}

std::string FormatScaled(int64_t v, std::span<const Unit> units) {
  // Largest unit that divides v exactly (units are listed smallest first per family).
  std::string_view best = units.front().name;
  int64_t best_factor = 1;
  for (const Unit& u : units) {
    if (u.name.size() > 2 && u.name != "ms") continue;  // prefer KB over KiB in output
    if (u.name.size() == 1 && u.name != "B" && u.name != "s" && u.name != "m" && u.name != "h" && u.name != "d")
      continue;  // K, M, G are accepted aliases only
    if (v != 0 && v % u.factor == 0 && u.factor >= best_factor) {
      best = u.name;
      best_factor = u.factor;
    }
  }
  if (v == 0) return std::string("0") + std::string(units.front().name);
  return std::to_string(v / best_factor) + std::string(best);
}

std::vector<std::string_view> SplitChoices(std::string_view choices) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= choices.size()) {
    size_t bar = choices.find('|', start);
    if (bar == std::string_view::npos) bar = choices.size();
    out.push_back(choices.substr(start, bar - start));
    start = bar + 1;
  }
  return out;
}

std::string RangeText(const SettingSpec& spec) {
  if (spec.type != SettingType::kInt && spec.type != SettingType::kDuration && spec.type != SettingType::kSize)
    return "";
  auto fmt = [&](int64_t v) {
    if (spec.type == SettingType::kDuration) return FormatScaled(v, kDurationUnits);
    if (spec.type == SettingType::kSize) return FormatScaled(v, kSizeUnits);
    return std::to_string(v);
  };
  bool has_min = spec.min != std::numeric_limits<int64_t>::min();
  bool has_max = spec.max != std::numeric_limits<int64_t>::max();
  if (has_min && has_max) return fmt(spec.min) + " to " + fmt(spec.max);
  if (has_min) return "at least " + fmt(spec.min);
  if (has_max) return "at most " + fmt(spec.max);
  return "";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <typename Names>
std::string Suggest(std::string_view got, const Names& names) {
  std::string best;
  size_t best_d = 3;  // only close misspellings
  for (const auto& n : names) {
    size_t d = EditDistance(got, n);
    if (d < best_d) {
      best_d = d;
      best = std::string(n);
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

}  // namespace

std::string_view SettingTypeName(SettingType t) {
  switch (t) {
    case SettingType::kBool:
      return "bool";
    case SettingType::kInt:
      return "int";
    case SettingType::kDuration:
      return "duration";
    case SettingType::kSize:
      return "size";
    case SettingType::kString:
      return "string";
    case SettingType::kEnum:
      return "enum";
    case SettingType::kList:
      return "list";
  }
  return "?";
}

Result<SettingValue> ParseSettingValue(const SettingSpec& spec, std::string_view text) {
  switch (spec.type) {
    case SettingType::kBool:
      if (text == "true") return SettingValue(true);
      if (text == "false") return SettingValue(false);
      return Status::InvalidArgument("expected true or false, got '" + std::string(text) + "'");
    case SettingType::kInt:
    case SettingType::kDuration:
    case SettingType::kSize: {
      Result<int64_t> n = spec.type == SettingType::kInt ? ParseScaled(text, {}, false, "an integer")
                          : spec.type == SettingType::kDuration
                              ? ParseScaled(text, kDurationUnits, true, "a duration such as 500ms, 60s, 15m, 1h")
                              : ParseScaled(text, kSizeUnits, false, "a size such as 4096, 64KB, 10MB");
      if (!n.ok()) return n.status();
      if (*n < spec.min || *n > spec.max)
        return Status::InvalidArgument("'" + std::string(text) + "' is out of range (" + RangeText(spec) + ")");
      return SettingValue(*n);
    }
    case SettingType::kString:
      return SettingValue(std::string(text));
    case SettingType::kEnum: {
      auto choices = SplitChoices(spec.choices);
      if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
        std::string list;
        for (auto c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
        return Status::InvalidArgument("'" + std::string(text) + "' is not one of: " + list);
      }
      return SettingValue(std::string(text));
    }
    case SettingType::kList: {
      std::vector<std::string> items;
      size_t start = 0;
      while (start < text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        auto item = Trim(text.substr(start, comma - start));
        if (!item.empty()) items.emplace_back(item);
        start = comma + 1;
      }
      return SettingValue(std::move(items));
    }
  }
  return Status::Internal("unknown setting type");
}

Result<SettingValue> ParseSettingList(const SettingSpec& spec, const std::vector<std::string>& items) {
  if (spec.type != SettingType::kList) return Status::InvalidArgument("expected a single value, got a list");
  return SettingValue(items);
}

std::string FormatSettingValue(const SettingSpec& spec, const SettingValue& v) {
  switch (spec.type) {
    case SettingType::kBool:
      return std::get<bool>(v) ? "true" : "false";
    case SettingType::kInt:
      return std::to_string(std::get<int64_t>(v));
    case SettingType::kDuration:
      return FormatScaled(std::get<int64_t>(v), kDurationUnits);
    case SettingType::kSize:
      return FormatScaled(std::get<int64_t>(v), kSizeUnits);
    case SettingType::kString:
    case SettingType::kEnum:
      return std::get<std::string>(v);
    case SettingType::kList: {
      std::string s = "[";
      for (const auto& item : std::get<std::vector<std::string>>(v)) s += (s.size() > 1 ? ", " : "") + item;
      return s + "]";
    }
  }
  return "";
}

void ConfigSchema::AddSection(std::string name, std::string help, std::span<const SettingSpec> specs) {
  if (SettingsSection* existing = const_cast<SettingsSection*>(FindSection(name))) {
    existing->specs.insert(existing->specs.end(), specs.begin(), specs.end());
    return;
  }
  sections_.push_back(SettingsSection{std::move(name), std::move(help), {specs.begin(), specs.end()}});
}

const SettingsSection* ConfigSchema::FindSection(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

const SettingSpec* ConfigSchema::Find(std::string_view full_key) const {
  size_t dot = full_key.find('.');
  if (dot == std::string_view::npos) return nullptr;
  const SettingsSection* section = FindSection(full_key.substr(0, dot));
  if (!section) return nullptr;
  for (const auto& spec : section->specs)
    if (spec.key == full_key.substr(dot + 1)) return &spec;
  return nullptr;
}

namespace {

std::string YamlScalar(const SettingSpec& spec, std::string_view default_text) {
  if (spec.type == SettingType::kList) {
    auto v = ParseSettingValue(spec, default_text);
    return FormatSettingValue(spec, *v);
  }
  if (spec.type == SettingType::kString) {
    // Quote strings so that empty ones and ones with YAML-special characters stay strings. A
    // JSON string is a YAML double-quoted scalar (and yaml-cpp's emitter would cost the agent
    // a tenth of its minimal build).
    return nlohmann::json(std::string(default_text)).dump();
  }
  return std::string(default_text);
}

}  // namespace

std::string ConfigSchema::DefaultFileText() const {
  std::string out = "# Vigil " + program_ +
                    " configuration. Every key is shown at its default; delete what you do not\n"
                    "# change. Durations take a unit (ms, s, m, h, d); sizes may (B, KB, MB, GB).\n";
  for (const auto& section : sections_) {
    out += "\n# " + section.help + "\n" + section.name + ":\n";
    for (const auto& spec : section.specs) {
      out += "  # " + std::string(spec.help);
      std::string extra = RangeText(spec);
      if (spec.type == SettingType::kEnum) extra = "one of " + std::string(spec.choices);
      if (!extra.empty()) out += " (" + extra + ")";
      out += "\n  " + std::string(spec.key) + ": " + YamlScalar(spec, spec.default_value) + "\n";
    }
  }
  return out;
}

std::string ConfigSchema::ReferenceMarkdown() const {
  std::string title = program_;
  if (!title.empty()) title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  const std::string bin = "vigil-" + program_;
  std::string out = "# " + title + " configuration reference\n\n" + "Generated from the settings tables by `" + bin +
                    " config --print-reference`; do not edit by\n"
                    "hand (`make docs` regenerates it, and a test fails when it is out of date).\n\n"
                    "The configuration is one YAML file (`" +
                    bin + " " + run_command_ +
                    " --config FILE`), a mapping of sections\n"
                    "to keys. Every key is optional. Unknown keys, wrong types and values out of range are errors\n"
                    "that name the file, line and key; `" +
                    bin +
                    " config --check FILE` validates a file, and\n"
                    "`" +
                    bin +
                    " config --print-defaults` prints a commented file with every default.\n\n"
                    "Value syntax: durations take a unit (`500ms`, `60s`, `15m`, `1h`, `2d`); sizes an optional\n"
                    "one (`4096`, `64KB`, `10MB`, `1GB`, powers of 1024); lists are YAML sequences.\n";
  for (const auto& section : sections_) {
    out += "\n## `" + section.name + "`\n\n" + section.help + "\n\n";
    out += "| key | type | default | range | description |\n|---|---|---|---|---|\n";
    for (const auto& spec : section.specs) {
      std::string range = spec.type == SettingType::kEnum ? std::string(spec.choices) : RangeText(spec);
      std::string def = spec.default_value.empty() ? "(empty)" : YamlScalar(spec, spec.default_value);
      for (char& c : range)
        if (c == '|') c = '/';
      out += "| `" + section.name + "." + std::string(spec.key) + "` | " + std::string(SettingTypeName(spec.type)) +
             " | `" + def + "` | " + range + " | " + std::string(spec.help) + " |\n";
    }
  }
  return out;
}

Config Config::Defaults(const ConfigSchema& schema) {
  Config c;
  for (const auto& section : schema.sections()) {
    for (const auto& spec : section.specs) {
      auto v = ParseSettingValue(spec, spec.default_value);
      // A bad default is a programming error; settings_test checks every table.
      c.values_[section.name + "." + std::string(spec.key)] = v.ok() ? *v : SettingValue(std::string());
    }
  }
  return c;
}

const SettingValue& Config::Get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    // Asking for an undeclared key is a programming error: fail loudly in every build.
    fprintf(stderr, "vigil: internal error: undeclared configuration key '%.*s'\n", static_cast<int>(key.size()),
            key.data());
    abort();
  }
  return it->second;
}

bool Config::GetBool(std::string_view key) const { return std::get<bool>(Get(key)); }
int64_t Config::GetInt(std::string_view key) const { return std::get<int64_t>(Get(key)); }
const std::string& Config::GetString(std::string_view key) const { return std::get<std::string>(Get(key)); }
const std::vector<std::string>& Config::GetList(std::string_view key) const {
  return std::get<std::vector<std::string>>(Get(key));
}

Status Config::Set(const ConfigSchema& schema, std::string_view key, std::string_view text) {
  const SettingSpec* spec = schema.Find(key);
  if (!spec) return Status::InvalidArgument("unknown key '" + std::string(key) + "'");
  auto v = ParseSettingValue(*spec, text);
  if (!v.ok()) return v.status().WithContext("key '" + std::string(key) + "'");
  values_[std::string(key)] = std::move(*v);
  set_in_file_.insert(std::string(key));
  return Status::Ok();
}

void Config::TakeFrom(const Config& other, std::string_view key) {
  values_[std::string(key)] = other.Get(key);
  set_in_file_.insert(std::string(key));
}

namespace {

// A configuration file as a tree: mappings, lists and plain values, each with where it stands in
// the file. It is built from the events of yaml-cpp's parser rather than by YAML::Load, whose node
// graph (and the code behind it) a configuration does not need: the minimal agent reads YAML for
// nothing else.
struct YamlTree {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  YAML::Mark mark = YAML::Mark::null_mark();
  std::string scalar;
  std::vector<YamlTree> items;  // a sequence's items; a mapping's keys and values, alternating
};

class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(YamlTree* root) : root_(root) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Add(YamlTree::Kind::kNull, mark, anchor); }
  // An alias is a copy of what its anchor names (kept as a copy too), so that aliases of aliases
  // cannot make a small file a huge tree: the copies may add up to kMaxCopiedNodes nodes.
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlTree& node = Add(YamlTree::Kind::kNull, mark, 0);
    auto it = anchored_.find(anchor);
    if (it == anchored_.end()) return;  // an alias of a collection still open: null
    Charge(it->second.nodes, mark);
    node = it->second.tree;
    node.mark = mark;
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    Add(YamlTree::Kind::kScalar, mark, 0).scalar = value;
    Anchor(anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlTree::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlTree::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Open_ {
    YamlTree* node;
    YAML::anchor_t anchor;
  };
  // A new node: the root, or the next item of the open collection (whose items do not move
  // while a child of it is open, so the pointers on the stack stay valid).
  YamlTree& Add(YamlTree::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    YamlTree* node = open_.empty() ? root_ : &open_.back().node->items.emplace_back();
    node->kind = kind;
    node->mark = mark;
    last_ = node;
    Anchor(anchor);
    return *node;
  }
  void Anchor(YAML::anchor_t anchor) {
    if (anchor == 0) return;
    const size_t nodes = Count(*last_);
    Charge(nodes, last_->mark);
    anchored_[anchor] = {*last_, nodes};
  }
  void Charge(size_t nodes, const YAML::Mark& mark) {
    copied_nodes_ += nodes;
    if (copied_nodes_ > kMaxCopiedNodes)
      throw YAML::ParserException(
          mark, "anchors and aliases expand to more than " + std::to_string(kMaxCopiedNodes) + " nodes");
  }
  static size_t Count(const YamlTree& t) {
    size_t n = 1;
    for (const auto& item : t.items) n += Count(item);
    return n;
  }
  void Open(YamlTree::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    open_.push_back({&Add(kind, mark, 0), anchor});
  }
  void Close() {
    last_ = open_.back().node;
    const YAML::anchor_t anchor = open_.back().anchor;
    open_.pop_back();
    Anchor(anchor);
  }

  struct Anchored {
    YamlTree tree;
    size_t nodes;
  };
  static constexpr size_t kMaxCopiedNodes = 100'000;

  YamlTree* root_;
  YamlTree* last_ = nullptr;
  std::vector<Open_> open_;
  std::map<YAML::anchor_t, Anchored> anchored_;
  size_t copied_nodes_ = 0;
};

}  // namespace

Result<Config> LoadConfig(const ConfigSchema& schema, std::string_view yaml_text, std::string_view origin) {
  Config config = Config::Defaults(schema);
  config.origin_ = std::string(origin);
  std::vector<std::string> errors;
  auto error_at = [&](const YAML::Mark& mark, const std::string& msg) {
    std::string loc = std::string(origin);
    if (!mark.is_null()) loc += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    errors.push_back(loc + ": " + msg);
  };

  YamlTree root;
  try {
    std::istringstream in{std::string(yaml_text)};
    YAML::Parser parser(in);
    TreeBuilder builder(&root);
    parser.HandleNextDocument(builder);  // the first document, as YAML::Load reads
  } catch (const YAML::Exception& e) {
    error_at(e.mark, "not valid YAML: " + e.msg);
    return Status::InvalidArgument(errors.front());
  }
  using Kind = YamlTree::Kind;
  if (root.kind == Kind::kNull) return config;  // an empty file: all defaults
  if (root.kind != Kind::kMap) {
    error_at(root.mark, "expected a mapping of sections (agent:, process:, ...) at the top level");
    return Status::InvalidArgument(errors.front());
  }

  std::vector<std::string> section_names;
  for (const auto& s : schema.sections()) section_names.push_back(s.name);
  std::set<std::string> seen_sections;
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const YamlTree& section_key = root.items[i];
    const YamlTree& section_value = root.items[i + 1];
    if (section_key.kind != Kind::kScalar) {
      error_at(section_key.mark, "section names must be plain words");
      continue;
    }
    const std::string& name = section_key.scalar;
    const SettingsSection* section = schema.FindSection(name);
    if (!section) {
      error_at(section_key.mark, "unknown section '" + name + "'" + Suggest(name, section_names));
      continue;
    }
    if (!seen_sections.insert(name).second) {
      error_at(section_key.mark, "section '" + name + "' appears twice");
      continue;
    }
    if (section_value.kind == Kind::kNull) continue;
    if (section_value.kind != Kind::kMap) {
      error_at(section_value.mark, "section '" + name + "' must be a mapping of keys");
      continue;
    }
    std::vector<std::string> key_names;
    for (const auto& spec : section->specs) key_names.emplace_back(spec.key);
    std::set<std::string> seen_keys;
    for (size_t k = 0; k + 1 < section_value.items.size(); k += 2) {
      const YamlTree& key_node = section_value.items[k];
      const YamlTree& value = section_value.items[k + 1];
      const std::string key = key_node.kind == Kind::kScalar ? key_node.scalar : std::string("?");
      const std::string full = name + "." + key;
      const SettingSpec* spec = schema.Find(full);
      if (!spec) {
        error_at(key_node.mark, "unknown key '" + full + "'" + Suggest(key, key_names));
        continue;
      }
      if (!seen_keys.insert(key).second) {
        error_at(key_node.mark, "key '" + full + "' appears twice");
        continue;
      }
      Result<SettingValue> parsed = Status::InvalidArgument("unset");
      if (value.kind == Kind::kSequence) {
        std::vector<std::string> items;
        bool scalar_items = true;
        for (const auto& item : value.items) {
          if (item.kind != Kind::kScalar)
            scalar_items = false;
          else
            items.push_back(item.scalar);
        }
        parsed = scalar_items ? ParseSettingList(*spec, items)
                              : Result<SettingValue>(Status::InvalidArgument("list items must be plain values"));
      } else if (value.kind == Kind::kScalar) {
        if (spec->type == SettingType::kList) {
          parsed = Status::InvalidArgument("expected a list ([a, b] or one '- item' per line)");
        } else {
          parsed = ParseSettingValue(*spec, value.scalar);
        }
      } else if (value.kind == Kind::kNull) {
        parsed = spec->type == SettingType::kString ? Result<SettingValue>(SettingValue(std::string()))
                 : spec->type == SettingType::kList ? Result<SettingValue>(SettingValue(std::vector<std::string>()))
                                                    : Result<SettingValue>(Status::InvalidArgument("has no value"));
      } else {
        parsed = Status::InvalidArgument("expected a " + std::string(SettingTypeName(spec->type)) + ", got a mapping");
      }
      if (!parsed.ok()) {
        error_at(value.mark.is_null() ? key_node.mark : value.mark,
                 "key '" + full + "': " + std::string(parsed.status().message()));
        continue;
      }
      config.values_[full] = std::move(*parsed);
      config.set_in_file_.insert(full);
    }
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Status::InvalidArgument(all);
  }
  return config;
}

Result<Config> LoadConfigWithOverrides(const ConfigSchema& schema, const std::string* yaml_text,
                                       std::string_view origin, const std::vector<std::string>& overrides) {
  Config config = Config::Defaults(schema);
  if (yaml_text) {
    auto loaded = LoadConfig(schema, *yaml_text, origin);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  for (const auto& kv : overrides) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--set " + kv + ": expected KEY=VALUE");
    Status st = config.Set(schema, kv.substr(0, eq), kv.substr(eq + 1));
    if (!st.ok()) return st.WithContext("--set");
  }
  return config;
}

}  // namespace vigil
