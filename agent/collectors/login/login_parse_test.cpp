#include "agent/collectors/login/login_parse.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace vigil::login {
namespace {

// --- Log file lines ---

TEST(LoginLogFileLine, ReadsTraditionalSyslogLines) {
  SyslogLine l =
      ParseLogFileLine("Mar  3 07:41:09 gateway sshd[2211]: Failed password for pi from 198.51.100.4 port 51022 ssh2");
  EXPECT_EQ(l.program, "sshd");
  EXPECT_EQ(l.pid, 2211);
  EXPECT_EQ(l.message, "Failed password for pi from 198.51.100.4 port 51022 ssh2");

  l = ParseLogFileLine("Dec 24 23:59:59 host su: (to root) carol on pts/3");
  EXPECT_EQ(l.program, "su");
  EXPECT_EQ(l.pid, -1);
  EXPECT_EQ(l.message, "(to root) carol on pts/3");
}

TEST(LoginLogFileLine, ReadsRfc3339Timestamps) {
  SyslogLine l = ParseLogFileLine(
      "2025-06-01T10:15:30.123456+02:00 edge-7 sshd-session[901]: Accepted publickey for ops from 203.0.113.9 port "
      "40000 ssh2");
  EXPECT_EQ(l.program, "sshd-session");
  EXPECT_EQ(l.pid, 901);
  EXPECT_EQ(l.message, "Accepted publickey for ops from 203.0.113.9 port 40000 ssh2");
  l = ParseLogFileLine("2025-06-01T08:15:30Z edge-7 sudo:    ops : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls");
  EXPECT_EQ(l.program, "sudo");
}

TEST(LoginLogFileLine, ReadsBusyBoxAndOpenWrtLines) {
  // BusyBox syslogd writes the facility.level between host and tag.
  SyslogLine l = ParseLogFileLine(
      "Jan  9 01:02:03 router authpriv.warn dropbear[1701]: Bad password attempt for 'root' from 192.0.2.50:41000");
  EXPECT_EQ(l.program, "dropbear");
  EXPECT_EQ(l.pid, 1701);
  // ... or nothing at all with -S.
  l = ParseLogFileLine("Jan  9 01:02:03 dropbear[1701]: Exit before auth from <192.0.2.50:41000>: Exited normally");
  EXPECT_EQ(l.program, "dropbear");
  // OpenWrt's logread.
  l = ParseLogFileLine(
      "Thu Jan  9 01:02:03 2025 authpriv.info dropbear[88]: Password auth succeeded for 'root' from "
      "192.168.1.20:50000");
  EXPECT_EQ(l.program, "dropbear");
  EXPECT_EQ(l.pid, 88);
  EXPECT_EQ(l.message, "Password auth succeeded for 'root' from 192.168.1.20:50000");
}

TEST(LoginLogFileLine, TakesTheLastPartOfAPathTag) {
  SyslogLine l = ParseLogFileLine("Feb  1 00:00:00 box /usr/sbin/sshd[12]: Server listening on 0.0.0.0 port 22.");
  EXPECT_EQ(l.program, "sshd");
  EXPECT_EQ(l.pid, 12);
}

TEST(LoginLogFileLine, BareLinesAreMessagesOfNoProgram) {
  // sshd -E writes bare messages ending in CR LF.
  SyslogLine l = ParseLogFileLine("Failed password for root from 127.0.0.1 port 40404 ssh2\r");
  EXPECT_EQ(l.program, "");
  EXPECT_EQ(l.pid, -1);
  EXPECT_EQ(l.message, "Failed password for root from 127.0.0.1 port 40404 ssh2");
}

TEST(LoginLogFileLine, MalformedLinesNeverFail) {
  for (const char* line :
       {"", "Mar", "Mar  3", "Mar  3 07:41:09", "Mar  3 07:41:09 ", "Mar 33 07:41:09 h x: y", "Mar  3 07:41:09 host",
        "Mar  3 07:41:09 host sshd[", "Mar  3 07:41:09 host sshd[]: m", "Mar  3 07:41:09 host sshd[99999999999]: m",
        "2025-13-01T", "2025-06-01T10:15:30+0 h t: m", "<13>", ":", "[]:", "Mar  3 07:41:09 a b c d e"}) {
    SyslogLine l = ParseLogFileLine(line);
    EXPECT_LE(l.message.size(), std::strlen(line)) << line;
  }
  SyslogLine l = ParseLogFileLine("Mar  3 07:41:09 host sshd[]: m");
  EXPECT_EQ(l.program, "");
  l = ParseLogFileLine("Mar  3 07:41:09 host no tag here at all");
  EXPECT_EQ(l.program, "");
  EXPECT_EQ(l.message, "no tag here at all");
}

// --- Syslog datagrams ---

TEST(LoginSyslogDatagram, ReadsLocalRfc3164Frames) {
  auto l = ParseSyslogDatagram("<38>Jul  4 12:00:01 sshd[77]: Invalid user guest from 192.0.2.1 port 3333\n");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->program, "sshd");
  EXPECT_EQ(l->pid, 77);
  EXPECT_EQ(l->message, "Invalid user guest from 192.0.2.1 port 3333");
  l = ParseSyslogDatagram("<86>Jul  4 12:00:01 relayhost login[5]: root login on 'ttyS0'");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->program, "login");
  EXPECT_EQ(l->message, "root login on 'ttyS0'");
  // Without a timestamp.
  const std::string with_nul("<13>su: + pts/1 alice:root\0", 27);
  l = ParseSyslogDatagram(with_nul);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->program, "su");
  EXPECT_EQ(l->message, "+ pts/1 alice:root");
}

