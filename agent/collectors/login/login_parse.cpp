#include "agent/collectors/login/login_parse.h"

#include <arpa/inet.h>

#include <cstring>
#include <initializer_list>

namespace vigil::login {
namespace {

using std::string_view;

constexpr size_t kNpos = string_view::npos;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsUpper(c) || (c >= 'a' && c <= 'z'); }
char Lower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWith(string_view s, string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(string_view s, string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

bool IStartsWith(string_view s, string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (Lower(s[i]) != Lower(p[i])) return false;
  return true;
}

bool Consume(string_view& s, string_view p) {
  if (!StartsWith(s, p)) return false;
  s.remove_prefix(p.size());
  return true;
}

bool IConsume(string_view& s, string_view p) {
  if (!IStartsWith(s, p)) return false;
  s.remove_prefix(p.size());
  return true;
}

bool StartsWithAny(string_view s, std::initializer_list<string_view> prefixes) {
  for (string_view p : prefixes)
    if (StartsWith(s, p)) return true;
  return false;
}

// A decimal number of 1-`max_digits` digits, the whole of `s`.
bool ParseNumber(string_view s, size_t max_digits, uint64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

bool ParsePort(string_view s, int32_t* port) {
  uint64_t v = 0;
  if (!ParseNumber(s, 5, &v) || v > 65535) return false;
  *port = static_cast<int32_t>(v);
  return true;
}

string_view TrimSpaces(string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Takes the word up to the next space (or the end) off the front of `s`; the space goes too.
string_view TakeWord(string_view& s) {
  size_t sp = s.find(' ');
  string_view w = s.substr(0, sp);
  s.remove_prefix(sp == kNpos ? s.size() : sp + 1);
  return w;
}

// --- Timestamps ---

bool IsMonth(string_view s) {
  static constexpr string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != 3) return false;
  for (size_t i = 0; i < kMonths.size(); i += 3)
    if (kMonths.substr(i, 3) == s) return true;
  return false;
}

bool IsWeekday(string_view s) {
  static constexpr string_view kDays = "MonTueWedThuFriSatSun";
  if (s.size() != 3) return false;
  for (size_t i = 0; i < kDays.size(); i += 3)
    if (kDays.substr(i, 3) == s) return true;
  return false;
}

// "hh:mm:ss"
bool IsClock(string_view s) {
  return s.size() == 8 && IsDigit(s[0]) && IsDigit(s[1]) && s[2] == ':' && IsDigit(s[3]) && IsDigit(s[4]) &&
         s[5] == ':' && IsDigit(s[6]) && IsDigit(s[7]);
}

// "Mmm dd hh:mm:ss" with dd space-padded or two digits: 15 characters.
bool IsRfc3164Time(string_view s) {
  if (s.size() < 15 || !IsMonth(s.substr(0, 3)) || s[3] != ' ') return false;
  if (!((s[4] == ' ' || IsDigit(s[4])) && IsDigit(s[5]) && s[6] == ' ')) return false;
  return IsClock(s.substr(7, 8));
}

// Removes a leading timestamp and the space after it; false (s unchanged) when there is none.
bool SkipTimestamp(string_view& s) {
  if (IsRfc3164Time(s)) {
    s.remove_prefix(15);
  } else if (s.size() >= 24 && IsWeekday(s.substr(0, 3)) && s[3] == ' ' && IsRfc3164Time(s.substr(4)) && s[19] == ' ' &&
             IsDigit(s[20]) && IsDigit(s[21]) && IsDigit(s[22]) && IsDigit(s[23])) {
    s.remove_prefix(24);
  } else if (s.size() >= 20 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) && IsDigit(s[3]) && s[4] == '-' &&
             IsDigit(s[5]) && IsDigit(s[6]) && s[7] == '-' && IsDigit(s[8]) && IsDigit(s[9]) && s[10] == 'T' &&
             IsClock(s.substr(11, 8))) {
    size_t i = 19;
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t digits = 0;
      while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
      if (digits == 0) return false;
    }
    if (i < s.size() && s[i] == 'Z') {
      ++i;
    } else if (i + 6 <= s.size() && (s[i] == '+' || s[i] == '-') && IsDigit(s[i + 1]) && IsDigit(s[i + 2]) &&
               s[i + 3] == ':' && IsDigit(s[i + 4]) && IsDigit(s[i + 5])) {
      i += 6;
    } else {
      return false;
    }
    s.remove_prefix(i);
  } else {
    return false;
  }
  if (s.empty()) return true;
  if (s.front() != ' ') return false;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return true;
}

// "name:" or "name[pid]:"; name has no space, '[', ']' or ':'. A path keeps its last part.
bool ParseTag(string_view word, string_view* program, int64_t* pid) {
  if (word.size() < 2 || word.back() != ':') return false;
  word.remove_suffix(1);
  int64_t p = -1;
  if (word.back() == ']') {
    size_t open = word.rfind('[');
    if (open == kNpos || open == 0) return false;
    uint64_t v = 0;
    if (!ParseNumber(word.substr(open + 1, word.size() - open - 2), 10, &v) || v > INT32_MAX) return false;
    p = static_cast<int64_t>(v);
    word = word.substr(0, open);
  }
  for (char c : word)
    if (c == '[' || c == ']' || c == ':' || static_cast<unsigned char>(c) <= ' ') return false;
  size_t slash = word.rfind('/');
  if (slash != kNpos) word.remove_prefix(slash + 1);
  if (word.empty()) return false;
  *program = word;
  *pid = p;
  return true;
}

// After the timestamp: up to `max_words` words, the last of which must be the tag.
SyslogLine ParseAfterTimestamp(string_view rest, int max_words) {
  SyslogLine out;
  string_view scan = rest;
  string_view after_first;
  for (int i = 0; i < max_words && !scan.empty(); ++i) {
    string_view word = TakeWord(scan);
    if (ParseTag(word, &out.program, &out.pid)) {
      out.message = scan;
      return out;
    }
    if (i == 0) after_first = scan;
  }
  // No tag: the first word was the host, the rest a message of an unknown program.
  out.message = max_words > 1 ? after_first : rest;
  return out;
}

string_view DropLineEnd(string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

// --- Addresses ---

// A DNS name; digits and dots alone are a broken address, not a name.
bool IsHostName(string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool letter = false;
  for (char c : s) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '.' || c == '_')) return false;
    letter = letter || IsAlpha(c);
  }
  return letter;
}

