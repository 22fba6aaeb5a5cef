#include "agent/scan_cli.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/cli.h"
#include "agent/platform/command_runner.h"
#include "agent/platform/env.h"
#include "agent/platform/signals.h"
#include "agent/posture/builtin.h"
#include "agent/posture/scan.h"

namespace vigil {
namespace {

// Cuts s to at most n display columns (bytes of UTF-8 lead characters), marking the cut.
std::string Fit(const std::string& s, size_t n) {
  size_t cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++cols > n) {
      size_t cut = i;
      // Leave room for the mark: back off one character.
      do {
        --cut;
      } while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80);
      return s.substr(0, cut) + "~";
    }
  }
  return s;
}

void PrintTable(const posture::ScanReport& report) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line), "%-6s %-8s %-14s %s\n", "RESULT", "SEVERITY", "CHECK", "TITLE");
  out += line;
  for (const posture::CheckResult& r : report.results) {
    const char* result = r.outcome == posture::Outcome::kPass             ? "pass"
                         : r.outcome == posture::Outcome::kFail           ? "FAIL"
                         : r.outcome == posture::Outcome::kNotApplicable ? "n/a"
                                                                          : "ERROR";
    std::snprintf(line, sizeof(line), "%-6s %-8s %-14s %s\n", result,
                  std::string(posture::SeverityName(r.check->severity)).c_str(), r.check->id.c_str(),
                  Fit(r.check->title, 90).c_str());
    out += line;
    if ((r.outcome == posture::Outcome::kFail || r.outcome == posture::Outcome::kError) && !r.evidence.empty())
      out += "       " + r.evidence + "\n";
  }
  const posture::ScanSummary& s = report.summary;
  const std::optional<double> score = s.Score();
  char score_text[32] = "n/a";
  if (score) std::snprintf(score_text, sizeof(score_text), "%.1f%%", *score);
  std::snprintf(line, sizeof(line),
                "\n%s %s on %s: %zu checks: %zu pass, %zu fail, %zu not applicable, %zu error; score %s (%.2f s)\n",
                report.policy->id.c_str(), report.policy->version.c_str(), report.root.c_str(), report.results.size(),
                s.pass, s.fail, s.not_applicable, s.error, score_text,
                static_cast<double>(report.duration_ms) / 1000.0);
  out += line;
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

ScanCommand::ScanCommand(CLI::App& app) {
  scan_ = app.add_subcommand("scan", "Run an on-demand scan of this machine or of a root directory");
  scan_->require_subcommand(1);
  posture_ = scan_->add_subcommand(
      "posture", "Check the security posture against a policy (default: the built-in Linux baseline)");
  posture_->add_option("-p,--policy", policy_,
                       "Policy file (YAML, docs/posture.md), or builtin:NAME (linux-baseline, openwrt-busybox)");
  posture_->add_option("-r,--root", root_, "Root directory to check, e.g. an unpacked image (commands run only for /)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  posture_->add_option("-f,--format", format_, "Output: table (readable, with a summary) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  posture_->add_option("-c,--check", checks_, "Run only this check (repeatable)");
}

bool ScanCommand::parsed() const { return posture_->parsed(); }

int ScanCommand::Run() {
  std::unique_ptr<Env> env = NewPlatformEnv();
  // The policy: a file, or one of the built-in ones.
  Result<posture::PolicySource> source = posture::ReadPolicySource(policy_, *env);
  if (!source.ok()) {
    std::fprintf(stderr, "scan posture: %s\n", std::string(source.status().message()).c_str());
    return kExitUsage;
  }
  const std::string& name = source->name;
  posture::LoadedPolicy loaded = posture::LoadPolicy(source->text, name);
  if (!loaded.ok()) {
    for (const posture::PolicyIssue& i : loaded.issues) std::fprintf(stderr, "%s\n", i.ToString().c_str());
    std::fprintf(stderr, "scan posture: %s: %zu error%s, %zu checks loaded; nothing scanned\n", name.c_str(),
                 loaded.issues.size(), loaded.issues.size() == 1 ? "" : "s",
                 loaded.policy ? loaded.policy->checks.size() : 0);
    return kExitUsage;
  }
  for (const std::string& id : checks_) {
    if (!loaded.policy->FindCheck(id)) {
      std::fprintf(stderr, "scan posture: no check '%s' in %s\n", id.c_str(), name.c_str());
      return kExitUsage;
    }
  }

  std::error_code ec;
  std::string root = std::filesystem::absolute(root_.empty() ? "/" : root_, ec).lexically_normal().string();
  if (ec) {
    std::fprintf(stderr, "scan posture: cannot resolve the root '%s': %s\n", root_.c_str(), ec.message().c_str());
    return kExitUsage;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();

  std::unique_ptr<CommandRunner> runner = root == "/" ? NewPlatformCommandRunner() : nullptr;
  posture::ScanTarget target;
  target.env = env.get();
  target.root = root;
  target.runner = runner.get();
  posture::ScanOptions options;
  options.only = checks_;
  const bool progress = StderrIsTerminal();
  if (progress) {
    options.progress = [](size_t i, size_t total, const posture::Check& c) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", i + 1, total, Fit(c.id + " " + c.title, 60).c_str());
      std::fflush(stderr);
    };
  }
  posture::ScanReport report = posture::RunScan(loaded.policy, target, options);
  if (progress) std::fprintf(stderr, "\r\033[K");

  if (format_ == "json") {
    const std::string doc =
        posture::ReportToJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(doc.data(), 1, doc.size(), stdout);
  } else {
    PrintTable(report);
  }
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "scan posture: cannot write to standard output\n");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace vigil