TEST(LoginSyslogDatagram, ReadsRfc5424Frames) {
  auto l = ParseSyslogDatagram(
      "<86>1 2025-02-03T04:05:06.789Z host42 sshd 4242 - - Failed password for admin from 192.0.2.9 port 999 ssh2");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->program, "sshd");
  EXPECT_EQ(l->pid, 4242);
  EXPECT_EQ(l->message, "Failed password for admin from 192.0.2.9 port 999 ssh2");
  // Structured data with escapes, a BOM before the message, no PROCID.
  l = ParseSyslogDatagram(
      "<13>1 - - dropbear - ID47 [meta a=\"x\\]y\" b=\"q\\\"\"][origin ip=\"192.0.2.1\"] \xEF\xBB\xBFLogin attempt for "
      "nonexistent user from 192.0.2.9:22");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->program, "dropbear");
  EXPECT_EQ(l->pid, -1);
  EXPECT_EQ(l->message, "Login attempt for nonexistent user from 192.0.2.9:22");
  // No message at all.
  l = ParseSyslogDatagram("<13>1 - - - - - -");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->message, "");
}

TEST(LoginSyslogDatagram, RejectsMalformedFramesSayingWhy) {
  struct Case {
    std::string frame;
    std::string says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "<PRI>"},
           {"sshd: hi", "<PRI>"},
           {"<>x", "1-3 digits"},
           {"<1234>x", "1-3 digits"},
           {"<abc>x", "1-3 digits"},
           {"<192>x", "over 191"},
           {"<13>1 ", "TIMESTAMP"},
           {"<13>1 - host", "HOSTNAME"},
           {"<13>1 - host app 1 id [unterminated", "unterminated"},
           {"<13>1 - host app 1 id x", "neither"},
           {"<13>1 - host app 1 id [a b=\"]\"", "unterminated"},
           {"<13>1 - host app 1 id -x", "no space"},
       }) {
    auto l = ParseSyslogDatagram(c.frame);
    ASSERT_FALSE(l.ok()) << c.frame;
    EXPECT_NE(l.status().message().find(c.says), std::string_view::npos) << c.frame << ": " << l.status().ToString();
  }
}

// --- OpenSSH ---

Login Expect(std::string_view program, std::string_view message, int64_t pid = -1) {
  ParsedMessage p = ParseAuthMessage(program, pid, message);
  EXPECT_EQ(p.kind, MessageKind::kLogin) << program << ": " << message;
  return p.login;
}

MessageKind KindOf(std::string_view program, std::string_view message) {
  return ParseAuthMessage(program, -1, message).kind;
}

TEST(LoginSshd, FailedPasswordOfAnExistingUser) {
  Login l = Expect("sshd", "Failed password for root from 192.0.2.7 port 42393 ssh2", 51);
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.outcome, Outcome::kFailed);
  EXPECT_EQ(l.service, Service::kSshd);
  EXPECT_EQ(l.user, "root");
  EXPECT_FALSE(l.invalid_user);
  EXPECT_EQ(l.source_ip, "192.0.2.7");
  EXPECT_EQ(l.source_port, 42393);
  EXPECT_EQ(l.method, "password");
  EXPECT_EQ(l.pid, 51);
  EXPECT_EQ(l.count, 1u);
}

