// The built-in rules (rules/*.yml) and lists (rules/lists/*), compiled in compressed
// (cmake/VigilEmbed.cmake), so that the agent and the hub detect without a rules directory installed.
#pragma once

#include <string_view>
#include <vector>

#include "agent/core/embedded.h"
#include "agent/detect/detect.h"
#include "agent/detect/lists.h"

namespace vigil::detect {

// The rule files, named "builtin:rules/x.yml", and the lists, named after their file
// ("threat_intel_ips.txt").
const EmbeddedBundle& BuiltinRuleBundle();
const EmbeddedBundle& BuiltinListBundle();

// The rule files as sources for RuleSet::Load.
std::vector<RuleSource> BuiltinRuleSources();
// Loads every built-in list into `lists` (as LoadListDir would, names without the
// extension) and returns the bad lines (none: rules_test checks it).
std::vector<ListIssue> LoadBuiltinLists(Lists* lists);

}  // namespace vigil::detect
