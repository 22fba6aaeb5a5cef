#include "agent/collectors/login/login_tracker.h"

#include <algorithm>
#include <utility>

namespace vigil::login {
namespace {

constexpr uint32_t kAuthLogBits = LoginOriginBit(LoginOrigin::kAuthLog) | LoginOriginBit(LoginOrigin::kJournal) |
                                  LoginOriginBit(LoginOrigin::kSyslog);

int64_t RecordMs(const UtmpRecord& r, int64_t now_ms) {
  if (r.tv_sec <= 0) return now_ms;
  return int64_t{r.tv_sec} * 1000 + r.tv_usec / 1000;
}

// Sessions of log lines: sshd and dropbear by remote address and port (bare sshd lines have
// no pid), the others by pid (login, su and sudo log the start and the end from one process).
std::string LogSessionKey(const Login& l) {
  std::string key(ServiceName(l.service));
  if ((l.service == Service::kSshd || l.service == Service::kDropbear) && !l.source_ip.empty() && l.source_port >= 0)
    return key + "|" + l.source_ip + "|" + std::to_string(l.source_port);
  if (l.pid >= 0) return key + "|pid " + std::to_string(l.pid);
  return "";
}

// login_peers_ is keyed by the pid of login.
std::string LoginPeerKey(int64_t pid) { return "pid " + std::to_string(pid); }

// A login of a utmp-format record, as Login.
Login FromRecord(const UtmpRecord& r, Action action, Outcome outcome) {
  Login l;
  l.action = action;
  l.outcome = outcome;
  l.user = r.user;
  l.tty = r.line;
  if (r.pid > 0) l.pid = r.pid;
  l.source_ip = UtmpSourceIp(r, &l.source_host);
  // OpenSSH writes "ssh:notty" as the line of failed logins without a terminal.
  if (r.line.rfind("ssh:", 0) == 0) l.service = Service::kSshd;
  return l;
}

}  // namespace

bool LoginTracker::SessionTable::Put(const std::string& key, Session s) {
  if (auto it = map_.find(key); it != map_.end()) {
    order_.erase(it->second.second);
    map_.erase(it);
  }
  bool evicted = false;
  if (limit_ > 0 && map_.size() >= limit_) {
    map_.erase(order_.front());
    order_.pop_front();
    evicted = true;
  }
  order_.push_back(key);
  map_.emplace(key, std::make_pair(std::move(s), std::prev(order_.end())));
  return evicted;
}

bool LoginTracker::SessionTable::Take(const std::string& key, Session* out) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  *out = std::move(it->second.first);
  order_.erase(it->second.second);
  map_.erase(it);
  return true;
}

const LoginTracker::Session* LoginTracker::SessionTable::Find(const std::string& key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second.first;
}

void LoginTracker::SessionTable::Clear() {
  map_.clear();
  order_.clear();
}

LoginTracker::LoginTracker(CollectorStats& stats, Emit emit, TrackerOptions options)
    : stats_(stats),
      emit_(std::move(emit)),
      options_(options),
      tty_sessions_(options.session_entries),
      log_sessions_(options.session_entries),
      login_peers_(options.session_entries) {}

bool LoginTracker::AuthLogInUse() const { return (in_use_ & kAuthLogBits) != 0; }

LoginOrigin LoginTracker::SessionFile() const {
  if (in_use_ & LoginOriginBit(LoginOrigin::kWtmp)) return LoginOrigin::kWtmp;
  if (in_use_ & LoginOriginBit(LoginOrigin::kUtmp)) return LoginOrigin::kUtmp;
  return LoginOrigin::kAuthLog;
}