TEST(LoginSshd, FailedPasswordOfAnInvalidUser) {
  Login l = Expect("sshd-session", "Failed password for invalid user oracle from 2001:db8::17 port 60000 ssh2");
  EXPECT_TRUE(l.invalid_user);
  EXPECT_EQ(l.user, "oracle");
  EXPECT_EQ(l.source_ip, "2001:db8::17");
  EXPECT_EQ(l.service, Service::kSshd);
}

TEST(LoginSshd, AcceptedLoginsWithTheirMethod) {
  Login l =
      Expect("sshd", "Accepted publickey for deploy from 198.51.100.23 port 50122 ssh2: ED25519 SHA256:AbCdEf0123");
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.outcome, Outcome::kAccepted);
  EXPECT_EQ(l.user, "deploy");
  EXPECT_EQ(l.method, "publickey");
  EXPECT_EQ(l.source_port, 50122);
  l = Expect("sshd", "Accepted keyboard-interactive/pam for maria from ::ffff:198.51.100.24 port 1022 ssh2");
  EXPECT_EQ(l.method, "keyboard-interactive");
  EXPECT_EQ(l.source_ip, "198.51.100.24");  // IPv4-mapped, written as IPv4
  l = Expect("sshd", "Accepted password for svc from 10.1.2.3 port 22022 ssh2");
  EXPECT_EQ(l.method, "password");
}

TEST(LoginSshd, UserNamesWithSpacesCannotForgeTheAddress) {
  // The user name is the attacker's; the address after it is sshd's.
  Login l =
      Expect("sshd", "Failed password for invalid user x from 6.6.6.6 port 1 ssh2 from 203.0.113.50 port 40111 ssh2");
  EXPECT_EQ(l.source_ip, "203.0.113.50");
  EXPECT_EQ(l.source_port, 40111);
  EXPECT_EQ(l.user, "x from 6.6.6.6 port 1 ssh2");
  l = Expect("sshd", "Failed password for invalid user  from 203.0.113.50 port 40112 ssh2");
  EXPECT_EQ(l.user, "");
  EXPECT_TRUE(l.invalid_user);
}

TEST(LoginSshd, HostNamesGoToSourceHost) {
  Login l = Expect("sshd", "Failed password for bob from client.example.net port 3000 ssh2");
  EXPECT_EQ(l.source_ip, "");
  EXPECT_EQ(l.source_host, "client.example.net");
}

TEST(LoginSshd, DisconnectIsALogout) {
  Login l = Expect("sshd", "Disconnected from user deploy 198.51.100.23 port 50122");
  EXPECT_EQ(l.action, Action::kLogout);
  EXPECT_EQ(l.outcome, Outcome::kClosed);
  EXPECT_EQ(l.user, "deploy");
  EXPECT_EQ(l.source_ip, "198.51.100.23");
  EXPECT_EQ(l.source_port, 50122);
}

TEST(LoginSshd, LinesThatAreNotAttempts) {
  for (const char* m :
       {"Invalid user admin from 192.0.2.7 port 38926",
        "Disconnecting: Too many authentication failures for root [preauth]",
        "Connection closed by invalid user admin 192.0.2.7 port 38926 [preauth]",
        "Received disconnect from 192.0.2.7 port 38926:11: Bye Bye [preauth]",
        "Disconnected from invalid user admin 192.0.2.7 port 38926 [preauth]", "Server listening on 0.0.0.0 port 22.",
        "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
        "pam_unix(sshd:session): session closed for user deploy",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=root",
        "User root from 192.0.2.7 not allowed because not listed in AllowUsers",
        "Failed none for invalid user admin from 192.0.2.7 port 38926 ssh2"}) {
    EXPECT_EQ(KindOf("sshd", m), MessageKind::kKnown) << m;
  }
}

TEST(LoginSshd, MalformedAttemptLinesAreNotUnderstood) {
  for (const char* m :
       {"Failed password for root from 192.0.2.7 port ssh2", "Failed password for root", "Failed password",
        "Failed  for root from 192.0.2.7 port 1 ssh2", "Accepted password for root from 999.0.2.7 port 1 ssh2",
        "Accepted password for root from 192.0.2.7 port 70000 ssh2",
        "Accepted password for root from 192.0.2.7 port 22xyz", "Disconnected from user alice",
        "Disconnected from user alice bad!host port 5", "Something entirely new happened"}) {
    EXPECT_EQ(KindOf("sshd", m), MessageKind::kNotUnderstood) << m;
  }
}

