// AccountsTracker: reads the account files over Env, remembers the last good view, and turns
// a re-read into change events (account_events.h). No threads of its own; the collector
// calls it from its one thread (not thread-safe).
//
// Reading rules:
//   - passwd must be readable at Load (else Load fails and the collector is unavailable).
//   - group and shadow may be absent or unreadable (an agent that is not root cannot read
//     shadow): they are then read as empty / unknown, and shadow_read is false.
//   - At a re-read, a file that was read before and now cannot be (or is larger than
//     kMaxFileBytes) makes the whole re-read fail: the last good view is kept and nothing is
//     reported (counted "read_errors", logged). Partial views are never diffed, so a failed
//     read never looks like every user being removed.
//   - Malformed lines are skipped (accounts.h), counted per load as "malformed_lines", and
//     each is logged once as "<path>:<line>: <reason>" (again only if it changes).
//
//   - Tools such as useradd replace the files one after the other (passwd, then shadow, then
//     group), each with its own fsync, so a re-read may fall between two of them. TryReload
//     refuses a view in which a user with "x" in passwd has just lost or not yet got its
//     shadow entry (counted "incomplete_reads"); the collector reads again after the next
//     change, or after a deadline with Reload, which takes the view as it is.
//
// Counters (in `stats`): reloads, malformed_lines, read_errors, incomplete_reads.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/collectors/local_users/accounts.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"

namespace vigil::local_users {

inline constexpr size_t kMaxFileBytes = 16 << 20;

struct AccountPaths {
  std::string passwd = "/etc/passwd";
  std::string group = "/etc/group";
  std::string shadow = "/etc/shadow";
};

class AccountsTracker {
 public:
  AccountsTracker(Env& env, CollectorStats& stats, AccountPaths paths);

  // The first read. Fails when passwd cannot be read.
  Status Load();
  // Re-reads the files; returns the change events since the last good view (none when a
  // read failed) and makes the new view current.
  std::vector<Event> Reload();
  // Reload, unless the files look half-written (see above): then nothing changes and the
  // result is nullopt.
  std::optional<std::vector<Event>> TryReload();
  // The `snapshot` event of the current view (type, action and data set).
  Event Snapshot() const;

  const Accounts& accounts() const { return accounts_; }
  const AccountPaths& paths() const { return paths_; }

 private:
  struct FileText {
    bool present = false;
    std::string text;
  };
  // Reads one file. `required`: absence is an error (passwd always; others once read).
  Result<FileText> ReadOne(const std::string& path, bool required);
  Result<Accounts> ReadAll();
  std::optional<std::vector<Event>> DoReload(bool accept_incomplete);
  void Report(const std::string& path, const std::vector<LineError>& errors, std::set<std::string>* now);

  Env& env_;
  CollectorStats& stats_;
  const AccountPaths paths_;
  Accounts accounts_;
  bool loaded_ = false;
  bool group_seen_ = false;
  bool shadow_seen_ = false;
  size_t malformed_lines_ = 0;      // in the current view
  std::set<std::string> reported_;  // malformed lines logged, as "path:line: reason"
};

}  // namespace vigil::local_users
