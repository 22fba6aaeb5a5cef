// Fuzzes posture policy loading (agent/posture): any bytes as a policy file load into a
// Policy with issues, never crash, hang or throw. Every issue names the file and a line within
// the input (or 0), a check that loaded has rules, and the loaded checks run against an empty
// root directory without trouble.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/platform/env.h"
#include "agent/posture/policy.h"
#include "agent/posture/scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  vigil::posture::LoadedPolicy p = vigil::posture::LoadPolicy(text, "fuzz.yml");
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  for (const vigil::posture::PolicyIssue& i : p.issues) {
    if (i.file != "fuzz.yml" || i.line > lines + 1 || i.message.empty()) std::abort();
    (void)i.ToString();
  }
  if (!p.policy) {
    if (p.issues.empty()) std::abort();
    return 0;
  }
  for (const vigil::posture::Check& c : p.policy->checks) {
    if (c.id.empty() || c.rules.rules.empty()) std::abort();
  }
  // The scan reads under a root that holds nothing (a path that does not exist): every rule
  // must come out not applicable, pass or fail, without touching the host's files.
  static std::unique_ptr<vigil::Env> env = vigil::NewPlatformEnv();
  vigil::posture::ScanTarget target{env.get(), "/nonexistent-vigil-fuzz-root", nullptr};
  vigil::posture::ScanReport r = vigil::posture::RunScan(p.policy, target);
  if (r.results.size() != p.policy->checks.size()) std::abort();
  (void)vigil::posture::ReportToJson(r).dump();
  return 0;
}