TEST(LoginSshd, UntaggedLinesAreRecognisedByContent) {
  Login l = Expect("", "Failed password for root from 127.0.0.1 port 40404 ssh2");
  EXPECT_EQ(l.service, Service::kSshd);
  l = Expect("", "Bad password attempt for 'root' from 192.0.2.4:2222");
  EXPECT_EQ(l.service, Service::kDropbear);
  EXPECT_EQ(KindOf("", "Server listening on 127.0.0.1 port 2222."), MessageKind::kKnown);
  EXPECT_EQ(KindOf("", "kernel: eth0 link up"), MessageKind::kNotUnderstood);
}

TEST(LoginSshd, OtherProgramsAreNotRead) {
  EXPECT_EQ(KindOf("CRON", "pam_unix(cron:session): session closed for user root"), MessageKind::kOtherProgram);
  EXPECT_EQ(KindOf("systemd-logind", "New session 4 of user alice."), MessageKind::kOtherProgram);
  EXPECT_EQ(KindOf("kernel", "Failed password for root from 192.0.2.7 port 1 ssh2"), MessageKind::kOtherProgram);
}

// --- rsyslog's repeats ---

TEST(LoginRepeat, MessageRepeatedCountsN) {
  Login l = Expect("sshd", "message repeated 5 times: [ Failed password for root from 192.0.2.7 port 42393 ssh2]");
  EXPECT_EQ(l.count, 5u);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.source_port, 42393);
  // Repeats of a line that stands for several attempts multiply.
  l = Expect("sudo",
             "message repeated 2 times: [ eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
             "COMMAND=/bin/sh]");
  EXPECT_EQ(l.count, 6u);
}

TEST(LoginRepeat, SysklogdLastMessageRepeated) {
  uint64_t n = 0;
  EXPECT_TRUE(ParseLastMessageRepeated("last message repeated 7 times", &n));
  EXPECT_EQ(n, 7u);
  for (const char* m : {"last message repeated 0 times", "last message repeated x times", "last message repeated 7",
                        "last message repeated  times", "message repeated 7 times", "last message repeated 7 times!"}) {
    EXPECT_FALSE(ParseLastMessageRepeated(m, &n)) << m;
  }
  SyslogLine l = ParseLogFileLine("Mar  3 07:41:39 gw last message repeated 3 times");
  EXPECT_EQ(l.program, "");
  EXPECT_EQ(l.message, "last message repeated 3 times");
}

TEST(LoginRepeat, MalformedRepeatsAreNotUnderstood) {
  for (const char* m : {"message repeated times: [ Failed password for root from 192.0.2.7 port 1 ssh2]",
                        "message repeated 0 times: [ Failed password for root from 192.0.2.7 port 1 ssh2]",
                        "message repeated 3 times: Failed password for root from 192.0.2.7 port 1 ssh2",
                        "message repeated 3 times: [ Failed password for root from 192.0.2.7 port 1 ssh2",
                        "message repeated 99999999999 times: [ x]", "message repeated 3"}) {
    EXPECT_EQ(KindOf("sshd", m), MessageKind::kNotUnderstood) << m;
  }
  EXPECT_EQ(KindOf("cron", "message repeated 3"), MessageKind::kOtherProgram);
}

// --- dropbear ---

TEST(LoginDropbear, BadPasswordAndNonexistentUsers) {
  Login l = Expect("dropbear", "Bad password attempt for 'root' from 192.0.2.7:5543", 300);
  EXPECT_EQ(l.service, Service::kDropbear);
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.source_ip, "192.0.2.7");
  EXPECT_EQ(l.source_port, 5543);
  EXPECT_EQ(l.method, "password");
  l = Expect("dropbear", "Login attempt for nonexistent user from 192.0.2.7:60495");
  EXPECT_TRUE(l.invalid_user);
  EXPECT_EQ(l.user, "");
  EXPECT_EQ(l.source_port, 60495);
  l = Expect("dropbear", "login attempt for nonexistent user 'ubnt' from ::ffff:192.0.2.8:7000");  // older, lower case
  EXPECT_EQ(l.user, "ubnt");
  EXPECT_EQ(l.source_ip, "192.0.2.8");
  l = Expect("dropbear", "Bad PAM password attempt for 'admin' from 2001:db8::5:41000");
  EXPECT_EQ(l.source_ip, "2001:db8::5");
  EXPECT_EQ(l.source_port, 41000);
}