// A host as a program wrote it: an address goes to source_ip, a name to source_host.
// False when it is neither.
bool SetHost(string_view host, Login* l) {
  std::string ip = NormalizeIp(host);
  if (!ip.empty()) {
    l->source_ip = std::move(ip);
    return true;
  }
  if (!IsHostName(host)) return false;
  l->source_host = CleanText(host);
  return true;
}

// dropbear's "host:port", "[v6]:port" or "v6:port".
bool SetHostPort(string_view s, Login* l) {
  size_t colon = s.rfind(':');
  if (colon == kNpos || !ParsePort(s.substr(colon + 1), &l->source_port)) return false;
  string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return SetHost(host, l);
}

// Tail of an OpenSSH line after " from ": "HOST port N" then the end, " ssh2...", or ": ...".
bool ParseSshFromTail(string_view tail, Login* l) {
  string_view host = TakeWord(tail);
  if (!Consume(tail, "port ")) return false;
  size_t end = 0;
  while (end < tail.size() && IsDigit(tail[end])) ++end;
  if (!ParsePort(tail.substr(0, end), &l->source_port)) return false;
  tail.remove_prefix(end);
  if (!(tail.empty() || StartsWith(tail, " ssh") || StartsWith(tail, ":") || StartsWith(tail, " ["))) return false;
  return SetHost(host, l);
}

// "USER from HOST port N ..." where USER may hold spaces (attackers choose it): the right-most
// " from " whose tail parses wins, since what OpenSSH writes after the user is fixed.
bool ParseSshUserFrom(string_view s, Login* l) {
  size_t pos = s.size();
  while (pos > 0) {
    pos = s.rfind(" from ", pos - 1);
    if (pos == kNpos) return false;
    Login trial = *l;
    if (ParseSshFromTail(s.substr(pos + 6), &trial)) {
      *l = std::move(trial);
      l->user = CleanText(s.substr(0, pos));
      return true;
    }
  }
  return false;
}

void SetTty(string_view tty, Login* l) {
  if (StartsWith(tty, "/dev/")) tty.remove_prefix(5);
  if (tty.empty() || tty == "none" || tty == "???" || tty == "unknown") return;
  l->tty = CleanText(tty);
}

bool LooksLikeTty(string_view s) {
  return StartsWithAny(s, {"/dev/", "tty", "pts/", "console", "hvc", "ttyS", "ttyUSB", "ttyAMA", "vc/"});
}

ParsedMessage Known() { return ParsedMessage{MessageKind::kKnown, {}}; }
ParsedMessage NotUnderstood() { return ParsedMessage{MessageKind::kNotUnderstood, {}}; }
ParsedMessage Event(Login l) { return ParsedMessage{MessageKind::kLogin, std::move(l)}; }

Login Make(Service s, Action a, Outcome o) {
  Login l;
  l.service = s;
  l.action = a;
  l.outcome = o;
  return l;
}

// --- OpenSSH ---

