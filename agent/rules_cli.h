// `vigil-agent rules check|test`: validate detection rules, and run them over recorded events
// (built with VIGIL_WITH_DETECT).
//
//   vigil-agent rules check PATH... [--lists DIR]
//     Loads every rule file (PATH: a .yml/.yaml file, or a directory searched recursively).
//     Prints each error as `file:line: rule 'title': what is wrong` and each warning, then
//     `loaded N, failed M`. Exit status 0 when every rule loaded, 2 otherwise.
//   vigil-agent rules test PATH... --events FILE.jsonl [--lists DIR] [--suppress-ms MS]
//     Runs the rules over the events of FILE (JSON Lines as the agent writes them; `-` for
//     standard input), in file order, with each event's own time. Prints the alerts as JSON
//     Lines on standard output and a summary on standard error. Exit status 0 when every rule
//     loaded and every line was an event, 2 otherwise (the alerts are printed all the same).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace vigil {

class RulesCommand {
 public:
  // Adds the `rules` subcommand and its `check` and `test` subcommands to `app`.
  explicit RulesCommand(CLI::App& app);
  bool parsed() const;
  int Run();

 private:
  CLI::App* rules_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* test_ = nullptr;
  std::vector<std::string> paths_;
  std::string lists_dir_;
  std::string events_;
  long long suppress_ms_ = 60'000;
};

}  // namespace vigil