TEST(LoginDropbear, SuccessesAndExits) {
  Login l = Expect("dropbear", "Password auth succeeded for 'root' from 192.0.2.7:5543");
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.method, "password");
  l = Expect("dropbear", "Pubkey auth succeeded for 'ops' with ssh-ed25519 key SHA256:zzzz from [2001:db8::9]:2200");
  EXPECT_EQ(l.user, "ops");
  EXPECT_EQ(l.method, "publickey");
  EXPECT_EQ(l.source_ip, "2001:db8::9");
  l = Expect("dropbear", "password auth succeeded for 'root' from 192.0.2.7:5543");  // older
  EXPECT_EQ(l.user, "root");
  l = Expect("dropbear", "Exit (ops) from <192.0.2.7:5543>: Disconnect received");
  EXPECT_EQ(l.action, Action::kLogout);
  EXPECT_EQ(l.user, "ops");
  EXPECT_EQ(l.source_port, 5543);
  EXPECT_EQ(KindOf("dropbear", "Exit before auth from <192.0.2.7:5543>: Exited normally"), MessageKind::kKnown);
  EXPECT_EQ(KindOf("dropbear", "Max auth tries reached - user 'root' from 192.0.2.7:5543"), MessageKind::kKnown);
  EXPECT_EQ(KindOf("dropbear", "Child connection from 192.0.2.7:5543"), MessageKind::kKnown);
}

TEST(LoginDropbear, MalformedLines) {
  for (const char* m :
       {"Bad password attempt for 'root' from 192.0.2.7", "Bad password attempt for 'root'",
        "Bad password attempt for 'root' from 192.0.2.7:99999", "Password auth succeeded for 'root' from :22",
        "Pubkey auth succeeded for 'x' from 192.0.2.7:1", "Exit (root) from 192.0.2.7:1",
        "Exit (root) from <192.0.2.7:1", "Login attempt for nonexistent user"}) {
    EXPECT_EQ(KindOf("dropbear", m), MessageKind::kNotUnderstood) << m;
  }
}

// --- login ---

TEST(LoginLogin, BusyBoxLogsOneLinePerFailure) {
  Login l = Expect("login", "invalid password for 'root' on 'pts/0' from '192.0.2.7'", 700);
  EXPECT_EQ(l.service, Service::kLogin);
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.count, 1u);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.tty, "pts/0");
  EXPECT_EQ(l.source_ip, "192.0.2.7");
  l = Expect("login", "invalid password for 'admin' on 'ttyS0'");
  EXPECT_EQ(l.tty, "ttyS0");
  EXPECT_EQ(l.source_ip, "");
  l = Expect("login", "root login on 'pts/1' from '192.0.2.70'");
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.count, 1u);
  l = Expect("login", "root login on 'console'");
  EXPECT_EQ(l.tty, "console");
}

TEST(LoginLogin, UtilLinuxLines) {
  Login l = Expect("login", "FAILED LOGIN 1 FROM tty2 FOR root, Authentication failure");
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.tty, "tty2");
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.count, 1u);
  l = Expect("login",
             "FAILED LOGIN 2 FROM 192.0.2.33 FOR nobody1, User not known to the underlying authentication module");
  EXPECT_EQ(l.source_ip, "192.0.2.33");
  EXPECT_TRUE(l.invalid_user);
  l = Expect("login", "TOO MANY LOGIN TRIES (5) FROM term.example.org FOR root, Authentication failure");
  EXPECT_EQ(l.source_host, "term.example.org");
  l = Expect("login", "FAILED LOGIN SESSION FROM tty3 FOR (unknown), Authentication failure");
  EXPECT_EQ(l.user, "");
  EXPECT_EQ(l.tty, "tty3");
  l = Expect("login", "ROOT LOGIN ON tty1");
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.tty, "tty1");
  l = Expect("login", "LOGIN ON pts/4 BY carol FROM 192.0.2.44");
  EXPECT_EQ(l.user, "carol");
  EXPECT_EQ(l.tty, "pts/4");
  EXPECT_EQ(l.source_ip, "192.0.2.44");
  EXPECT_EQ(KindOf("login", "DIALUP AT ttyS0 BY carol"), MessageKind::kKnown);
}

