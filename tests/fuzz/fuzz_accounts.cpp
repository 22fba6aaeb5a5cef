// Fuzzes the local_users parsers (agent/collectors/local_users/accounts.h) with the same input
// as passwd, group and shadow text: none may crash; every accepted entry has a name; errors
// name lines in order; the events built from the result serialise as JSON (valid UTF-8) and a
// view diffed with itself yields nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/collectors/local_users/account_events.h"
#include "agent/collectors/local_users/accounts.h"

namespace {

using namespace vigil::local_users;

template <typename T>
void CheckParsed(const Parsed<T>& p, std::string_view in) {
  size_t lines = 1;
  for (char c : in) lines += c == '\n';
  size_t last = 0;
  for (const LineError& e : p.errors) {
    if (e.line == 0 || e.line > lines || e.line <= last || e.reason.empty()) std::abort();
    last = e.line;
  }
  for (const T& entry : p.entries)
    if (entry.name.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto passwd = ParsePasswdText(in);
  const auto group = ParseGroupText(in);
  const auto shadow = ParseShadowText(in);
  CheckParsed(passwd, in);
  CheckParsed(group, in);
  CheckParsed(shadow, in);
  for (const PasswdEntry& e : passwd.entries)
    if (e.uid == UINT32_MAX || e.gid == UINT32_MAX) std::abort();

  const Accounts accounts = MergeAccounts(passwd.entries, group.entries, &shadow.entries);
  (void)SnapshotData(accounts, passwd.errors.size(), 8).dump();
  if (!DiffAccounts(accounts, accounts).empty()) std::abort();
  for (const vigil::Event& e : DiffAccounts(Accounts{}, accounts)) (void)e.data.dump();
  for (const vigil::Event& e : DiffAccounts(accounts, Accounts{})) (void)e.data.dump();
  (void)ClassifyPasswordField(in);
  (void)IsLoginShell(in);
  return 0;
}
