// Fuzzes named-list parsing (agent/detect/lists.h): any bytes must yield a list and bad lines
// each naming a line of the input, never a crash. Every IP or network line that was taken
// must match its own address; lookups of arbitrary text must not crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/lists.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<vigil::detect::ListIssue> issues;
  auto list = vigil::detect::ParseList("fuzz", text, "fuzz.txt", &issues);
  int lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& i : issues)
    if (i.line < 1 || i.line > lines || i.file != "fuzz.txt" || i.message.empty()) std::abort();
  // Each line as a value: must not crash; addresses must match themselves.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    (void)list->Contains(line);
    if (auto ip = vigil::detect::ParseIp(line)) {
      vigil::detect::PrefixSet set;
      set.Add(*ip, ip->bits());
      if (!set.Contains(*ip)) std::abort();
    }
  }
  return 0;
}