TEST(LoginLogin, ShadowLines) {
  Login l = Expect(
      "login", "FAILED LOGIN (1) on '/dev/tty1' FOR 'UNKNOWN', User not known to the underlying authentication module");
  EXPECT_EQ(l.user, "");
  EXPECT_TRUE(l.invalid_user);
  EXPECT_EQ(l.tty, "tty1");
  l = Expect("login", "FAILED LOGIN (2) on '/dev/pts/2' from 'lab-3' FOR 'dave', Authentication failure");
  EXPECT_EQ(l.user, "dave");
  EXPECT_EQ(l.source_host, "lab-3");
  l = Expect("login", "TOO MANY LOGIN TRIES (3) on '/dev/tty1' FOR 'dave'");
  EXPECT_EQ(l.user, "dave");
  l = Expect("login", "ROOT LOGIN  on '/dev/tty1'");
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.tty, "tty1");
  l = Expect("login", "'dave' logged in  on '/dev/pts/2' from '192.0.2.2'");
  EXPECT_EQ(l.user, "dave");
  EXPECT_EQ(l.source_ip, "192.0.2.2");
}

TEST(LoginLogin, MalformedLines) {
  for (const char* m :
       {"invalid password for 'root", "invalid password for 'root' on 'pts/0", "FAILED LOGIN x FROM a FOR b, c",
        "FAILED LOGIN (x) FROM a FOR b", "FAILED LOGIN 1 FROM tty1", "FAILED LOGIN 1", "LOGIN ON tty1", "ROOT LOGIN",
        "'dave' logged out", "root login garbage", "FAILED LOGIN (2) on '/dev/pts/2' from 'lab-3 FOR 'dave'"}) {
    EXPECT_EQ(KindOf("login", m), MessageKind::kNotUnderstood) << m;
  }
}

TEST(LoginLogin, PamSessionCloseIsALogout) {
  Login l = Expect("login", "pam_unix(login:session): session closed for user carol", 812);
  EXPECT_EQ(l.action, Action::kLogout);
  EXPECT_EQ(l.service, Service::kLogin);
  EXPECT_EQ(l.user, "carol");
  EXPECT_EQ(l.pid, 812);
  EXPECT_EQ(KindOf("login", "pam_unix(login:session): session opened for user carol(uid=1001) by LOGIN(uid=0)"),
            MessageKind::kKnown);
  EXPECT_EQ(KindOf("login",
                   "pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= "
                   "rhost=  user=carol"),
            MessageKind::kKnown);
  EXPECT_EQ(KindOf("login", "pam_unix(login:session): session closed for user "), MessageKind::kNotUnderstood);
}

// --- su ---

TEST(LoginSu, UtilLinuxLines) {
  Login l = Expect("su", "(to root) carol on pts/3", 9);
  EXPECT_EQ(l.service, Service::kSu);
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.by_user, "carol");
  EXPECT_EQ(l.tty, "pts/3");
  l = Expect("su", "FAILED SU (to postgres) eve on none");
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.user, "postgres");
  EXPECT_EQ(l.by_user, "eve");
  EXPECT_EQ(l.tty, "");
  EXPECT_EQ(l.method, "password");
}

TEST(LoginSu, ShadowAndBusyBoxLines) {
  Login l = Expect("su", "+ /dev/pts/0 alice:root");
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.by_user, "alice");
  EXPECT_EQ(l.tty, "pts/0");
  l = Expect("su", "- ttyS0 eve:root");
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.by_user, "eve");
  EXPECT_EQ(KindOf("su", "Successful su for root by alice"), MessageKind::kKnown);
  EXPECT_EQ(KindOf("su", "FAILED su for root by eve"), MessageKind::kKnown);
  EXPECT_EQ(KindOf("su", "pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)"),
            MessageKind::kKnown);
  l = Expect("su", "pam_unix(su-l:session): session closed for user root");
  EXPECT_EQ(l.action, Action::kLogout);
  EXPECT_EQ(l.service, Service::kSu);
}

TEST(LoginSu, MalformedLines) {
  for (const char* m : {"(to root carol on pts/3", "(to root) carol", "FAILED SU", "FAILED SU to root", "+ ", "+ pts/0",
                        "+ pts/0 alice", "- pts/0 noseparator", "what is this"}) {
    EXPECT_EQ(KindOf("su", m), MessageKind::kNotUnderstood) << m;
  }
}

