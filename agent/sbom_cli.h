// `vigil-agent sbom`: prints the SBoM of this machine, or of a root file system (an unpacked
// firmware image), built with VIGIL_WITH_SBOM.
//
//   vigil-agent sbom [--format cyclonedx|spdx|json] [--root DIR]
//     Reads the package databases (dpkg, opkg, apk, rpm) under DIR (default /), its
//     os-release, and the kernel (uname under /, else DIR/lib/modules), and prints one JSON
//     document on standard output: CycloneDX 1.5 (default), SPDX 2.3, or Vigil's own JSON (the
//     sbom events' package objects). Malformed stanzas are named on standard error as
//     `file:line: reason` and left out; the rest is printed. Exit status 0 when a document was
//     printed, 1 when no package database was found or one could not be read, 2 on a usage
//     error (an unknown format, a root that is not a directory).
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace vigil {

class SbomCommand {
 public:
  explicit SbomCommand(CLI::App& app);  // adds the `sbom` subcommand to `app`
  bool parsed() const;
  int Run();

 private:
  CLI::App* sbom_ = nullptr;
  std::string format_ = "cyclonedx";
  std::string root_ = "/";
};

}  // namespace vigil
