// Parsers of the login collector's inputs: pure functions over one line, one syslog datagram,
// one message, or one 384-byte utmp record. No I/O, no state, safe from any thread. Every
// input may be malformed or hostile (anyone may write to /dev/log, attackers choose the user
// names sshd logs): nothing here trusts a length or a delimiter it has not checked, and every
// string returned is valid UTF-8 without control characters, cut to a bound.
//
// 1. Log file lines (ParseLogFileLine). A line is
//      [TIMESTAMP SP] [HOSTNAME SP] [FACILITY.LEVEL SP] TAG ":" SP MESSAGE
//    TIMESTAMP is one of
//      Mmm dd hh:mm:ss                   traditional syslog (rsyslog, BusyBox syslogd); dd may
//                                        be space-padded
//      YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm) RFC 3339 (rsyslog's high-precision format)
//      Www Mmm dd hh:mm:ss yyyy          OpenWrt logread
//    TAG is `program` or `program[pid]` (a path keeps its last component). A line without a
//    timestamp is a bare message of an unknown program (sshd -E writes such lines); a line
//    with a timestamp but no tag among its first three words is a message of an unknown
//    program too. A trailing CR is dropped.
//
// 2. Syslog datagrams (ParseSyslogDatagram), as syslog(3) clients send them to /dev/log:
//      RFC 3164  "<" PRI ">" [Mmm dd hh:mm:ss SP] [HOSTNAME SP] TAG ":" SP MESSAGE
//                (local clients leave the hostname out)
//      RFC 5424  "<" PRI ">1" SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP
//                STRUCTURED-DATA [SP MESSAGE]   (NILVALUE "-"; a leading BOM is dropped)
//    PRI is 0-191. Trailing NULs and line ends are dropped.
//
// 3. Messages (ParseAuthMessage), by program (see the README for every form understood):
//      sshd, sshd-session, sshd-auth  OpenSSH: Accepted/Failed METHOD for [invalid user ]USER
//                      from ADDR port N ssh2, Disconnected from user USER ADDR port N
//      dropbear        Bad password attempt / Password and Pubkey auth succeeded / Login
//                      attempt for nonexistent user / Exit (USER) from <ADDR:PORT>
//      login           util-linux, shadow and BusyBox login
//      su              util-linux su, shadow and BusyBox su
//      sudo            USER : [REASON ; ]TTY=... ; PWD=... ; USER=... ; COMMAND=...
//      (no program)    the OpenSSH and dropbear forms, recognised by their content
//    rsyslog's `message repeated N times: [ MESSAGE]` stands for N more of MESSAGE (and
//    sysklogd's untagged `last message repeated N times` for N more of the line before). PAM
//    `session closed for user` lines of login, su and sudo are logouts; other pam_* lines are
//    known and not events (the program's own line reports the attempt).
//
// 4. utmp records (ParseUtmpRecord): glibc's struct utmp, 384 bytes in the host's byte order:
//      0 short ut_type   4 int32 ut_pid   8 char ut_line[32]   40 char ut_id[4]
//      44 char ut_user[32]   76 char ut_host[256]   332 short e_termination, e_exit
//      336 int32 ut_session   340 int32 tv_sec, tv_usec   348 int32 ut_addr_v6[4]
//      364 char unused[20]
//    Strings are NUL-padded and not NUL-terminated when full.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil::login {

inline constexpr size_t kMaxFieldBytes = 256;     // user, host, tty, method, ...
inline constexpr size_t kMaxMessageBytes = 1024;  // message and command

// --- Framing ---------------------------------------------------------------------------------

// Views into the parsed text, valid as long as it is.
struct SyslogLine {
  std::string_view program;  // the tag without its [pid] and directory; empty when unknown
  int64_t pid = -1;          // -1 when the tag has none
  std::string_view message;
};

// Never fails: a line without the framing above is a bare message.
SyslogLine ParseLogFileLine(std::string_view line);

// InvalidArgument, saying what is wrong, for a datagram that is not a syslog frame.
Result<SyslogLine> ParseSyslogDatagram(std::string_view datagram);

// --- Messages --------------------------------------------------------------------------------

enum class Action : uint8_t { kSuccess, kFailure, kLogout };
enum class Service : uint8_t { kUnknown, kSshd, kDropbear, kLogin, kSu, kSudo };
enum class Outcome : uint8_t {
  kAccepted,  // authenticated (success)
  kFailed,    // credentials rejected or the account does not exist (failure)
  kDenied,    // refused by policy whatever the credentials: sudoers (failure)
  kClosed,    // the session ended (logout)
};