void LoginTracker::Handle(const LoginInput& in, int64_t now_ms) {
  switch (in.origin) {
    case LoginOrigin::kAuthLog: {
      stats_.Count("lines_read");
      const SyslogLine line = ParseLogFileLine(in.data);
      HandleMessage(in.origin, line.program, line.pid, line.message, now_ms);
      break;
    }
    case LoginOrigin::kSyslog: {
      stats_.Count("lines_read");
      auto frame = ParseSyslogDatagram(in.data);
      if (!frame.ok()) {
        stats_.Count("syslog_frames_malformed");
        break;
      }
      HandleMessage(in.origin, frame->program, frame->pid, frame->message, now_ms);
      break;
    }
    case LoginOrigin::kJournal:
      stats_.Count("lines_read");
      HandleMessage(in.origin, in.identifier, in.pid, in.data, in.ts_ms > 0 ? in.ts_ms : now_ms);
      break;
    case LoginOrigin::kWtmp:
    case LoginOrigin::kBtmp:
      HandleRecord(in.origin, in.data, now_ms);
      break;
    case LoginOrigin::kUtmp:
      HandleUtmp(in.data, in.initial, now_ms);
      break;
  }
}

void LoginTracker::Remember(SessionTable& table, const std::string& key, Session s) {
  if (key.empty()) return;
  if (table.Put(key, std::move(s))) stats_.Count("session_table_evictions");
}

void LoginTracker::RememberLoginPeer(const UtmpRecord& r, int64_t now_ms) {
  if (r.type != kUtLoginProcess || r.pid <= 0) return;
  Session s;
  s.tty = r.line;
  s.source_ip = UtmpSourceIp(r, &s.source_host, &s.source_port);
  if (s.source_ip.empty()) return;
  s.start_ms = RecordMs(r, now_ms);
  Remember(login_peers_, LoginPeerKey(r.pid), std::move(s));
}

void LoginTracker::HandleMessage(LoginOrigin origin, std::string_view program, int64_t pid, std::string_view message,
                                 int64_t ts_ms) {
  uint64_t repeats = 0;
  if (program.empty() && ParseLastMessageRepeated(message, &repeats)) {
    // sysklogd: the line before, `repeats` more times (it may say so more than once).
    if (last_login_ && last_origin_ == origin) {
      Login again = *last_login_;
      again.count = std::max<uint64_t>(again.count, 1) * repeats;
      EmitLogin(again, origin, ts_ms, last_message_, -1);
    }
    return;
  }
  ParsedMessage p = ParseAuthMessage(program, pid, message);
  last_login_.reset();
  switch (p.kind) {
    case MessageKind::kLogin:
      break;
    case MessageKind::kKnown:
      return;
    case MessageKind::kNotUnderstood:
      stats_.Count("lines_not_understood");
      return;
    case MessageKind::kOtherProgram:
      stats_.Count("lines_other_programs");
      return;
  }
  Login& l = p.login;
  if (l.service == Service::kLogin && l.source_ip.empty() && l.source_host.empty() && l.pid >= 0) {
    if (const Session* peer = login_peers_.Find(LoginPeerKey(l.pid))) {
      l.source_ip = peer->source_ip;
      l.source_port = peer->source_port;
      if (l.tty.empty()) l.tty = peer->tty;
    }
  }
  // The message the event stands for: the inner one of "message repeated N times: [ ... ]".
  std::string_view shown = message;
  if (shown.rfind("message repeated ", 0) == 0) {
    size_t open = shown.find('[');
    if (open != std::string_view::npos) {
      shown.remove_prefix(open + 1);
      if (!shown.empty() && shown.front() == ' ') shown.remove_prefix(1);
      if (!shown.empty() && shown.back() == ']') shown.remove_suffix(1);
    }
  }
  const std::string key = LogSessionKey(l);
  int64_t duration_ms = -1;
  if (l.action == Action::kSuccess) {
    Remember(log_sessions_, key, Session{l.user, l.tty, l.source_ip, l.source_host, l.source_port, ts_ms});
  } else if (l.action == Action::kLogout) {
    Session s;
    if (!key.empty() && log_sessions_.Take(key, &s)) {
      duration_ms = ts_ms - s.start_ms;
      if (l.user.empty()) l.user = s.user;
      if (l.tty.empty()) l.tty = s.tty;
      if (l.source_ip.empty() && l.source_host.empty()) {
        l.source_ip = s.source_ip;
        l.source_host = s.source_host;
        l.source_port = s.source_port;
      }
    }
  }
  last_login_ = l;
  last_origin_ = origin;
  last_message_ = std::string(shown);
  EmitLogin(l, origin, ts_ms, shown, duration_ms);
}

