// LoginTracker: turns the inputs of a LoginSource into `login` events (success, failure,
// logout), and decides which input reports what, so that one login is never counted twice
// although it shows in several places (sshd writes the auth log, wtmp and btmp):
//
//   - While an auth log input is in use (auth_log file, journal or syslog socket), it reports
//     every success, failure and logout. utmp, wtmp and btmp records then make no events; they
//     only keep the table of open sessions (counted as left_to_auth_log).
//   - Otherwise wtmp reports successes (USER_PROCESS) and logouts (DEAD_PROCESS of a known
//     session), or utmp when wtmp is not in use (changes of its slots); btmp reports failures.
//
// A message that stands for N attempts (rsyslog's `message repeated N times`, sysklogd's
// `last message repeated N times` after it, sudo's `N incorrect password attempts`) gives N
// identical
// events, at most `max_repeat` (the rest counted as dropped `repeat_limit`); failures carry an
// aggregation key, so the aggregator may merge them into one event whose `count` is N, while
// the detection upstream of it sees N.
//
// BusyBox telnetd runs login without the peer's address (no -h), so login's lines name none;
// telnetd's LOGIN_PROCESS record for the session (utmp, wtmp) does, with login's pid. A line
// of login (pid P) without an address takes the address of the record of pid P, when seen.
//
// Logouts carry the user, tty and remote address of their session (from the table of
// sessions, keyed by tty for utmp records and by service and pid for log lines) and the
// session's duration when its start was seen.
//
// Not thread-safe: used by the collector's thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/collectors/login/login_parse.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/login_source.h"

namespace vigil::login {

struct TrackerOptions {
  uint64_t max_repeat = 1000;     // events one message may stand for
  size_t session_entries = 1024;  // open sessions remembered (per table); the oldest go first
};

class LoginTracker {
 public:
  using Emit = std::function<void(Event&&)>;

  // `stats` and `emit` must outlive the tracker.
  LoginTracker(CollectorStats& stats, Emit emit, TrackerOptions options = {});

  // The inputs in use now (LoginSource::InUse()). Decides who reports what (above).
  void SetInUse(uint32_t in_use) { in_use_ = in_use; }

  // One input; `now_ms` is the wall-clock time it was read (the events' time, unless the input
  // carries its own: journal entries and utmp records).
  void Handle(const LoginInput& in, int64_t now_ms);

 private:
  struct Session {
    std::string user;
    std::string tty;
    std::string source_ip;
    std::string source_host;
    int32_t source_port = -1;
    int64_t start_ms = 0;
  };
  // A map that forgets its oldest entry when full.
  class SessionTable {
   public:
    explicit SessionTable(size_t limit) : limit_(limit) {}
    // True when an older entry had to be forgotten.
    bool Put(const std::string& key, Session s);
    // Removes and returns the entry; false when absent.
    bool Take(const std::string& key, Session* out);
    // The entry, left in place; null when absent.
    const Session* Find(const std::string& key) const;
    void Clear();

   private:
    size_t limit_;
    std::list<std::string> order_;  // oldest first
    std::map<std::string, std::pair<Session, std::list<std::string>::iterator>, std::less<>> map_;
  };

  bool AuthLogInUse() const;
  LoginOrigin SessionFile() const;  // kWtmp, kUtmp, or kAuthLog when neither is in use

  void HandleMessage(LoginOrigin origin, std::string_view program, int64_t pid, std::string_view message,
                     int64_t ts_ms);
  void HandleRecord(LoginOrigin origin, std::string_view bytes, int64_t now_ms);
  void HandleUtmp(std::string_view content, bool initial, int64_t now_ms);
  void UtmpLogin(const UtmpRecord& r, LoginOrigin origin, int64_t now_ms, bool report);
  void UtmpLogout(const UtmpRecord& r, LoginOrigin origin, int64_t now_ms, bool report);
  void EmitLogin(const Login& l, LoginOrigin origin, int64_t ts_ms, std::string_view message, int64_t duration_ms);
  void Remember(SessionTable& table, const std::string& key, Session s);
  void RememberLoginPeer(const UtmpRecord& r, int64_t now_ms);

  CollectorStats& stats_;
  Emit emit_;
  TrackerOptions options_;
  uint32_t in_use_ = 0;
  SessionTable tty_sessions_;  // from utmp and wtmp records, by tty
  SessionTable log_sessions_;  // from log lines, by service and pid (or address and port)
  // The peers of telnet sessions by the pid of their login: the LOGIN_PROCESS records that
  // BusyBox telnetd writes to utmp and wtmp before it runs login without the peer's address.
  SessionTable login_peers_;
  std::string utmp_;           // the last utmp content seen
  // The login of the last line read, for sysklogd's "last message repeated N times".
  std::optional<Login> last_login_;
  LoginOrigin last_origin_ = LoginOrigin::kAuthLog;
  std::string last_message_;
};

}  // namespace vigil::login
