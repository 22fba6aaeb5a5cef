// Reading rule and list files: the only part of the detection library that touches the file
// system (through the C++ standard library), kept apart from the OS-free parsing and
// evaluation so that the hub and tests can hand text in directly.
//
// Not thread-safe with respect to the files themselves (it reads whatever is there); the
// functions keep no state.
#pragma once

#include <string>
#include <vector>

#include "agent/core/status.h"
#include "agent/detect/detect.h"
#include "agent/detect/lists.h"

namespace vigil::detect {

// Reads every path given: a file is read whatever its name; a directory contributes its
// *.yml and *.yaml files, recursively, in name order. Files that cannot be read are returned
// as issues (file name, line 0) and skipped.
std::vector<RuleSource> ReadRuleFiles(const std::vector<std::string>& paths, std::vector<LoadIssue>* issues);

// Loads every regular file of `dir` (not recursive; names starting with '.' skipped) as the
// list named after the file without its last extension (`miner_pools.txt` -> miner_pools).
// Returns the bad lines of all files (the good lines are loaded); a directory that cannot be
// read is one issue with line 0.
std::vector<ListIssue> LoadListDir(const std::string& dir, Lists* lists);

}  // namespace vigil::detect