ParsedMessage ParseSshd(string_view m) {
  string_view rest = m;
  const bool accepted = Consume(rest, "Accepted ");
  if (accepted || Consume(rest, "Failed ")) {
    string_view method = TakeWord(rest);
    if (!Consume(rest, "for ") || method.empty()) return NotUnderstood();
    Login l = Make(Service::kSshd, accepted ? Action::kSuccess : Action::kFailure,
                   accepted ? Outcome::kAccepted : Outcome::kFailed);
    if (!accepted && Consume(rest, "invalid user ")) l.invalid_user = true;
    if (!ParseSshUserFrom(rest, &l)) return NotUnderstood();
    // "keyboard-interactive/pam": the submethod is a detail of the server.
    method = method.substr(0, method.find('/'));
    // "none" is the probe every client starts with; it carries no credential.
    if (method == "none") return Known();
    l.method = CleanText(method);
    return Event(std::move(l));
  }
  if (Consume(rest, "Disconnected from user ")) {
    // "USER HOST port N"
    size_t port_at = rest.rfind(" port ");
    if (port_at == kNpos) return NotUnderstood();
    Login l = Make(Service::kSshd, Action::kLogout, Outcome::kClosed);
    if (!ParsePort(rest.substr(port_at + 6), &l.source_port)) return NotUnderstood();
    string_view head = rest.substr(0, port_at);
    size_t sp = head.rfind(' ');
    if (sp == kNpos || !SetHost(head.substr(sp + 1), &l)) return NotUnderstood();
    l.user = CleanText(head.substr(0, sp));
    return Event(std::move(l));
  }
  if (StartsWithAny(m, {"Invalid user ",
                        "User ",
                        "Disconnected from ",
                        "Disconnecting",
                        "Connection closed by",
                        "Connection reset by",
                        "Received disconnect from",
                        "Server listening on",
                        "Received signal",
                        "Received SIGHUP",
                        "Connection from ",
                        "error: ",
                        "fatal: ",
                        "debug",
                        "Starting session",
                        "Close session",
                        "Postponed ",
                        "Partial ",
                        "Timeout before authentication",
                        "banner exchange",
                        "Unable to negotiate",
                        "User child is on pid",
                        "Transferred:",
                        "Exiting on signal",
                        "Did not receive identification",
                        "Bad protocol version",
                        "Protocol major versions differ",
                        "kex_exchange_identification",
                        "ssh_dispatch_run_fatal",
                        "maximum authentication attempts exceeded",
                        "Authentication refused",
                        "Accepted key ",
                        "Failed to ",
                        "subsystem request",
                        "syslogin_perform_logout",
                        "reverse mapping checking",
                        "Nasty PTR record",
                        "Address ",
                        "drop connection",
                        "beginning MaxStartups",
                        "exited MaxStartups",
                        "srclimit_penalise",
                        "Set /proc/self/oom_score_adj",
                        "Not allowed at this time",
                        "Attempt to write login records",
                        "rexec line",
                        "Missing privilege separation directory",
                        "Could not chdir",
                        "Read error from remote host",
                        "Unable to open env file",
                        "Accepted certificate",
                        "Unknown",
                        "Change of username",
                        "Authentication tried for",
                        "input_userauth_request",
                        "userauth_",
                        "pam_"})) {
    return Known();
  }
  return NotUnderstood();
}

// --- dropbear ---

ParsedMessage ParseDropbear(string_view m) {
  string_view rest = m;
  // Older versions start messages in lower case: compare the prefixes case-insensitively.
  const bool bad = IConsume(rest, "Bad password attempt for '") || IConsume(rest, "Bad PAM password attempt for '");
  const bool ok =
      !bad && (IConsume(rest, "Password auth succeeded for '") || IConsume(rest, "PAM password auth succeeded for '"));
  if (bad || ok) {
    size_t from = rest.rfind("' from ");
    if (from == kNpos) return NotUnderstood();
    Login l =
        Make(Service::kDropbear, ok ? Action::kSuccess : Action::kFailure, ok ? Outcome::kAccepted : Outcome::kFailed);
    if (!SetHostPort(rest.substr(from + 7), &l)) return NotUnderstood();
    l.user = CleanText(rest.substr(0, from));
    l.method = "password";
    return Event(std::move(l));
  }
  if (IConsume(rest, "Pubkey auth succeeded for '")) {
    size_t from = rest.rfind(" from ");
    if (from == kNpos) return NotUnderstood();
    Login l = Make(Service::kDropbear, Action::kSuccess, Outcome::kAccepted);
    if (!SetHostPort(rest.substr(from + 6), &l)) return NotUnderstood();
    string_view head = rest.substr(0, from);
    size_t with = head.rfind("' with ");
    if (with == kNpos) return NotUnderstood();
    l.user = CleanText(head.substr(0, with));
    l.method = "publickey";
    return Event(std::move(l));
  }
  if (IConsume(rest, "Login attempt for nonexistent user")) {
    Login l = Make(Service::kDropbear, Action::kFailure, Outcome::kFailed);
    l.invalid_user = true;
    size_t from = rest.rfind(" from ");
    if (from == kNpos || !SetHostPort(rest.substr(from + 6), &l)) return NotUnderstood();
    string_view user = TrimSpaces(rest.substr(0, from));
    if (user.size() >= 2 && user.front() == '\'' && user.back() == '\'')
      l.user = CleanText(user.substr(1, user.size() - 2));
    return Event(std::move(l));
  }
  if (IConsume(rest, "Exit (")) {
    // "Exit (USER) from <HOST:PORT>: REASON"
    size_t close = rest.find(") from <");
    if (close == kNpos) return NotUnderstood();
    string_view addr = rest.substr(close + 8);
    size_t end = addr.find('>');
    if (end == kNpos) return NotUnderstood();
    Login l = Make(Service::kDropbear, Action::kLogout, Outcome::kClosed);
    if (!SetHostPort(addr.substr(0, end), &l)) return NotUnderstood();
    l.user = CleanText(rest.substr(0, close));
    return Event(std::move(l));
  }
  for (string_view p : {"Exit before auth", "Child connection from", "Max auth tries reached", "Early exit",
                        "Premature exit", "Running in background", "Not backgrounding", "Failed listening",
                        "Pubkey auth attempt", "Failed loading", "Generated hostkey", "Exit ", "Exited normally",
                        "Disallowed", "User account", "Login attempt with wrong user", "Unknown"}) {
    if (IStartsWith(m, p)) return Known();
  }
  return NotUnderstood();
}

