// `vigil-agent scan posture`: checks this machine, or a root file system, against a posture
// policy (built with VIGIL_WITH_POSTURE). docs/posture.md has the policy format and output.
//
//   vigil-agent scan posture [--policy FILE|builtin:NAME] [--root DIR] [--format table|json]
//                            [--check ID]...
//     Loads the policy (default: the built-in linux-baseline policy) and runs every check, or
//     only those named by --check, against DIR (default /). Files, sysctls, the mount table,
//     modules, processes, packages and services are read under DIR; the policy's declared
//     commands run only when DIR is / (under another root their rules are not applicable).
//     Prints a table (default) with each check's result and, for fails and errors, its
//     evidence, then a summary line: pass, fail, not applicable and error counts and the score
//     pass / (pass + fail) in percent. --format json prints one JSON document instead. While
//     the checks run, progress is shown on standard error when it is a terminal.
//     Exit status 0 when the scan ran (whatever its results), 2 when the policy has errors
//     (each printed as `file:line: check 'ID': field 'F': what is wrong`), when a --check ID is
//     not in the policy, or on a usage error.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace vigil {

class ScanCommand {
 public:
  explicit ScanCommand(CLI::App& app);  // adds `scan` and its `posture` subcommand to `app`
  bool parsed() const;
  int Run();

 private:
  CLI::App* scan_ = nullptr;
  CLI::App* posture_ = nullptr;
  std::string policy_;
  std::string root_ = "/";
  std::string format_ = "table";
  std::vector<std::string> checks_;
};

}  // namespace vigil