void LoginTracker::HandleRecord(LoginOrigin origin, std::string_view bytes, int64_t now_ms) {
  stats_.Count("records_read");
  auto rec = ParseUtmpRecord(bytes);
  if (!rec.ok()) {
    stats_.Count("records_malformed");
    return;
  }
  const UtmpRecord& r = *rec;
  if (origin == LoginOrigin::kWtmp) RememberLoginPeer(r, now_ms);
  if (origin == LoginOrigin::kBtmp) {
    if (r.type != kUtLoginProcess && r.type != kUtUserProcess) return;
    if (AuthLogInUse()) {
      stats_.Count("left_to_auth_log");
      return;
    }
    Login l = FromRecord(r, Action::kFailure, Outcome::kFailed);
    EmitLogin(l, origin, RecordMs(r, now_ms), "", -1);
    return;
  }
  // wtmp
  const bool report = SessionFile() == LoginOrigin::kWtmp;
  if (r.type == kUtUserProcess) {
    UtmpLogin(r, origin, now_ms, report);
  } else if (r.type == kUtDeadProcess) {
    UtmpLogout(r, origin, now_ms, report);
  }
}

void LoginTracker::UtmpLogin(const UtmpRecord& r, LoginOrigin origin, int64_t now_ms, bool report) {
  if (r.user.empty() || r.line.empty()) {
    stats_.Count("records_malformed");
    return;
  }
  const int64_t ts = RecordMs(r, now_ms);
  Login l = FromRecord(r, Action::kSuccess, Outcome::kAccepted);
  Remember(tty_sessions_, r.line, Session{l.user, l.tty, l.source_ip, l.source_host, -1, ts});
  if (!report) return;
  if (AuthLogInUse()) {
    stats_.Count("left_to_auth_log");
    return;
  }
  EmitLogin(l, origin, ts, "", -1);
}

void LoginTracker::UtmpLogout(const UtmpRecord& r, LoginOrigin origin, int64_t now_ms, bool report) {
  if (r.line.empty()) return;
  Session s;
  const bool known = tty_sessions_.Take(r.line, &s);
  // Writers clear the user of a logout record; one that keeps it still tells who left.
  if (!known && r.user.empty()) return;
  if (!report) return;
  if (AuthLogInUse()) {
    stats_.Count("left_to_auth_log");
    return;
  }
  const int64_t ts = RecordMs(r, now_ms);
  Login l = FromRecord(r, Action::kLogout, Outcome::kClosed);
  if (known) {
    l.user = s.user;
    l.source_ip = s.source_ip;
    l.source_host = s.source_host;
  }
  EmitLogin(l, origin, ts, "", known ? ts - s.start_ms : -1);
}