// --- login (util-linux, shadow, BusyBox) ---

// util-linux writes a host name, an address or the tty after FROM.
void SetUtilLinuxFrom(string_view from, Login* l) {
  if (LooksLikeTty(from)) {
    SetTty(from, l);
  } else if (!SetHost(from, l)) {
    l->source_host = CleanText(from);
  }
}

// shadow and BusyBox: " on 'TTY'" [" from 'HOST'"]. Returns what follows.
bool ParseQuotedOnFrom(string_view& s, Login* l) {
  if (!Consume(s, " on '")) return false;
  size_t q = s.find('\'');
  if (q == kNpos) return false;
  SetTty(s.substr(0, q), l);
  s.remove_prefix(q + 1);
  if (Consume(s, " from '")) {
    q = s.find('\'');
    if (q == kNpos) return false;
    string_view host = s.substr(0, q);
    if (!host.empty() && !SetHost(host, l)) l->source_host = CleanText(host);
    s.remove_prefix(q + 1);
  }
  return true;
}

// "USER, REASON" (util-linux) or "'USER', REASON" (shadow).
void SetUserAndReason(string_view s, Login* l) {
  size_t comma = s.rfind(", ");
  string_view user = comma == kNpos ? s : s.substr(0, comma);
  string_view reason = comma == kNpos ? string_view() : s.substr(comma + 2);
  if (user.size() >= 2 && user.front() == '\'' && user.back() == '\'') user = user.substr(1, user.size() - 2);
  if (reason.find("User not known") != kNpos) l->invalid_user = true;
  if (user != "UNKNOWN" && user != "(unknown)") l->user = CleanText(user);
}