// --- sudo ---

TEST(LoginSudo, CommandsAreSuccesses) {
  Login l =
      Expect("sudo", "   carol : TTY=pts/0 ; PWD=/home/carol ; USER=root ; COMMAND=/usr/bin/apt update ; echo hi", 44);
  EXPECT_EQ(l.service, Service::kSudo);
  EXPECT_EQ(l.action, Action::kSuccess);
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.by_user, "carol");
  EXPECT_EQ(l.tty, "pts/0");
  EXPECT_EQ(l.command, "/usr/bin/apt update ; echo hi");
  EXPECT_EQ(l.method, "");
  l = Expect("sudo", "carol : PWD=/ ; USER=backup ; ENV=A=b ; COMMAND=/bin/tar");
  EXPECT_EQ(l.user, "backup");
  EXPECT_EQ(l.tty, "");
}

TEST(LoginSudo, FailuresCountAttemptsAndDenials) {
  Login l = Expect("sudo", "eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh");
  EXPECT_EQ(l.action, Action::kFailure);
  EXPECT_EQ(l.outcome, Outcome::kFailed);
  EXPECT_EQ(l.count, 3u);
  EXPECT_EQ(l.method, "password");
  EXPECT_EQ(l.by_user, "eve");
  EXPECT_EQ(l.user, "root");
  EXPECT_EQ(l.command, "/bin/sh");
  l = Expect("sudo", "eve : 1 incorrect password attempt ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh");
  EXPECT_EQ(l.count, 1u);
  l = Expect("sudo", "eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/id");
  EXPECT_EQ(l.outcome, Outcome::kDenied);
  EXPECT_EQ(l.count, 1u);
  l = Expect("sudo", "eve : command not allowed ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/rm");
  EXPECT_EQ(l.outcome, Outcome::kDenied);
  EXPECT_EQ(l.tty, "");
  l = Expect("sudo", "eve : a password is required ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/id");
  EXPECT_EQ(l.outcome, Outcome::kFailed);
}

TEST(LoginSudo, MalformedAndOtherLines) {
  EXPECT_EQ(KindOf("sudo", "pam_unix(sudo:auth): authentication failure; logname=eve uid=1000"), MessageKind::kKnown);
  EXPECT_EQ(KindOf("sudo", "eve : (command continued) more words"), MessageKind::kKnown);
  for (const char* m : {"", "eve", "eve :", " : TTY=pts/1", "eve : something odd ; TTY=x", "two words : TTY=pts/1",
                        "eve : x incorrect password attempts ; TTY=pts/1"}) {
    EXPECT_EQ(KindOf("sudo", m), MessageKind::kNotUnderstood) << "'" << m << "'";
  }
  Login l = Expect("sudo", "pam_unix(sudo:session): session closed for user root");
  EXPECT_EQ(l.action, Action::kLogout);
}

// --- utmp ---

std::string Record(int16_t type, int32_t pid, const std::string& line, const std::string& user, const std::string& host,
                   int32_t sec, const uint8_t* addr = nullptr) {
  std::string b(kUtmpRecordSize, '\0');
  std::memcpy(b.data(), &type, 2);
  std::memcpy(b.data() + 4, &pid, 4);
  std::memcpy(b.data() + 8, line.data(), std::min<size_t>(line.size(), 32));
  std::memcpy(b.data() + 40, "ts/0", 4);
  std::memcpy(b.data() + 44, user.data(), std::min<size_t>(user.size(), 32));
  std::memcpy(b.data() + 76, host.data(), std::min<size_t>(host.size(), 256));
  std::memcpy(b.data() + 340, &sec, 4);
  const int32_t usec = 250'000;
  std::memcpy(b.data() + 344, &usec, 4);
  if (addr) std::memcpy(b.data() + 348, addr, 16);
  return b;
}

