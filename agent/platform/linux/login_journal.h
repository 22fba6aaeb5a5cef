// LoginJournal: the systemd journal as an input of the Linux LoginSource: entries whose
// SYSLOG_IDENTIFIER is one of a list, from the journal's end when opened.
//
// Implementations (CMake picks one):
//   login_journal_linux.cpp  libsystemd's sd_journal, loaded with dlopen("libsystemd.so.0")
//                            when the journal is first opened, so the agent neither needs the
//                            library on devices without systemd nor carries it in memory when
//                            the journal is not read (VIGIL_WITH_JOURNAL=ON)
//   login_journal_none.cpp   Open always fails with Unavailable (VIGIL_WITH_JOURNAL=OFF)
//
// Not thread-safe: the owner's thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/login_source.h"

namespace vigil {

class LoginJournal {
 public:
  virtual ~LoginJournal() = default;

  // The descriptor to poll (for `events()`), and how long a poll may wait at most (-1: as
  // long as it likes) before Read must be called anyway.
  virtual int fd() const = 0;
  virtual short events() const = 0;
  virtual int TimeoutMs() = 0;

  // Acknowledges the wake-up and appends up to `max_entries` new entries (origin kJournal).
  // *more is set when entries are left for the next call. An error means the journal is
  // broken for good.
  virtual Status Read(size_t max_entries, size_t max_bytes, std::vector<LoginInput>* out, bool* more) = 0;
};

// `directory` empty: the local system journal, and only when journald runs here (its socket
// /run/systemd/journal/socket exists) unless `require_running` is false. Otherwise the journal
// files of that directory. Unavailable, saying why, when it cannot be read.
Result<std::unique_ptr<LoginJournal>> OpenLoginJournal(const std::vector<std::string>& identifiers,
                                                       const std::string& directory, bool require_running);

}  // namespace vigil