ParsedMessage ParseLogin(string_view m) {
  string_view rest = m;
  // BusyBox: one line per failed try (1.32 and later; older versions log only the third).
  if (Consume(rest, "invalid password for '")) {
    size_t q = rest.find('\'');
    if (q == kNpos) return NotUnderstood();
    Login l = Make(Service::kLogin, Action::kFailure, Outcome::kFailed);
    l.user = CleanText(rest.substr(0, q));
    rest.remove_prefix(q + 1);
    if (!rest.empty() && !ParseQuotedOnFrom(rest, &l)) return NotUnderstood();
    l.method = "password";
    return Event(std::move(l));
  }
  // BusyBox: success, logged for root only.
  if (Consume(rest, "root login")) {
    Login l = Make(Service::kLogin, Action::kSuccess, Outcome::kAccepted);
    l.user = "root";
    if (!rest.empty() && !ParseQuotedOnFrom(rest, &l)) return NotUnderstood();
    return Event(std::move(l));
  }
  // shadow: "FAILED LOGIN (N) on 'TTY' [from 'HOST'] FOR 'USER', REASON",
  //         "TOO MANY LOGIN TRIES (N) on 'TTY' [from 'HOST'] FOR 'USER'".
  // util-linux: "FAILED LOGIN N FROM HOST FOR USER, REASON", "TOO MANY LOGIN TRIES (N) FROM
  //         HOST FOR USER, REASON", "FAILED LOGIN SESSION FROM HOST FOR USER, REASON".
  if (Consume(rest, "FAILED LOGIN ") || Consume(rest, "TOO MANY LOGIN TRIES ")) {
    Login l = Make(Service::kLogin, Action::kFailure, Outcome::kFailed);
    l.method = "password";
    if (Consume(rest, "SESSION")) {
      // util-linux, no number
    } else if (Consume(rest, "(")) {
      size_t close = rest.find(')');
      uint64_t n = 0;
      if (close == kNpos || !ParseNumber(rest.substr(0, close), 10, &n)) return NotUnderstood();
      rest.remove_prefix(close + 1);
    } else {
      size_t sp = rest.find(' ');
      uint64_t n = 0;
      if (sp == kNpos || !ParseNumber(rest.substr(0, sp), 10, &n)) return NotUnderstood();
      rest.remove_prefix(sp);  // the space stays: " FROM ..."
    }
    if (StartsWith(rest, " on '")) {
      if (!ParseQuotedOnFrom(rest, &l) || !Consume(rest, " FOR ")) return NotUnderstood();
    } else {
      if (!Consume(rest, " FROM ")) return NotUnderstood();
      size_t for_at = rest.find(" FOR ");
      if (for_at == kNpos) return NotUnderstood();
      SetUtilLinuxFrom(rest.substr(0, for_at), &l);
      rest.remove_prefix(for_at + 5);
    }
    SetUserAndReason(rest, &l);
    return Event(std::move(l));
  }
  // util-linux: "ROOT LOGIN ON TTY [FROM HOST]", "LOGIN ON TTY BY USER [FROM HOST]".
  // shadow: "ROOT LOGIN  on 'TTY' [from 'HOST']", "'USER' logged in  on 'TTY' ...".
  const bool root = Consume(rest, "ROOT LOGIN ");
  if (root || Consume(rest, "LOGIN ON ")) {
    Login l = Make(Service::kLogin, Action::kSuccess, Outcome::kAccepted);
    if (root && StartsWith(rest, " on '")) {
      if (!ParseQuotedOnFrom(rest, &l)) return NotUnderstood();
      l.user = "root";
      return Event(std::move(l));
    }
    if (root && !Consume(rest, "ON ")) return NotUnderstood();
    size_t from = rest.find(" FROM ");
    string_view head = rest.substr(0, from);
    if (from != kNpos) SetUtilLinuxFrom(rest.substr(from + 6), &l);
    if (root) {
      SetTty(head, &l);
      l.user = "root";
    } else {
      size_t by = head.find(" BY ");
      if (by == kNpos) return NotUnderstood();
      SetTty(head.substr(0, by), &l);
      l.user = CleanText(head.substr(by + 4));
    }
    return Event(std::move(l));
  }
  if (Consume(rest, "'")) {
    size_t q = rest.find("' logged in ");
    if (q == kNpos) return NotUnderstood();
    Login l = Make(Service::kLogin, Action::kSuccess, Outcome::kAccepted);
    l.user = CleanText(rest.substr(0, q));
    rest.remove_prefix(q + 12);
    while (StartsWith(rest, "  ")) rest.remove_prefix(1);
    if (!rest.empty() && !ParseQuotedOnFrom(rest, &l)) return NotUnderstood();
    return Event(std::move(l));
  }
  if (StartsWithAny(m, {"DIALUP ", "LOGIN FAILURE", "Authentication failure", "Login incorrect", "bad salt",
                        "checkpass", "User not known"})) {
    return Known();
  }
  return NotUnderstood();
}

// --- su ---

ParsedMessage ParseSu(string_view m) {
  string_view rest = m;
  // util-linux: "(to NEW) OLD on TTY", "FAILED SU (to NEW) OLD on TTY".
  const bool failed = Consume(rest, "FAILED SU ");
  if (Consume(rest, "(to ")) {
    size_t close = rest.find(") ");
    if (close == kNpos) return NotUnderstood();
    Login l = Make(Service::kSu, failed ? Action::kFailure : Action::kSuccess,
                   failed ? Outcome::kFailed : Outcome::kAccepted);
    l.user = CleanText(rest.substr(0, close));
    rest.remove_prefix(close + 2);
    size_t on = rest.rfind(" on ");
    if (on == kNpos) return NotUnderstood();
    l.by_user = CleanText(rest.substr(0, on));
    SetTty(rest.substr(on + 4), &l);
    if (failed) l.method = "password";
    return Event(std::move(l));
  }
  if (failed) return NotUnderstood();
  // shadow and BusyBox: "+ TTY OLD:NEW" and "- TTY OLD:NEW".
  if (m.size() > 2 && (m[0] == '+' || m[0] == '-') && m[1] == ' ') {
    rest = m.substr(2);
    string_view tty = TakeWord(rest);
    size_t colon = rest.rfind(':');
    if (tty.empty() || colon == kNpos) return NotUnderstood();
    const bool ok = m[0] == '+';
    Login l = Make(Service::kSu, ok ? Action::kSuccess : Action::kFailure, ok ? Outcome::kAccepted : Outcome::kFailed);
    SetTty(tty, &l);
    l.by_user = CleanText(rest.substr(0, colon));
    l.user = CleanText(rest.substr(colon + 1));
    if (!ok) l.method = "password";
    return Event(std::move(l));
  }
  if (StartsWithAny(m, {"Successful su for ", "FAILED su for ", "No passwd entry", "Authentication failure",
                        "Permission denied", "Cannot execute", "System error", "user ", "Warning:"})) {
    return Known();
  }
  return NotUnderstood();
}