std::string_view ActionName(Action a);    // success | failure | logout
std::string_view ServiceName(Service s);  // "" | sshd | dropbear | login | su | sudo
std::string_view OutcomeName(Outcome o);  // accepted | failed | denied | closed

// What a program said about one login. Strings are empty and numbers -1 when not stated.
struct Login {
  Action action = Action::kFailure;
  Service service = Service::kUnknown;
  Outcome outcome = Outcome::kFailed;
  std::string user;     // the account logged into (su, sudo: the target account)
  std::string by_user;  // su, sudo: the account that asked
  bool invalid_user = false;
  std::string source_ip;  // normalised (an IPv4-mapped IPv6 address is written as IPv4)
  int32_t source_port = -1;
  std::string source_host;  // a remote name that is not an address
  std::string method;       // password, publickey, keyboard-interactive, hostbased, ...
  std::string tty;          // without /dev/
  std::string command;      // sudo
  int64_t pid = -1;
  // Attempts this message stands for: N for `message repeated N times`, the number of
  // incorrect sudo passwords.
  uint64_t count = 1;
};

enum class MessageKind : uint8_t {
  kLogin,          // `login` holds what it said
  kKnown,          // a login program's line that is not an attempt (banner, PAM detail, ...)
  kNotUnderstood,  // a login program's line (or an untagged one) that no rule matched
  kOtherProgram,   // a program that is not a login program (cron, kernel, ...)
};

struct ParsedMessage {
  MessageKind kind = MessageKind::kNotUnderstood;
  Login login;
};

// `program` as ParseLogFileLine gives it (may be empty); `pid` from the tag, or -1.
ParsedMessage ParseAuthMessage(std::string_view program, int64_t pid, std::string_view message);

// sysklogd's untagged "last message repeated N times": the line before it, N more times.
// False (and *n untouched) for any other message.
bool ParseLastMessageRepeated(std::string_view message, uint64_t* n);

// The service a tag names. An empty tag gives kUnknown with *is_login_program true (an
// untagged line may be a login program's); a tag of another program gives kUnknown with
// *is_login_program false.
Service ServiceOfProgram(std::string_view program, bool* is_login_program);

// --- utmp ------------------------------------------------------------------------------------

inline constexpr size_t kUtmpRecordSize = 384;

enum UtmpType : int16_t {
  kUtEmpty = 0,
  kUtRunLevel = 1,
  kUtBootTime = 2,
  kUtNewTime = 3,
  kUtOldTime = 4,
  kUtInitProcess = 5,
  kUtLoginProcess = 6,
  kUtUserProcess = 7,
  kUtDeadProcess = 8,
  kUtAccounting = 9,
};

struct UtmpRecord {
  int16_t type = kUtEmpty;
  int32_t pid = 0;
  std::string line;  // cleaned text (see above)
  std::string id;
  std::string user;
  std::string host;
  int32_t tv_sec = 0;
  int32_t tv_usec = 0;
  std::array<uint8_t, 16> addr{};  // ut_addr_v6 as stored (network byte order)
};

// InvalidArgument naming the field for a record of the wrong size, a type outside 0-9, a
// negative pid or microseconds outside 0-999999.
Result<UtmpRecord> ParseUtmpRecord(std::string_view bytes);

// The remote address of a record: ut_host when it is an address, or an address and port as
// BusyBox telnetd writes it ("192.0.2.7:40112", "[2001:db8::1]:40112"; *port gets the port
// when given), else ut_addr_v6 when not zero; "" otherwise. *host gets ut_host when it is a
// name instead.
std::string UtmpSourceIp(const UtmpRecord& r, std::string* host, int32_t* port = nullptr);

// --- Text helpers ----------------------------------------------------------------------------

// The address in canonical text form ("192.0.2.7", "2001:db8::1"); an IPv4-mapped IPv6
// address becomes IPv4; "" when `text` is not an address.
std::string NormalizeIp(std::string_view text);

// Valid UTF-8 without control characters (each invalid byte or control character becomes
// '?'), cut at a character boundary to at most max_bytes.
std::string CleanText(std::string_view text, size_t max_bytes = kMaxFieldBytes);

}  // namespace vigil::login
