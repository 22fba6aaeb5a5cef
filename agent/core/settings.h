// Settings tables and the agent's configuration.
//
// Every configuration key is declared once, in a table of SettingSpec next to the code that
// uses it (core tables in config_tables.cpp, each collector's in its descriptor). The tables
// give validation, the commented default file (`vigil-agent config --print-defaults`), and
// docs/configuration.md (`vigil-agent config --print-reference`), so the three never drift.
//
// Keys are "<section>.<name>", e.g. "process.mode"; in the YAML file a section is a mapping:
//   process:
//     mode: auto
//
// Value syntax by type:
//   bool      true | false
//   int       a decimal integer within [min, max]
//   duration  an integer with a unit: ms, s, m, h, d ("100ms", "60s", "15m"); stored in ms
//   size      an integer with an optional unit: B, KB, MB, GB (powers of 1024); stored in bytes
//   string    any scalar
//   enum      one of the `choices`, written "a|b|c"
//   list      a YAML sequence of strings
//
// Config is a plain value, safe to read from many threads once built; nothing mutates a
// Config after LoadConfig returns it (a reload builds a new one).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

enum class SettingType { kBool, kInt, kDuration, kSize, kString, kEnum, kList };
std::string_view SettingTypeName(SettingType t);

struct SettingSpec {
  std::string_view key;  // name within its section
  SettingType type;
  std::string_view default_value;                     // in the file's syntax; lists: items separated by ','
  std::string_view help;                              // one sentence, shown in --print-defaults and the docs
  int64_t min = std::numeric_limits<int64_t>::min();  // int, duration (ms), size (bytes)
  int64_t max = std::numeric_limits<int64_t>::max();
  std::string_view choices = {};  // enum: "a|b|c"
};

using SettingValue = std::variant<bool, int64_t, std::string, std::vector<std::string>>;

// Parses one value written in the file's syntax (see above). Errors say what was expected.
Result<SettingValue> ParseSettingValue(const SettingSpec& spec, std::string_view text);
Result<SettingValue> ParseSettingList(const SettingSpec& spec, const std::vector<std::string>& items);
std::string FormatSettingValue(const SettingSpec& spec, const SettingValue& v);

struct SettingsSection {
  std::string name;  // "agent", "process", ...
  std::string help;
  std::vector<SettingSpec> specs;
};

// All keys known to this build: the core sections plus one per compiled-in collector.
class ConfigSchema {
 public:
  void AddSection(std::string name, std::string help, std::span<const SettingSpec> specs);

  // Finds "section.key"; nullptr when unknown.
  const SettingSpec* Find(std::string_view full_key) const;
  const SettingsSection* FindSection(std::string_view name) const;
  const std::vector<SettingsSection>& sections() const { return sections_; }

  // Every key with its default. Defaults always validate (a unit test checks it).
  std::string DefaultFileText() const;    // commented YAML
  std::string ReferenceMarkdown() const;  // docs/configuration.md

  // Whose configuration this is, as the generated texts name it: "agent" (vigil-agent, whose
  // command that reads the file is `run`) by default; the hub's is "hub" and `serve`.
  void SetProgram(std::string name, std::string run_command) {
    program_ = std::move(name);
    run_command_ = std::move(run_command);
  }

 private:
  std::vector<SettingsSection> sections_;
  std::string program_ = "agent";
  std::string run_command_ = "run";
};

class Config {
 public:
  // Every key at its default.
  static Config Defaults(const ConfigSchema& schema);

  bool GetBool(std::string_view key) const;
  int64_t GetInt(std::string_view key) const;                // int, duration (ms), size (bytes)
  const std::string& GetString(std::string_view key) const;  // string, enum
  const std::vector<std::string>& GetList(std::string_view key) const;

  // True when the key was written in the loaded file or set by Set (not a default).
  bool IsSet(std::string_view key) const { return set_in_file_.count(std::string(key)) > 0; }
  const std::string& origin() const { return origin_; }

  // Sets a value (overrides from the command line). Validated against the schema.
  Status Set(const ConfigSchema& schema, std::string_view key, std::string_view text);
  // Takes the value of `key` from `other` (same schema), marking it set.
  void TakeFrom(const Config& other, std::string_view key);

 private:
  friend Result<Config> LoadConfig(const ConfigSchema&, std::string_view, std::string_view);
  const SettingValue& Get(std::string_view key) const;

  std::map<std::string, SettingValue, std::less<>> values_;
  std::set<std::string> set_in_file_;
  std::string origin_ = "(defaults)";
};

// Parses a YAML configuration. `origin` (usually the path) prefixes every error. Every
// problem is reported, one per line as "origin:LINE:COL: key 'a.b': what is wrong"; on any
// error nothing is returned, so a caller that already runs keeps its old configuration.
Result<Config> LoadConfig(const ConfigSchema& schema, std::string_view yaml_text, std::string_view origin);

// What a command line loads: the file's text when `yaml_text` is given (else the defaults),
// then each "KEY=VALUE" of `overrides` (--set) in order. Errors name the file, line and key, or
// the override ("--set a.b=c: ...").
Result<Config> LoadConfigWithOverrides(const ConfigSchema& schema, const std::string* yaml_text,
                                       std::string_view origin, const std::vector<std::string>& overrides);

}  // namespace vigil