// --- sudo ---

// Values of "KEY=VALUE ; KEY=VALUE ; ... ; COMMAND=rest of the line".
void SetSudoItems(string_view items, Login* l) {
  size_t cmd = StartsWith(items, "COMMAND=") ? 0 : items.find(" ; COMMAND=");
  if (cmd != kNpos && cmd != 0) cmd += 3;
  if (cmd != kNpos) {
    l->command = CleanText(items.substr(cmd + 8), kMaxMessageBytes);
    items = items.substr(0, cmd);
  }
  while (!items.empty()) {
    size_t sep = items.find(" ; ");
    string_view item = TrimSpaces(items.substr(0, sep));
    items.remove_prefix(sep == kNpos ? items.size() : sep + 3);
    if (StartsWith(item, "TTY=")) SetTty(item.substr(4), l);
    if (StartsWith(item, "USER=")) l->user = CleanText(item.substr(5));
  }
}

bool IsSudoItem(string_view s) {
  size_t i = 0;
  while (i < s.size() && IsUpper(s[i])) ++i;
  return i > 0 && i < s.size() && s[i] == '=';
}

ParsedMessage ParseSudo(string_view m) {
  string_view rest = TrimSpaces(m);
  size_t colon = rest.find(" : ");
  if (colon == kNpos || colon == 0) return NotUnderstood();
  string_view by = rest.substr(0, colon);
  if (by.find(' ') != kNpos) return NotUnderstood();
  rest.remove_prefix(colon + 3);
  Login l;
  l.service = Service::kSudo;
  l.by_user = CleanText(by);
  if (IsSudoItem(rest)) {
    l.action = Action::kSuccess;
    l.outcome = Outcome::kAccepted;
    SetSudoItems(rest, &l);
    return Event(std::move(l));
  }
  size_t sep = rest.find(" ; ");
  string_view reason = rest.substr(0, sep);
  string_view items = sep == kNpos ? string_view() : rest.substr(sep + 3);
  l.action = Action::kFailure;
  uint64_t n = 0;
  string_view count_word = reason.substr(0, reason.find(' '));
  if (ParseNumber(count_word, 6, &n) &&
      (EndsWith(reason, " incorrect password attempts") || EndsWith(reason, " incorrect password attempt"))) {
    l.outcome = Outcome::kFailed;
    l.method = "password";
    l.count = n == 0 ? 1 : n;
  } else if (reason == "a password is required") {
    l.outcome = Outcome::kFailed;
    l.method = "password";
  } else if (reason == "user NOT in sudoers" || reason == "command not allowed" ||
             reason == "user NOT authorized on host" || reason == "user NOT allowed to run commands") {
    l.outcome = Outcome::kDenied;
  } else if (StartsWith(reason, "(command continued)") || StartsWith(reason, "unable to ") ||
             StartsWith(reason, "problem ") || StartsWith(reason, "error ")) {
    return Known();
  } else {
    return NotUnderstood();
  }
  SetSudoItems(items, &l);
  return Event(std::move(l));
}

// --- PAM ---

ParsedMessage ParsePam(Service service, string_view m) {
  // "pam_unix(SERVICE:session): session closed for user USER"
  size_t at = m.find("): session closed for user ");
  if (at == kNpos || m.find('(') > at) return Known();
  if (service != Service::kLogin && service != Service::kSu && service != Service::kSudo) return Known();
  Login l = Make(service, Action::kLogout, Outcome::kClosed);
  string_view user = m.substr(at + 27);
  user = user.substr(0, user.find(' '));
  if (user.empty()) return NotUnderstood();
  l.user = CleanText(user);
  return Event(std::move(l));
}

ParsedMessage ParseOne(Service service, bool is_login_program, string_view m) {
  if (!is_login_program) return ParsedMessage{MessageKind::kOtherProgram, {}};
  if (StartsWith(m, "pam_")) return ParsePam(service, m);
  switch (service) {
    case Service::kSshd:
      return ParseSshd(m);
    case Service::kDropbear:
      return ParseDropbear(m);
    case Service::kLogin:
      return ParseLogin(m);
    case Service::kSu:
      return ParseSu(m);
    case Service::kSudo:
      return ParseSudo(m);
    case Service::kUnknown: {
      // No tag (sshd -E writes bare lines): the OpenSSH and dropbear forms, by content.
      ParsedMessage ssh = ParseSshd(m);
      if (ssh.kind == MessageKind::kLogin) return ssh;
      ParsedMessage db = ParseDropbear(m);
      if (db.kind == MessageKind::kLogin) return db;
      return ssh.kind == MessageKind::kKnown || db.kind == MessageKind::kKnown ? Known() : NotUnderstood();
    }
  }
  return NotUnderstood();
}

}  // namespace

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kSuccess:
      return "success";
    case Action::kFailure:
      return "failure";
    case Action::kLogout:
      return "logout";
  }
  return "failure";
}