void LoginTracker::HandleUtmp(std::string_view content, bool initial, int64_t now_ms) {
  const size_t slots = content.size() / kUtmpRecordSize;
  if (content.size() % kUtmpRecordSize != 0) stats_.Count("records_malformed");
  const bool report = !initial && SessionFile() == LoginOrigin::kUtmp;
  for (size_t i = 0; i < slots; ++i) {
    std::string_view now = content.substr(i * kUtmpRecordSize, kUtmpRecordSize);
    if (i < utmp_.size() / kUtmpRecordSize && now == std::string_view(utmp_).substr(i * kUtmpRecordSize, kUtmpRecordSize))
      continue;
    if (auto r = ParseUtmpRecord(now); r.ok()) RememberLoginPeer(*r, now_ms);
  }
  if (!initial && SessionFile() != LoginOrigin::kUtmp) {
    // wtmp keeps the table of sessions; utmp only gave the sessions open at start.
    utmp_.assign(content.substr(0, slots * kUtmpRecordSize));
    return;
  }
  const size_t old_slots = utmp_.size() / kUtmpRecordSize;
  const std::string_view previous = utmp_;
  for (size_t i = 0; i < std::max(slots, old_slots); ++i) {
    std::string_view now = i < slots ? content.substr(i * kUtmpRecordSize, kUtmpRecordSize) : std::string_view();
    std::string_view before =
        i < old_slots ? previous.substr(i * kUtmpRecordSize, kUtmpRecordSize) : std::string_view();
    if (now == before) continue;  // an unchanged slot
    Result<UtmpRecord> old_rec = Status::NotFound("");
    if (!before.empty()) old_rec = ParseUtmpRecord(before);
    Result<UtmpRecord> new_rec = Status::NotFound("");
    if (!now.empty()) {
      stats_.Count("records_read");
      new_rec = ParseUtmpRecord(now);
      if (!new_rec.ok()) stats_.Count("records_malformed");
    }
    const bool was_user = old_rec.ok() && old_rec->type == kUtUserProcess;
    const bool is_user = new_rec.ok() && new_rec->type == kUtUserProcess;
    const bool same_session = was_user && is_user && old_rec->pid == new_rec->pid && old_rec->line == new_rec->line &&
                              old_rec->user == new_rec->user;
    if (same_session) continue;  // the same session with, say, a new time
    if (was_user) {
      // The slot's session ended: its record tells who it was, whatever replaced it.
      UtmpRecord gone = *old_rec;
      if (new_rec.ok() && new_rec->type == kUtDeadProcess && new_rec->tv_sec > 0) {
        gone.tv_sec = new_rec->tv_sec;
        gone.tv_usec = new_rec->tv_usec;
      } else {
        gone.tv_sec = 0;  // the time of the change is when it was seen
      }
      UtmpRecord logout = gone;
      logout.type = kUtDeadProcess;
      UtmpLogout(logout, LoginOrigin::kUtmp, now_ms, report);
    }
    if (is_user) {
      if (initial) {
        const UtmpRecord& r = *new_rec;
        if (!r.user.empty() && !r.line.empty()) {
          std::string host;
          std::string ip = UtmpSourceIp(r, &host);
          Remember(tty_sessions_, r.line, Session{r.user, r.line, ip, host, -1, RecordMs(r, now_ms)});
        }
      } else {
        UtmpLogin(*new_rec, LoginOrigin::kUtmp, now_ms, report);
      }
    }
  }
  utmp_.assign(content.substr(0, slots * kUtmpRecordSize));
}

void LoginTracker::EmitLogin(const Login& l, LoginOrigin origin, int64_t ts_ms, std::string_view message,
                             int64_t duration_ms) {
  Event e;
  e.type = "login";
  e.action = std::string(ActionName(l.action));
  e.ts_ms = ts_ms;
  Json& d = e.data;
  if (!l.user.empty()) d["user"] = l.user;
  if (!l.by_user.empty()) d["by_user"] = l.by_user;
  if (l.invalid_user) d["invalid_user"] = true;
  if (!l.source_ip.empty()) d["source_ip"] = l.source_ip;
  if (l.source_port >= 0) d["source_port"] = l.source_port;
  if (!l.source_host.empty()) d["source_host"] = l.source_host;
  if (!l.method.empty()) d["method"] = l.method;
  if (l.service != Service::kUnknown) d["service"] = std::string(ServiceName(l.service));
  d["result"] = std::string(OutcomeName(l.outcome));
  if (!l.tty.empty()) d["tty"] = l.tty;
  if (l.pid >= 0) d["pid"] = l.pid;
  if (!l.command.empty()) d["command"] = l.command;
  d["source"] = std::string(LoginOriginName(origin));
  if (!message.empty()) d["message"] = CleanText(message, kMaxMessageBytes);
  if (duration_ms >= 0) d["duration_s"] = duration_ms / 1000;
  // Identical failures may be merged (counted); successes and logouts never are.
  if (l.action == Action::kFailure) e.agg_key = d.dump();
  const uint64_t n = std::min(l.count, options_.max_repeat);
  if (l.count > n) stats_.Drop("repeat_limit", l.count - n);
  for (uint64_t i = 1; i < n; ++i) emit_(Event(e));
  if (n > 0) emit_(std::move(e));
}

}  // namespace vigil::login
