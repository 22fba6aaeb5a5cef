#include "hub/vuln/vuln_cli.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "hub/store/store.h"
#include "hub/vuln/load.h"
#include "hub/vuln/match.h"
#include "hub/vuln/sbom.h"
#include "hub/vuln/service.h"

namespace vigil::hub::vuln {
namespace {

constexpr int kVulnExitOk = 0;
constexpr int kVulnExitFailure = 1;
constexpr size_t kImportBatch = 1000;  // advisories per store transaction

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Rewrites one status line on stderr, at most five times a second; only on a terminal.
class Progress {
 public:
  Progress() : enabled_(isatty(STDERR_FILENO) == 1) {}
  void Show(const LoadStats& stats, const std::string& current) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::string name = current.size() > 50 ? "..." + current.substr(current.size() - 47) : current;
    std::fprintf(stderr, "\r\033[Kimporting: %zu records from %zu files (%s)", stats.records, stats.files, name.c_str());
    shown_ = true;
  }
  void Clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

void Add(ImportCounts& total, const ImportCounts& c) {
  total.inserted += c.inserted;
  total.updated += c.updated;
  total.unchanged += c.unchanged;
  total.older += c.older;
  total.packages_matched += c.packages_matched;
  total.devices += c.devices;
}

Json FindingJson(const Finding& f) {
  Json j = {{"package", f.package},     {"version", f.version},     {"source", f.source},
            {"source_version", f.source_version}, {"ecosystem", f.ecosystem}, {"advisory", f.advisory},
            {"aliases", f.aliases},     {"status", MatchStatusName(f.status)}, {"severity", f.severity},
            {"summary", f.summary}};
  j["fixed_version"] = f.fixed_version.empty() ? Json(nullptr) : Json(f.fixed_version);
  j["score"] = f.score < 0 ? Json(nullptr) : Json(f.score);
  return j;
}

void PrintTable(const std::vector<Finding>& findings) {
  std::printf("%-28s %-24s %-20s %-12s %-24s %s\n", "PACKAGE", "VERSION", "ADVISORY", "STATUS", "FIXED", "SEVERITY");
  for (const Finding& f : findings) {
    std::printf("%-28s %-24s %-20s %-12s %-24s %s\n", f.package.c_str(), f.version.c_str(), f.advisory.c_str(),
                std::string(MatchStatusName(f.status)).c_str(), f.fixed_version.empty() ? "-" : f.fixed_version.c_str(),
                f.severity.c_str());
  }
}

}  // namespace

std::pair<CLI::App*, CLI::App*> AddVulnCommands(CLI::App* vuln, CliArgs* args) {
  vuln->require_subcommand(1);
  CLI::App* import = vuln->add_subcommand(
      "import", "Import vulnerability data: OSV records (.json, a directory, an OSV .zip) or the Debian tracker's JSON");
  import->add_option("paths", args->paths, "Files, directories or .zip archives")->required();
  CLI::App* scan = vuln->add_subcommand("scan", "Match a CycloneDX SBoM against the imported advisories (stores nothing)");
  scan->add_option("--sbom", args->sbom, "CycloneDX 1.5 JSON file")->required();
  scan->add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  scan->add_flag("--all", args->all, "Also list advisories that name a package but not its version (not_affected)");
  return {import, scan};
}

int RunVulnImport(const std::string& store_url, const CliArgs& args) {
  auto store = OpenStore(store_url);
  if (!store.ok()) {
    std::fprintf(stderr, "vuln import: %s\n", std::string(store.status().message()).c_str());
    return kVulnExitFailure;
  }
  VulnService service(**store, WallMs);
  LoadStats stats;
  ImportCounts total;
  std::vector<Advisory> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    auto counts = service.Import(batch);
    batch.clear();
    if (!counts.ok()) return counts.status();
    Add(total, *counts);
    return Status::Ok();
  };
  AdvisorySink sink = [&](Advisory adv) -> Status {
    batch.push_back(std::move(adv));
    return batch.size() >= kImportBatch ? flush() : Status::Ok();
  };
  Progress progress;
  auto on_progress = [&](const LoadStats& s, const std::string& current) { progress.Show(s, current); };
  size_t reported = 0;
  auto report_errors = [&] {
    if (stats.errors.size() == reported) return;
    progress.Clear();
    for (; reported < stats.errors.size(); ++reported) std::fprintf(stderr, "error: %s\n", stats.errors[reported].c_str());
  };
  for (const std::string& path : args.paths) {
    Status s = LoadPath(path, sink, &stats, on_progress);
    if (s.ok()) s = flush();
    report_errors();
    if (!s.ok()) {
      progress.Clear();
      if (s.code() == Status::Code::kNotFound) {
        std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
        stats.errors.push_back(std::string(s.message()));
        ++reported;
        continue;
      }
      std::fprintf(stderr, "vuln import: %s\n", std::string(s.message()).c_str());
      return kVulnExitFailure;
    }
  }
  progress.Clear();
  std::printf("imported %zu records from %zu files: %zu new, %zu updated, %zu unchanged, %zu older than stored; "
              "%zu errors; %zu packages on %zu devices matched again\n",
              stats.records, stats.files, total.inserted, total.updated, total.unchanged, total.older,
              stats.errors.size(), total.packages_matched, total.devices);
  return stats.errors.empty() ? kVulnExitOk : kVulnExitFailure;
}

