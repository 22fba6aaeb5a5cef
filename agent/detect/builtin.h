// The built-in rules (rules/*.yml) and lists (rules/lists/*), embedded at build time
// (builtin.cpp.in), so that the agent and the hub detect without a rules directory installed.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "agent/detect/detect.h"
#include "agent/detect/lists.h"

namespace vigil::detect {

// One embedded file: a rule file, named "builtin:rules/x.yml", or a list, named after its
// file ("threat_intel_ips.txt").
struct BuiltinFile {
  std::string_view name;
  std::string_view text;
};
std::span<const BuiltinFile> BuiltinRuleFiles();
std::span<const BuiltinFile> BuiltinListFiles();

// The rule files as sources for RuleSet::Load.
std::vector<RuleSource> BuiltinRuleSources();
// Loads every built-in list into `lists` (as LoadListDir would, names without the
// extension) and returns the bad lines (none: rules_test checks it).
std::vector<ListIssue> LoadBuiltinLists(Lists* lists);

}  // namespace vigil::detect
