// LoginSource: the raw inputs of the login collector, as they arrive: lines of an auth log
// file, syslog datagrams sent to a socket the agent listens on, systemd journal entries, and
// utmp-format records (wtmp and btmp appended, utmp rewritten in place). Parsing and deciding
// what is a login is the collector's job (agent/collectors/login/); the source only reads.
//
// Implementations:
//   platform/linux/login_source_linux.cpp  inotify-driven file tails followed by inode across
//                                          rotation, a unix datagram socket, and the journal
//                                          (libsystemd, loaded at run time, when the build has
//                                          VIGIL_WITH_JOURNAL)
//   platform/fake/fake_login_source.h      scripted inputs, for unit tests
//
// What a source reads (Linux; each path may be empty, which turns that input off):
//   auth_log  a text file (e.g. /var/log/auth.log). Opened at its end: lines written before the
//             source opened are never delivered. Followed by inode: when the path is renamed
//             or removed and a new file appears there, the old file is read to its end first
//             (and for a grace period afterwards, for writers that have not reopened yet),
//             then the new one from its start. A truncated file (copytruncate) is read again
//             from offset 0. A file that appears after the source opened is read from its start.
//             No line is delivered twice.
//   wtmp, btmp  files of 384-byte records (glibc's struct utmp), followed the same way, one
//             input per complete record.
//   utmp      a file of 384-byte slots rewritten in place: the whole content on every change
//             (and once, marked `initial`, when the source opens).
//   journal   entries whose SYSLOG_IDENTIFIER is one of `journal_identifiers`, from the end of
//             the journal when the source opened.
//   syslog_socket  a unix datagram socket bound at this path (mode 0666, like /dev/log), one
//             input per datagram. A stale socket file is replaced; a path where another
//             process is listening is left alone (that input is then not in use).
//
// Threads: Read is called from one thread (the collector's); Interrupt and InUse from any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/stats.h"
#include "agent/core/status.h"

namespace vigil {

enum class LoginOrigin : uint8_t { kAuthLog = 0, kJournal, kSyslog, kUtmp, kWtmp, kBtmp };
inline constexpr int kLoginOriginCount = 6;

// "auth_log", "journal", "syslog", "utmp", "wtmp", "btmp".
constexpr std::string_view LoginOriginName(LoginOrigin origin) {
  switch (origin) {
    case LoginOrigin::kAuthLog:
      return "auth_log";
    case LoginOrigin::kJournal:
      return "journal";
    case LoginOrigin::kSyslog:
      return "syslog";
    case LoginOrigin::kUtmp:
      return "utmp";
    case LoginOrigin::kWtmp:
      return "wtmp";
    case LoginOrigin::kBtmp:
      return "btmp";
  }
  return "";
}
// The bit of an origin in LoginSource::InUse().
constexpr uint32_t LoginOriginBit(LoginOrigin origin) { return 1u << static_cast<uint32_t>(origin); }

struct LoginInput {
  LoginOrigin origin = LoginOrigin::kAuthLog;
  // auth_log: one line without its line end; syslog: one datagram; journal: MESSAGE;
  // wtmp/btmp: one 384-byte record; utmp: the whole file.
  std::string data;
  std::string identifier;  // journal: SYSLOG_IDENTIFIER
  int64_t pid = -1;        // journal: SYSLOG_PID, else _PID; -1 when absent
  int64_t ts_ms = 0;       // journal: the entry's realtime stamp (UTC ms); 0 for the others
  bool initial = false;    // utmp: the content when the source opened (no change happened)
};

enum class JournalMode : uint8_t {
  kOff,
  kAuto,  // read the journal when journald runs here and no auth_log file is being read
  kOn,    // read it whenever it can be opened
};

struct LoginSourceOptions {
  std::string auth_log;
  std::string utmp;
  std::string wtmp;
  std::string btmp;
  JournalMode journal = JournalMode::kAuto;
  std::vector<std::string> journal_identifiers;
  std::string journal_directory;  // "" = the system journal; else only the files of this directory
  std::string syslog_socket;
  size_t max_line_bytes = 8192;    // longer lines and datagrams are cut (counted lines_truncated)
  int check_interval_ms = 10'000;  // safety check of every path (missed or overflowed inotify events)
  // Where the source counts what it does (log_rotations, log_truncations, lines_truncated,
  // input_read_errors, inotify_overflows); may be null.
  CollectorStats* stats = nullptr;
};

class LoginSource {
 public:
  virtual ~LoginSource() = default;

  // Which origins deliver now, as LoginOriginBit()s. An input is in use while its file is
  // open (a file that appears later becomes in use then), its socket bound, its journal open.
  virtual uint32_t InUse() const = 0;

  // Waits until inputs arrive, Interrupt is called, or `timeout_ms` passes, then appends what
  // arrived to *out, oldest first within each input. An error means the source is broken for
  // good.
  virtual Status Read(int timeout_ms, std::vector<LoginInput>* out) = 0;

  // Makes a Read in progress return soon, and every later Read return at once. Thread-safe.
  virtual void Interrupt() = 0;
};

// Opens every configured input. Inputs that cannot be used here (file and directory absent,
// journal not running, socket path taken) are logged and left out; Unavailable only when no
// input at all could be set up (nothing is open and nothing is watched for).
Result<std::unique_ptr<LoginSource>> OpenLoginSource(const LoginSourceOptions& options);

}  // namespace vigil