std::string_view ServiceName(Service s) {
  switch (s) {
    case Service::kUnknown:
      return "";
    case Service::kSshd:
      return "sshd";
    case Service::kDropbear:
      return "dropbear";
    case Service::kLogin:
      return "login";
    case Service::kSu:
      return "su";
    case Service::kSudo:
      return "sudo";
  }
  return "";
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAccepted:
      return "accepted";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kDenied:
      return "denied";
    case Outcome::kClosed:
      return "closed";
  }
  return "failed";
}

bool ParseLastMessageRepeated(std::string_view message, uint64_t* n) {
  message = DropLineEnd(message);
  if (!Consume(message, "last message repeated ") || !EndsWith(message, " times")) return false;
  message.remove_suffix(6);
  uint64_t v = 0;
  if (!ParseNumber(message, 9, &v) || v == 0) return false;
  *n = v;
  return true;
}

Service ServiceOfProgram(std::string_view program, bool* is_login_program) {
  *is_login_program = true;
  if (program.empty()) return Service::kUnknown;
  if (program == "sshd" || program == "sshd-session" || program == "sshd-auth") return Service::kSshd;
  if (program == "dropbear") return Service::kDropbear;
  if (program == "login") return Service::kLogin;
  if (program == "su") return Service::kSu;
  if (program == "sudo") return Service::kSudo;
  *is_login_program = false;
  return Service::kUnknown;
}

SyslogLine ParseLogFileLine(std::string_view line) {
  line = DropLineEnd(line);
  std::string_view rest = line;
  if (!SkipTimestamp(rest)) {
    SyslogLine bare;
    bare.message = line;
    return bare;
  }
  // host, facility.level (BusyBox syslogd), tag
  return ParseAfterTimestamp(rest, 3);
}

Result<SyslogLine> ParseSyslogDatagram(std::string_view d) {
  d = DropLineEnd(d);
  if (d.empty() || d.front() != '<') return Status::InvalidArgument("syslog frame: does not start with <PRI>");
  size_t close = d.find('>');
  uint64_t pri = 0;
  if (close == kNpos || close > 4 || !ParseNumber(d.substr(1, close - 1), 3, &pri))
    return Status::InvalidArgument("syslog frame: <PRI> is not 1-3 digits followed by '>'");
  if (pri > 191) return Status::InvalidArgument("syslog frame: PRI " + std::to_string(pri) + " is over 191");
  std::string_view rest = d.substr(close + 1);
  if (StartsWith(rest, "1 ")) {  // RFC 5424
    rest.remove_prefix(2);
    std::string_view fields[5];  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
    static constexpr const char* kNames[5] = {"TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"};
    for (int i = 0; i < 5; ++i) {
      size_t sp = rest.find(' ');
      if (sp == kNpos || sp == 0)
        return Status::InvalidArgument(std::string("RFC 5424 frame: no ") + kNames[i] + " field");
      fields[i] = rest.substr(0, sp);
      rest.remove_prefix(sp + 1);
    }
    // STRUCTURED-DATA: "-" or one or more [ID PARAM="VALUE" ...] with \" \] \\ escapes in values.
    if (Consume(rest, "-")) {
    } else if (!rest.empty() && rest.front() == '[') {
      size_t i = 0;
      while (i < rest.size() && rest[i] == '[') {
        bool quoted = false;
        ++i;
        for (;; ++i) {
          if (i >= rest.size()) return Status::InvalidArgument("RFC 5424 frame: unterminated STRUCTURED-DATA");
          const char c = rest[i];
          if (quoted && c == '\\') {
            ++i;
          } else if (c == '"') {
            quoted = !quoted;
          } else if (!quoted && c == ']') {
            ++i;
            break;
          }
        }
      }
      rest.remove_prefix(std::min(i, rest.size()));
    } else {
      return Status::InvalidArgument("RFC 5424 frame: STRUCTURED-DATA is neither '-' nor '[...]'");
    }
    if (!rest.empty() && !Consume(rest, " "))
      return Status::InvalidArgument("RFC 5424 frame: no space between STRUCTURED-DATA and MSG");
    Consume(rest, "\xEF\xBB\xBF");
    SyslogLine out;
    if (fields[2] != "-") {
      std::string_view app = fields[2];
      size_t slash = app.rfind('/');
      if (slash != kNpos) app.remove_prefix(slash + 1);
      out.program = app;
    }
    uint64_t pid = 0;
    if (ParseNumber(fields[3], 10, &pid) && pid <= INT32_MAX) out.pid = static_cast<int64_t>(pid);
    out.message = rest;
    return out;
  }
  // RFC 3164: an optional timestamp, then [HOSTNAME] TAG.
  const bool stamped = SkipTimestamp(rest);
  SyslogLine out = ParseAfterTimestamp(rest, 2);
  if (out.program.empty() && !stamped) out.message = rest;
  return out;
}

