#include "agent/rules_cli.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/cli.h"
#include "agent/core/event.h"
#include "agent/detect/detect.h"
#include "agent/detect/files.h"

namespace vigil {
namespace {

struct Loaded {
  detect::RuleSet::LoadResult result;
  size_t file_errors = 0;
  size_t list_errors = 0;
};

Loaded LoadAll(const std::vector<std::string>& paths, const std::string& lists_dir) {
  Loaded out;
  auto lists = std::make_shared<detect::Lists>();
  if (!lists_dir.empty()) {
    for (const auto& issue : detect::LoadListDir(lists_dir, lists.get())) {
      std::fprintf(stderr, "%s\n", issue.ToString().c_str());
      ++out.list_errors;
    }
  }
  std::vector<detect::LoadIssue> read_issues;
  std::vector<detect::RuleSource> sources = detect::ReadRuleFiles(paths, &read_issues);
  for (const auto& i : read_issues) std::fprintf(stderr, "%s\n", i.ToString().c_str());
  out.file_errors = read_issues.size();
  detect::LoadOptions opts;
  opts.lists = lists;
  out.result = detect::RuleSet::Load(sources, opts);
  for (const auto& e : out.result.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  for (const auto& w : out.result.warnings) std::fprintf(stderr, "warning: %s\n", w.ToString().c_str());
  if (sources.empty() && read_issues.empty()) {
    std::fprintf(stderr, "no rule files (.yml, .yaml) found\n");
    ++out.file_errors;
  }
  return out;
}

}  // namespace

RulesCommand::RulesCommand(CLI::App& app) {
  rules_ = app.add_subcommand("rules", "Validate detection rules (Sigma) or run them over recorded events");
  rules_->require_subcommand(1);
  check_ = rules_->add_subcommand("check", "Load every rule file; print each error with file and line; exit 2 on any");
  check_->add_option("paths", paths_, "Rule files or directories (searched for .yml and .yaml)")->required();
  check_->add_option("--lists", lists_dir_, "Directory of named lists for %name% placeholders")
      ->check(CLI::ExistingDirectory);
  test_ = rules_->add_subcommand("test", "Run rules over recorded events (JSON Lines) and print the alerts");
  test_->add_option("paths", paths_, "Rule files or directories (searched for .yml and .yaml)")->required();
  test_->add_option("--events", events_, "JSON Lines file of events as the agent writes them ('-': stdin)")->required();
  test_->add_option("--lists", lists_dir_, "Directory of named lists for %name% placeholders")
      ->check(CLI::ExistingDirectory);
  test_
      ->add_option("--suppress-ms", suppress_ms_,
                   "Suppress repeated alerts of one rule and group within this time (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

bool RulesCommand::parsed() const { return rules_->parsed(); }

int RulesCommand::Run() {
  Loaded loaded = LoadAll(paths_, lists_dir_);
  const auto& r = loaded.result;
  bool failed = r.failed > 0 || loaded.file_errors > 0 || loaded.list_errors > 0;
  if (check_->parsed()) {
    std::printf("loaded %zu, failed %zu\n", r.loaded, r.failed + loaded.file_errors);
    return failed ? kExitUsage : kExitOk;
  }

  std::istream* in = &std::cin;
  std::ifstream file;
  if (events_ != "-") {
    file.open(events_);
    if (!file) {
      std::fprintf(stderr, "%s: cannot open\n", events_.c_str());
      return kExitFailure;
    }
    in = &file;
  }
  detect::EngineOptions options;
  options.suppress_ms = suppress_ms_;
  detect::Engine engine(r.rules, options);
  std::vector<Event> alerts;
  std::string line;
  size_t line_no = 0, bad = 0;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    Result<Event> e = j.is_discarded() ? Result<Event>(Status::InvalidArgument("not JSON")) : EventFromJson(j);
    if (!e.ok()) {
      if (++bad <= 10)
        std::fprintf(stderr, "%s:%zu: %s\n", events_.c_str(), line_no, std::string(e.status().message()).c_str());
      continue;
    }
    alerts.clear();
    engine.Process(*e, &alerts);
    for (const Event& a : alerts) std::printf("%s\n", EventToJsonLine(a).c_str());
  }
  const auto& st = engine.stats();
  std::fprintf(stderr,
               "rules: loaded %zu, failed %zu; events: %llu (%zu lines not events); matches %llu; alerts %llu, "
               "suppressed %llu\n",
               r.loaded, r.failed, static_cast<unsigned long long>(st.events), bad,
               static_cast<unsigned long long>(st.matches), static_cast<unsigned long long>(st.alerts),
               static_cast<unsigned long long>(st.suppressed));
  return failed || bad > 0 ? kExitUsage : kExitOk;
}

}  // namespace vigil
