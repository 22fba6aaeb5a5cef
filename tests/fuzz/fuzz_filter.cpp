// Fuzzes the hub's filter language (hub/query/filter.h): any bytes must yield a Filter or a
// Status, never a crash, hang or exception. A filter that parses must print to text that parses
// back to the same filter, and must compile for both dialects (or fail only on the parameter
// limit) with exactly one placeholder number per parameter.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "hub/query/filter.h"

namespace {

// Distinct placeholder numbers (after `sigil`) in `where`; aborts on one out of range.
std::set<long> Placeholders(const std::string& where, char sigil) {
  std::set<long> out;
  for (size_t i = 0; i < where.size(); ++i) {
    if (where[i] != sigil) continue;
    size_t j = i + 1;
    long n = 0;
    while (j < where.size() && where[j] >= '0' && where[j] <= '9') n = n * 10 + (where[j++] - '0');
    if (j == i + 1) continue;
    out.insert(n);
    i = j - 1;
  }
  return out;
}

void Check(const vigil::hub::Filter& f, vigil::hub::SqlDialect d, char sigil, char other) {
  auto sql = vigil::hub::CompileFilter(f, d, 1);
  if (!sql.ok()) {
    if (sql.status().message().find("parameters") == std::string_view::npos) std::abort();
    return;
  }
  const std::set<long> seen = Placeholders(sql->where, sigil);
  if (seen.size() != sql->params.size()) std::abort();
  if (!seen.empty() && (*seen.begin() != 1 || *seen.rbegin() != static_cast<long>(sql->params.size()))) std::abort();
  if (sql->where.find(other) != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = vigil::hub::ParseFilter(text);
  if (!f.ok()) {
    if (f.status().message().empty()) std::abort();
    return 0;
  }
  const std::string printed = f->ToString();
  auto again = vigil::hub::ParseFilter(printed);
  if (!again.ok() || !(*again == *f) || again->ToString() != printed) std::abort();
  Check(*f, vigil::hub::SqlDialect::kSqlite, '?', '$');
  Check(*f, vigil::hub::SqlDialect::kPostgres, '$', '?');
  return 0;
}