TEST(LoginUtmp, ParsesARecord) {
  auto r = ParseUtmpRecord(Record(kUtUserProcess, 4321, "pts/7", "alice", "198.51.100.2", 1'700'000'000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->type, kUtUserProcess);
  EXPECT_EQ(r->pid, 4321);
  EXPECT_EQ(r->line, "pts/7");
  EXPECT_EQ(r->id, "ts/0");
  EXPECT_EQ(r->user, "alice");
  EXPECT_EQ(r->host, "198.51.100.2");
  EXPECT_EQ(r->tv_sec, 1'700'000'000);
  EXPECT_EQ(r->tv_usec, 250'000);
  std::string host;
  EXPECT_EQ(UtmpSourceIp(*r, &host), "198.51.100.2");
  EXPECT_EQ(host, "");
}

TEST(LoginUtmp, FullFieldsWithoutTerminatorAndAddresses) {
  const std::string user32(32, 'u');
  const uint8_t v4[16] = {192, 0, 2, 99};
  auto r = ParseUtmpRecord(Record(kUtUserProcess, 1, std::string(32, 'l'), user32, "laptop.lan", 5, v4));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user, user32);
  EXPECT_EQ(r->line.size(), 32u);
  std::string host;
  EXPECT_EQ(UtmpSourceIp(*r, &host), "192.0.2.99");
  EXPECT_EQ(host, "laptop.lan");
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  r = ParseUtmpRecord(Record(kUtUserProcess, 1, "pts/1", "bob", "", 5, v6));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(UtmpSourceIp(*r, &host), "2001:db8::1");
}

TEST(LoginUtmp, BusyBoxTelnetdsAddressAndPort) {
  std::string host;
  int32_t port = -1;
  auto r = ParseUtmpRecord(Record(kUtLoginProcess, 7, "pts/0", "LOGIN", "[::ffff:127.0.0.1]:52570", 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(UtmpSourceIp(*r, &host, &port), "127.0.0.1");
  EXPECT_EQ(port, 52570);
  EXPECT_EQ(host, "");
  r = ParseUtmpRecord(Record(kUtLoginProcess, 7, "pts/0", "LOGIN", "192.0.2.1:23", 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(UtmpSourceIp(*r, &host, &port), "192.0.2.1");
  EXPECT_EQ(port, 23);
  r = ParseUtmpRecord(Record(kUtLoginProcess, 7, "pts/0", "LOGIN", "[2001:db8::2]:99999", 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(UtmpSourceIp(*r, &host, &port), "") << "no such port";
  EXPECT_EQ(host, "[2001:db8::2]:99999");
}

TEST(LoginUtmp, CleansHostileText) {
  auto r = ParseUtmpRecord(Record(kUtUserProcess, 1, "pts/1", "a\x01\xff\xc3", "h\x7f", 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user, "a???");
  EXPECT_EQ(r->host, "h?");
}

TEST(LoginUtmp, RejectsMalformedRecordsNamingTheField) {
  auto r = ParseUtmpRecord(std::string(383, '\0'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("383 bytes"), std::string_view::npos);
  r = ParseUtmpRecord(Record(12, 1, "pts/1", "x", "", 5));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ut_type 12"), std::string_view::npos);
  r = ParseUtmpRecord(Record(kUtUserProcess, -5, "pts/1", "x", "", 5));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ut_pid"), std::string_view::npos);
  std::string bad = Record(kUtUserProcess, 1, "pts/1", "x", "", 5);
  const int32_t usec = 2'000'000;
  std::memcpy(bad.data() + 344, &usec, 4);
  r = ParseUtmpRecord(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tv_usec"), std::string_view::npos);
}

// --- Text ---

TEST(LoginText, NormalizesAddresses) {
  EXPECT_EQ(NormalizeIp("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(NormalizeIp("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(NormalizeIp("2001:DB8:0:0::1"), "2001:db8::1");
  EXPECT_EQ(NormalizeIp("192.0.2"), "");
  EXPECT_EQ(NormalizeIp("host"), "");
  EXPECT_EQ(NormalizeIp(""), "");
  EXPECT_EQ(NormalizeIp(std::string(200, '1')), "");
  EXPECT_EQ(NormalizeIp(std::string("1.2.3.4\0", 8)), "");
}

TEST(LoginText, CleanTextKeepsValidUtf8AndCutsAtCharacters) {
  EXPECT_EQ(CleanText("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(CleanText("a\tb\nc"), "a?b?c");
  EXPECT_EQ(CleanText("\xc0\xaf"), "??");            // overlong
  EXPECT_EQ(CleanText("\xed\xa0\x80"), "???");       // surrogate
  EXPECT_EQ(CleanText("\xf4\x90\x80\x80"), "????");  // past U+10FFFF
  EXPECT_EQ(CleanText("ab\xc3\xa9", 3), "ab");       // no half character
  EXPECT_EQ(CleanText(std::string(5000, 'x')).size(), kMaxFieldBytes);
}

}  // namespace
}  // namespace vigil::login
