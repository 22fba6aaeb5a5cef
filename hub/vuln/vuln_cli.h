// `vigil-hub vuln import` and `vigil-hub vuln scan` (hub/cli.cpp adds the common options and
// dispatches here). Exit codes as every hub command: 0 success, 1 runtime failure (a store that
// cannot be opened, a file that cannot be read, a malformed record: the others are still
// imported), 2 usage error.
//
//   vuln import [--db URL] PATH...   OSV records (file, directory, .zip) and the Debian tracker's
//                                    JSON into the store; devices whose packages the changed
//                                    advisories name are matched again. A progress line on a
//                                    terminal (stderr), nothing otherwise; errors on stderr; a
//                                    summary line with counts on stdout.
//   vuln scan [--db URL] --sbom FILE [--format table|json] [--all]
//                                    matches a CycloneDX SBoM against the stored advisories:
//                                    offline, nothing stored. --all lists not-affected verdicts too.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace vigil::hub::vuln {

struct CliArgs {
  std::vector<std::string> paths;  // import
  std::string sbom;                // scan
  std::string format = "table";
  bool all = false;
};

// Adds the subcommands' own options to `vuln`; returns import and scan.
std::pair<CLI::App*, CLI::App*> AddVulnCommands(CLI::App* vuln, CliArgs* args);
int RunVulnImport(const std::string& store_url, const CliArgs& args);
int RunVulnScan(const std::string& store_url, const CliArgs& args);

}  // namespace vigil::hub::vuln