ParsedMessage ParseAuthMessage(std::string_view program, int64_t pid, std::string_view message) {
  bool is_login_program = false;
  const Service service = ServiceOfProgram(program, &is_login_program);
  message = DropLineEnd(message);
  uint64_t repeat = 1;
  // rsyslog: "message repeated N times: [ MESSAGE]" stands for N more of MESSAGE.
  if (std::string_view rest = message; Consume(rest, "message repeated ")) {
    size_t sp = rest.find(' ');
    uint64_t n = 0;
    if (sp == kNpos || !ParseNumber(rest.substr(0, sp), 9, &n) || n == 0) {
      return is_login_program ? NotUnderstood() : ParsedMessage{MessageKind::kOtherProgram, {}};
    }
    rest.remove_prefix(sp);
    if (!Consume(rest, " times: [") || rest.empty() || rest.back() != ']') {
      return is_login_program ? NotUnderstood() : ParsedMessage{MessageKind::kOtherProgram, {}};
    }
    rest.remove_suffix(1);
    Consume(rest, " ");
    message = rest;
    repeat = n;
  }
  ParsedMessage p = ParseOne(service, is_login_program, message);
  if (p.kind == MessageKind::kLogin) {
    p.login.count *= repeat;
    p.login.pid = pid;
  }
  return p;
}

Result<UtmpRecord> ParseUtmpRecord(std::string_view b) {
  if (b.size() != kUtmpRecordSize) {
    return Status::InvalidArgument("utmp record: " + std::to_string(b.size()) + " bytes, expected " +
                                   std::to_string(kUtmpRecordSize));
  }
  auto text = [&](size_t off, size_t len) {
    std::string_view s = b.substr(off, len);
    return CleanText(s.substr(0, s.find('\0')));
  };
  UtmpRecord r;
  std::memcpy(&r.type, b.data() + 0, sizeof r.type);
  std::memcpy(&r.pid, b.data() + 4, sizeof r.pid);
  std::memcpy(&r.tv_sec, b.data() + 340, sizeof r.tv_sec);
  std::memcpy(&r.tv_usec, b.data() + 344, sizeof r.tv_usec);
  std::memcpy(r.addr.data(), b.data() + 348, r.addr.size());
  if (r.type < kUtEmpty || r.type > kUtAccounting)
    return Status::InvalidArgument("utmp record: ut_type " + std::to_string(r.type) + " is not 0-9");
  if (r.pid < 0) return Status::InvalidArgument("utmp record: negative ut_pid " + std::to_string(r.pid));
  if (r.tv_usec < 0 || r.tv_usec > 999'999)
    return Status::InvalidArgument("utmp record: ut_tv.tv_usec " + std::to_string(r.tv_usec) + " is not 0-999999");
  r.line = text(8, 32);
  r.id = text(40, 4);
  r.user = text(44, 32);
  r.host = text(76, 256);
  return r;
}

std::string UtmpSourceIp(const UtmpRecord& r, std::string* host, int32_t* port) {
  host->clear();
  std::string ip = NormalizeIp(r.host);
  if (!ip.empty()) return ip;
  if (Login with_port; SetHostPort(r.host, &with_port) && !with_port.source_ip.empty()) {
    if (port) *port = with_port.source_port;
    return with_port.source_ip;
  }
  if (!r.host.empty()) *host = r.host;
  bool v6 = false, any = false;
  for (size_t i = 0; i < 16; ++i) {
    if (r.addr[i] != 0) any = true;
    if (i >= 4 && r.addr[i] != 0) v6 = true;
  }
  if (!any) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, r.addr.data(), buf, sizeof buf)) return "";
  return NormalizeIp(buf);
}

std::string NormalizeIp(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != string_view::npos) return "";
  char in[INET6_ADDRSTRLEN] = {};
  std::memcpy(in, text.data(), text.size());
  unsigned char addr[16] = {};
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, in, addr) == 1) return inet_ntop(AF_INET, addr, out, sizeof out) ? out : "";
  if (inet_pton(AF_INET6, in, addr) != 1) return "";
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(addr, kMapped, sizeof kMapped) == 0) return inet_ntop(AF_INET, addr + 12, out, sizeof out) ? out : "";
  return inet_ntop(AF_INET6, addr, out, sizeof out) ? out : "";
}

std::string CleanText(std::string_view s, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (valid && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                  (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)) {
      valid = false;
    }
    if (valid && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))) valid = false;
    const size_t take = valid ? len : 1;
    const size_t add = valid ? len : 1;
    if (out.size() + add > max_bytes) break;
    if (valid) {
      out.append(s.substr(i, len));
    } else {
      out.push_back('?');
    }
    i += take;
  }
  return out;
}

}  // namespace vigil::login