int RunVulnScan(const std::string& store_url, const CliArgs& args) {
  std::ifstream in(args.sbom, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "vuln scan: %s: cannot be read\n", args.sbom.c_str());
    return kVulnExitFailure;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto sbom = ParseCycloneDx(text.str(), args.sbom);
  if (!sbom.ok()) {
    std::fprintf(stderr, "vuln scan: %s\n", std::string(sbom.status().message()).c_str());
    return kVulnExitFailure;
  }
  for (const std::string& w : sbom->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  auto store = OpenStore(store_url);
  if (!store.ok()) {
    std::fprintf(stderr, "vuln scan: %s\n", std::string(store.status().message()).c_str());
    return kVulnExitFailure;
  }
  std::vector<VulnKey> keys;
  for (const Package& p : sbom->packages) {
    if (!p.ecosystem.empty()) keys.push_back(VulnKey{p.ecosystem, p.SourceName()});
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto rows = (*store)->AdvisoriesFor(keys);
  if (!rows.ok()) {
    std::fprintf(stderr, "vuln scan: %s\n", std::string(rows.status().message()).c_str());
    return kVulnExitFailure;
  }
  AdvisoryIndex index;
  for (const AdvisoryRow& row : *rows) {
    auto adv = FromRow(row);
    if (!adv.ok()) {
      std::fprintf(stderr, "vuln scan: %s\n", std::string(adv.status().message()).c_str());
      return kVulnExitFailure;
    }
    index.Add(std::move(*adv));
  }
  std::vector<Finding> findings = index.Match(sbom->packages, args.all);
  size_t fixed = 0, unfixed = 0;
  for (const Finding& f : findings) {
    if (f.status == MatchStatus::kFixed) ++fixed;
    if (f.status == MatchStatus::kUnfixed) ++unfixed;
  }
  if (args.format == "json") {
    Json list = Json::array();
    for (const Finding& f : findings) list.push_back(FindingJson(f));
    Json out = {{"sbom", args.sbom},   {"packages", sbom->packages.size()}, {"fixed", fixed},
                {"unfixed", unfixed},  {"findings", std::move(list)}};
    std::printf("%s\n", out.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    return kVulnExitOk;
  }
  PrintTable(findings);
  std::printf("%zu packages, %zu vulnerable findings (%zu with a fix, %zu without)\n", sbom->packages.size(),
              fixed + unfixed, fixed, unfixed);
  return kVulnExitOk;
}

}  // namespace vigil::hub::vuln
