// Fuzzes the Sigma condition parser (agent/detect/condition.h): any text must parse into a
// tree or an error that names a column, never crash or recurse without bound. A tree prints
// to text that parses back to the same tree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/condition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  static const std::vector<std::string> kIdents = {"selection", "filter", "sel_a", "sel_b", "_x", "keywords"};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = vigil::detect::ParseCondition(text, kIdents);
  if (!t.ok()) {
    if (t.status().message().find("column ") != 0) std::abort();
    return 0;
  }
  std::string printed = t->ToString(kIdents);
  auto again = vigil::detect::ParseCondition(printed, kIdents);
  if (!again.ok()) {
    // Printing adds parentheses; a tree at the depth limit may not parse back. Anything else is a bug.
    if (again.status().message().find("nested too deeply") == std::string_view::npos) std::abort();
    return 0;
  }
  if (again->ToString(kIdents) != printed) std::abort();
  // Evaluation terminates and agrees between the two.
  for (int mask = 0; mask < 8; ++mask) {
    auto leaf = [&](int i) { return ((mask >> (i % 3)) & 1) != 0; };
    if (t->Eval(leaf) != again->Eval(leaf)) std::abort();
  }
  return 0;
}
