#include "agent/sbom_cli.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/cli.h"
#include "agent/platform/env.h"
#include "agent/sbom/export.h"
#include "agent/sbom/inventory.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil {

SbomCommand::SbomCommand(CLI::App& app) {
  sbom_ = app.add_subcommand("sbom", "Print the SBoM (installed packages, OS, kernel) of this machine or of a root "
                                     "directory");
  sbom_->add_option("-f,--format", format_, "Output format: cyclonedx (1.5 JSON), spdx (2.3 JSON) or json (Vigil's)")
      ->check(CLI::IsMember({"cyclonedx", "spdx", "json"}))
      ->capture_default_str();
  sbom_->add_option("-r,--root", root_, "Root directory whose package databases are read, e.g. an unpacked image")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
}

bool SbomCommand::parsed() const { return sbom_->parsed(); }

int SbomCommand::Run() {
  if (root_.empty() || root_[0] != '/') {
    // Env paths are absolute: a relative root is taken from the working directory.
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(root_.empty() ? "." : root_, ec);
    if (ec) {
      std::fprintf(stderr, "sbom: cannot resolve the root '%s': %s\n", root_.c_str(), ec.message().c_str());
      return kExitUsage;
    }
    root_ = abs.lexically_normal().string();
  }
  std::unique_ptr<Env> env = NewPlatformEnv();
  sbom::InventoryPaths paths = sbom::PathsUnderRoot(root_);
  Result<sbom::Inventory> inv = sbom::ReadInventory(*env, paths);
  if (!inv.ok()) {
    std::fprintf(stderr, "sbom: %s\n", std::string(inv.status().message()).c_str());
    return kExitFailure;
  }
  for (const sbom::ParseIssue& i : inv->issues) std::fprintf(stderr, "%s\n", i.ToString().c_str());

  sbom::DocumentInfo info;
  std::string trimmed = root_;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  info.subject = trimmed == "/" ? env->Hostname() : trimmed;
  info.tool_version = VIGIL_VERSION;
  info.now_ms = env->clock().NowMs();
  info.uuid = sbom::NewUuid();
  Json doc = format_ == "spdx"   ? sbom::ToSpdx(*inv, info)
             : format_ == "json" ? sbom::ToVigilJson(*inv)
                                 : sbom::ToCycloneDx(*inv, info);
  const std::string text = doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    std::fprintf(stderr, "sbom: cannot write the document to standard output\n");
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace vigil
