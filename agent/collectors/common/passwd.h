// User names for uids, from /etc/passwd read over Env (no NSS: a device's users are local).
//
// passwd(5) format, one user per line:
//   name:password:UID:GID:GECOS:home:shell
// A line is used when it has at least the first three fields, a non-empty name and a decimal
// UID in [0, 2^32-2]. Empty lines and lines starting with '#' are skipped silently; NIS compat
// lines ("+..." / "-...") and anything else that does not fit are skipped and counted as
// malformed. When a UID appears twice the first line wins, as getpwuid(3) does.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/core/stats.h"
#include "agent/platform/env.h"

namespace vigil::common {

struct PasswdTable {
  std::unordered_map<uint32_t, std::string> names;
  size_t malformed_lines = 0;
};

PasswdTable ParsePasswd(std::string_view text);

// Caches the uid -> name table and re-reads the file when its mtime, size or inode changes;
// it looks at the file at most once per `recheck_ms` (by env.clock().MonotonicMs()).
// Counters (in `stats`): "passwd_reloads", "passwd_malformed_lines" (per load).
// Thread-safe.
class UserNames {
 public:
  UserNames(Env& env, CollectorStats& stats, std::string path = "/etc/passwd", int64_t recheck_ms = 1000);

  // The user name of `uid`; the uid in decimal when the file has no such user or cannot be
  // read.
  std::string Name(uint32_t uid);

 private:
  void RefreshLocked();

  Env& env_;
  CollectorStats& stats_;
  const std::string path_;
  const int64_t recheck_ms_;
  std::mutex mu_;
  bool loaded_ = false;
  int64_t next_check_ms_ = 0;
  FileInfo info_;
  PasswdTable table_;
};

}  // namespace vigil::common
