// The login collector on the real thing (root needed): a real sshd on a loopback port writing
// its own log, failed and successful password logins by a test user; the auth log followed
// across rotation and truncation; syslog datagrams on the agent's socket; utmp, wtmp and btmp
// records written into files the agent is pointed at; journal entries written with
// systemd-journal-remote. Every event the agent writes is checked against the schema.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/agent_harness.h"
#include "tests/integration/sshd_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::RunToEnd;
using testing::Sshd;
using testing::SshLogin;
using testing::TempDir;
using testing::TestUser;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kWait = 20s;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void AppendFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

bool IsLogin(const json& e, const std::string& action) {
  return e.value("type", "") == "login" && e.value("action", "") == action && e.contains("data");
}

std::string Str(const json& e, const char* field) { return e["data"].value(field, std::string()); }

// Agent config: the login collector on the given inputs only ({key, value} pairs of the
// login section; the other inputs are off), and frequent agent_stats.
std::string LoginConfig(std::map<std::string, std::string> keys) {
  std::map<std::string, std::string> all = {
      {"auth_log", ""}, {"utmp", ""}, {"wtmp", ""}, {"btmp", ""}, {"journal", "off"}};
  for (auto& [k, v] : keys) all[k] = v;
  std::string yaml = "stats:\n  interval: 1s\nlogin:\n";
  for (const auto& [k, v] : all) yaml += "  " + k + ": \"" + v + "\"\n";
  return yaml;
}

// Starts the agent and waits until the login collector has opened its inputs.
std::unique_ptr<AgentProcess> StartAgent(const std::string& config) {
  auto agent = AgentProcess::Start(config);
  if (!agent) return nullptr;
  if (!agent->WaitForLog("collector login: started", kWait)) {
    ADD_FAILURE() << "the login collector did not start; agent log:\n" << agent->Log();
    return nullptr;
  }
  return agent;
}

// Stops the agent, checks every event against the schema, and that there were logins.
void StopAndValidateLogins(AgentProcess& agent) {
  testing::StopAndValidate(agent);
  int logins = 0;
  for (const json& e : agent.Events()) logins += e.value("type", "") == "login";
  EXPECT_GT(logins, 0);
}

// The login collector's entry of the latest agent_stats event (null when none yet).
json LoginStats(AgentProcess& agent) {
  json found;
  for (const json& e : agent.Events()) {
    if (e.value("type", "") != "agent_stats") continue;
    for (const json& c : e["data"]["collectors"])
      if (c.value("collector", "") == "login") found = c;
  }
  return found;
}

// Waits until an agent_stats event shows pred true for the login collector.
bool WaitForStats(AgentProcess& agent, const std::function<bool(const json&)>& pred) {
  return agent
      .WaitFor(
          [&](const json& e) {
            if (e.value("type", "") != "agent_stats") return false;
            for (const json& c : e["data"]["collectors"])
              if (c.value("collector", "") == "login" && pred(c)) return true;
            return false;
          },
          kWait)
      .has_value();
}

TEST(LoginIntegration, RealSshdFailuresAndSuccessFromItsLog) {
  TempDir dir("/tmp/vigil-login-it-");
  ASSERT_FALSE(dir.path().empty());
  TestUser user;
  ASSERT_TRUE(user.ok()) << "could not create the test user " << user.name() << " (useradd, chpasswd; root needed)";
  const std::string log = dir / "sshd.log";
  WriteFile(log, "Failed password for history from 192.0.2.1 port 1 ssh2\n");  // before the agent: never read

  auto agent = StartAgent(LoginConfig({{"auth_log", log}}));
  ASSERT_NE(agent, nullptr);
  auto sshd = Sshd::Start(dir.path(), {user.name(), "nosuch-vigil-user"}, kWait);
  ASSERT_NE(sshd, nullptr);
  const uint16_t port = sshd->port();

  constexpr int kWrong = 3;
  for (int i = 0; i < kWrong; ++i) EXPECT_NE(SshLogin(port, user.name(), "wrong-" + std::to_string(i)), 0);
  EXPECT_NE(SshLogin(port, "nosuch-vigil-user", "whatever"), 0);
  ASSERT_EQ(SshLogin(port, user.name(), user.password()), 0) << "the right password was refused; sshd log:\n"
                                                             << sshd->LogText();

  auto success =
      agent->WaitFor([&](const json& e) { return IsLogin(e, "success") && Str(e, "user") == user.name(); }, kWait);
  ASSERT_TRUE(success.has_value()) << "no success event; agent log:\n"
                                   << agent->Log() << "\nsshd log:\n"
                                   << std::ifstream(log).rdbuf();
  EXPECT_EQ(Str(*success, "source_ip"), "127.0.0.1");
  EXPECT_GT((*success)["data"].value("source_port", 0), 0);
  EXPECT_EQ(Str(*success, "method"), "password");
  EXPECT_EQ(Str(*success, "service"), "sshd");
  EXPECT_EQ(Str(*success, "result"), "accepted");
  EXPECT_EQ(Str(*success, "source"), "auth_log");
  auto logout =
      agent->WaitFor([&](const json& e) { return IsLogin(e, "logout") && Str(e, "user") == user.name(); }, kWait);
  ASSERT_TRUE(logout.has_value()) << "no logout event; sshd log:\n" << std::ifstream(log).rdbuf();
  EXPECT_EQ((*logout)["data"].value("source_port", -1), (*success)["data"].value("source_port", -2));
  EXPECT_TRUE((*logout)["data"].contains("duration_s"));

  // The success came after every failure in the log, so every failure has been written.
  int user_failures = 0, invalid_failures = 0, other = 0;
  for (const json& e : agent->Events()) {
    if (!IsLogin(e, "failure")) continue;
    const int count = e.value("count", 1);
    if (Str(e, "user") == user.name()) {
      user_failures += count;
      EXPECT_FALSE(e["data"].contains("invalid_user"));
    } else if (Str(e, "user") == "nosuch-vigil-user") {
      invalid_failures += count;
    } else {
      other += count;
      continue;
    }
    EXPECT_EQ(Str(e, "source_ip"), "127.0.0.1");
    EXPECT_GT(e["data"].value("source_port", 0), 0);
    EXPECT_EQ(Str(e, "method"), "password");
    EXPECT_EQ(Str(e, "service"), "sshd");
    EXPECT_EQ(Str(e, "result"), "failed");
  }
  EXPECT_EQ(user_failures, kWrong);
  EXPECT_EQ(invalid_failures, 1);
  EXPECT_EQ(other, 0) << "failures of nobody this test tried (the history line must not be read)";
  auto invalid =
      agent->WaitFor([&](const json& e) { return IsLogin(e, "failure") && Str(e, "user") == "nosuch-vigil-user"; }, 1s);
  ASSERT_TRUE(invalid.has_value());
  EXPECT_EQ((*invalid)["data"].value("invalid_user", false), true);

  ASSERT_TRUE(WaitForStats(*agent, [](const json& c) {
    return c.value("source", "") == "auth_log" && c["counters"].value("lines_read", 0) > 0;
  })) << "agent_stats never showed the auth_log input in use";
  StopAndValidateLogins(*agent);
}

// --- The auth log across rotation ----------------------------------------------------------

std::string SshdLine(const std::string& user, int n) {
  return "Mar  3 07:41:09 gw sshd[" + std::to_string(2000 + n) + "]: Failed password for " + user + " from 192.0.2." +
         std::to_string(n % 250 + 1) + " port " + std::to_string(40000 + n) + " ssh2\n";
}

TEST(LoginIntegration, TailsTheAuthLogAcrossRotationReadingEachLineOnce) {
  TempDir dir("/tmp/vigil-login-it-");
  const std::string log = dir / "auth.log";
  WriteFile(log, SshdLine("history", 0));
  auto agent = StartAgent(LoginConfig({{"auth_log", log}}));
  ASSERT_NE(agent, nullptr);

  std::vector<std::string> expected;
  auto write = [&](const std::string& path, const std::string& user) {
    expected.push_back(user);
    AppendFile(path, SshdLine(user, static_cast<int>(expected.size())));
  };
  auto wait_for = [&](const std::string& user) {
    return agent->WaitFor([&](const json& e) { return IsLogin(e, "failure") && Str(e, "user") == user; }, kWait)
        .has_value();
  };
  write(log, "before-1");
  write(log, "before-2");
  ASSERT_TRUE(wait_for("before-2")) << agent->Log();
  // Rotation by rename: the writer goes on in the old file for a while after the new one
  // appears (as rsyslog does until logrotate's HUP).
  fs::rename(log, log + ".1");
  write(log + ".1", "old-after-rename");
  write(log, "new-1");
  write(log + ".1", "old-late");
  write(log, "new-2");
  ASSERT_TRUE(wait_for("new-2")) << agent->Log();
  ASSERT_TRUE(wait_for("old-late")) << agent->Log();
  // copytruncate: the file is emptied in place and written again.
  fs::resize_file(log, 0);
  write(log, "after-truncate");
  ASSERT_TRUE(wait_for("after-truncate")) << agent->Log();
  // A second rename rotation; the first old file goes away meanwhile.
  fs::remove(log + ".1");
  fs::rename(log, log + ".1");
  write(log, "third-file");
  ASSERT_TRUE(wait_for("third-file")) << agent->Log();

  std::map<std::string, int> seen;
  for (const json& e : agent->Events())
    if (IsLogin(e, "failure")) seen[Str(e, "user")] += e.value("count", 1);
  for (const std::string& user : expected) EXPECT_EQ(seen[user], 1) << user;
  EXPECT_EQ(seen.count("history"), 0u) << "lines written before the agent started are not read";
  EXPECT_EQ(seen.size(), expected.size());
  ASSERT_TRUE(WaitForStats(*agent,
                           [](const json& c) {
                             return c["counters"].value("log_rotations", 0) >= 2 &&
                                    c["counters"].value("log_truncations", 0) >= 1;
                           }))
      << "rotations and truncations not counted: " << LoginStats(*agent).dump();
  StopAndValidateLogins(*agent);
}

// --- The syslog socket ---------------------------------------------------------------------

bool SendDatagram(const std::string& path, const std::string& data) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof addr.sun_path - 1));
  const ssize_t n = sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
  return n == static_cast<ssize_t>(data.size());
}

TEST(LoginIntegration, ReadsSyslogDatagramsOnItsSocket) {
  ASSERT_EQ(access("/usr/bin/logger", X_OK), 0) << "/usr/bin/logger is missing: install bsdutils";
  TempDir dir("/tmp/vigil-login-it-");
  const std::string sock = dir / "log.sock";
  auto agent = StartAgent(LoginConfig({{"syslog_socket", sock}}));
  ASSERT_NE(agent, nullptr);
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0) << "no socket at " << sock;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  // RFC 3164 from util-linux logger, as a local program's syslog(3) would send it.
  ASSERT_EQ(RunToEnd({"/usr/bin/logger", "-u", sock, "--rfc3164", "-t", "sshd", "-p", "authpriv.info",
                      "Failed password for invalid user sock-a from 198.51.100.61 port 4100 ssh2"}),
            0);
  auto a = agent->WaitFor([](const json& e) { return IsLogin(e, "failure") && Str(e, "user") == "sock-a"; }, kWait);
  ASSERT_TRUE(a.has_value()) << agent->Log();
  EXPECT_EQ(Str(*a, "source"), "syslog");
  EXPECT_EQ(Str(*a, "source_ip"), "198.51.100.61");
  EXPECT_EQ((*a)["data"].value("invalid_user", false), true);

  // RFC 5424, dropbear; and rsyslog-style repeats counting three.
  ASSERT_TRUE(SendDatagram(sock,
                           "<86>1 2025-02-03T04:05:06.789Z router dropbear 321 - - Bad password attempt for "
                           "'sock-b' from ::ffff:198.51.100.62:5100"));
  ASSERT_TRUE(SendDatagram(sock,
                           "<86>Feb  3 04:05:07 sshd[77]: message repeated 3 times: [ Failed password for "
                           "sock-c from 198.51.100.63 port 5200 ssh2]"));
  ASSERT_TRUE(SendDatagram(sock, "this is not a syslog frame"));
  ASSERT_TRUE(SendDatagram(sock, "<86>Feb  3 04:05:08 su[78]: (to root) sock-d on pts/9"));
  auto d = agent->WaitFor([](const json& e) { return IsLogin(e, "success") && Str(e, "by_user") == "sock-d"; }, kWait);
  ASSERT_TRUE(d.has_value()) << agent->Log();
  EXPECT_EQ(Str(*d, "user"), "root");
  EXPECT_EQ(Str(*d, "service"), "su");
  int b = 0, c = 0;
  for (const json& e : agent->Events()) {
    if (!IsLogin(e, "failure")) continue;
    if (Str(e, "user") == "sock-b") {
      b += e.value("count", 1);
      EXPECT_EQ(Str(e, "service"), "dropbear");
      EXPECT_EQ(Str(e, "source_ip"), "198.51.100.62");
      EXPECT_EQ(e["data"].value("source_port", 0), 5100);
    }
    if (Str(e, "user") == "sock-c") c += e.value("count", 1);
  }
  EXPECT_EQ(b, 1);
  EXPECT_EQ(c, 3) << "message repeated 3 times counts three";
  ASSERT_TRUE(WaitForStats(*agent, [](const json& c) {
    return c.value("source", "") == "syslog" && c["counters"].value("syslog_frames_malformed", 0) == 1;
  })) << LoginStats(*agent).dump();
  StopAndValidateLogins(*agent);
  EXPECT_NE(stat(sock.c_str(), &st), 0) << "the agent removes its socket when it stops";
}

// --- utmp, wtmp, btmp ----------------------------------------------------------------------

std::string Record(int16_t type, int32_t pid, const std::string& line, const std::string& user,
                   const std::string& host) {
  std::string b(384, '\0');
  const auto now = static_cast<int32_t>(time(nullptr));
  std::memcpy(b.data(), &type, 2);
  std::memcpy(b.data() + 4, &pid, 4);
  std::memcpy(b.data() + 8, line.data(), std::min<size_t>(line.size(), 32));
  std::memcpy(b.data() + 44, user.data(), std::min<size_t>(user.size(), 32));
  std::memcpy(b.data() + 76, host.data(), std::min<size_t>(host.size(), 256));
  std::memcpy(b.data() + 340, &now, 4);
  return b;
}

TEST(LoginIntegration, WtmpAndBtmpReportWhenNoAuthLogIsRead) {
  TempDir dir("/tmp/vigil-login-it-");
  const std::string wtmp = dir / "wtmp", btmp = dir / "btmp", utmp = dir / "utmp";
  WriteFile(wtmp, Record(7, 10, "pts/70", "history", "192.0.2.1"));
  WriteFile(btmp, "");
  WriteFile(utmp, Record(7, 11, "pts/71", "already-in", "192.0.2.71"));
  auto agent = StartAgent(LoginConfig({{"wtmp", wtmp}, {"btmp", btmp}, {"utmp", utmp}}));
  ASSERT_NE(agent, nullptr);

  AppendFile(wtmp, Record(7, 4242, "pts/77", "wtmp-user", "192.0.2.77"));
  auto in = agent->WaitFor([](const json& e) { return IsLogin(e, "success") && Str(e, "user") == "wtmp-user"; }, kWait);
  ASSERT_TRUE(in.has_value()) << agent->Log();
  EXPECT_EQ(Str(*in, "source"), "wtmp");
  EXPECT_EQ(Str(*in, "tty"), "pts/77");
  EXPECT_EQ(Str(*in, "source_ip"), "192.0.2.77");
  EXPECT_EQ((*in)["data"].value("pid", 0), 4242);

  AppendFile(wtmp, Record(8, 4242, "pts/77", "", ""));  // logout records carry no user
  auto out = agent->WaitFor([](const json& e) { return IsLogin(e, "logout") && Str(e, "tty") == "pts/77"; }, kWait);
  ASSERT_TRUE(out.has_value()) << agent->Log();
  EXPECT_EQ(Str(*out, "user"), "wtmp-user");
  EXPECT_EQ(Str(*out, "source_ip"), "192.0.2.77");

  // A session open before the agent started (from utmp) still gets its user at logout.
  AppendFile(wtmp, Record(8, 11, "pts/71", "", ""));
  auto early = agent->WaitFor([](const json& e) { return IsLogin(e, "logout") && Str(e, "tty") == "pts/71"; }, kWait);
  ASSERT_TRUE(early.has_value()) << agent->Log();
  EXPECT_EQ(Str(*early, "user"), "already-in");

  AppendFile(btmp, Record(6, 4343, "ssh:notty", "btmp-user", "192.0.2.78"));
  auto bad =
      agent->WaitFor([](const json& e) { return IsLogin(e, "failure") && Str(e, "user") == "btmp-user"; }, kWait);
  ASSERT_TRUE(bad.has_value()) << agent->Log();
  EXPECT_EQ(Str(*bad, "source"), "btmp");
  EXPECT_EQ(Str(*bad, "service"), "sshd");
  EXPECT_EQ(Str(*bad, "source_ip"), "192.0.2.78");

  // A malformed record is counted, not reported.
  AppendFile(btmp, std::string(384, '\x7f'));
  ASSERT_TRUE(WaitForStats(*agent, [](const json& c) {
    return c.value("source", "") == "utmp,wtmp,btmp" && c["counters"].value("records_malformed", 0) == 1;
  })) << LoginStats(*agent).dump();
  for (const json& e : agent->Events()) EXPECT_NE(Str(e, "user"), "history") << e.dump();
  StopAndValidateLogins(*agent);
}

TEST(LoginIntegration, UtmpChangesReportWhenItIsTheOnlyInput) {
  TempDir dir("/tmp/vigil-login-it-");
  const std::string utmp = dir / "utmp";
  WriteFile(utmp, Record(2, 0, "~", "reboot", "6.1.0"));
  auto agent = StartAgent(LoginConfig({{"utmp", utmp}}));
  ASSERT_NE(agent, nullptr);
  auto write_slot = [&](size_t slot, const std::string& rec) {
    std::fstream f(utmp, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(slot * 384));
    f.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  };
  write_slot(1, Record(7, 5151, "pts/51", "utmp-user", "198.51.100.51"));
  auto in = agent->WaitFor([](const json& e) { return IsLogin(e, "success") && Str(e, "user") == "utmp-user"; }, kWait);
  ASSERT_TRUE(in.has_value()) << agent->Log();
  EXPECT_EQ(Str(*in, "source"), "utmp");
  write_slot(1, Record(8, 5151, "pts/51", "", ""));
  auto out = agent->WaitFor([](const json& e) { return IsLogin(e, "logout") && Str(e, "user") == "utmp-user"; }, kWait);
  ASSERT_TRUE(out.has_value()) << agent->Log();
  EXPECT_EQ(Str(*out, "tty"), "pts/51");
  EXPECT_EQ(Str(*out, "source_ip"), "198.51.100.51");
  StopAndValidateLogins(*agent);
}

// --- The journal ---------------------------------------------------------------------------

constexpr const char* kJournalRemote = "/lib/systemd/systemd-journal-remote";

// Appends one entry to the journal file `file` with systemd-journal-remote (export format).
bool WriteJournalEntry(const std::string& dir, const std::string& file, const std::string& identifier, int pid,
                       const std::string& message) {
  static int n = 0;
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string path = dir + "/entry" + std::to_string(++n) + ".export";
  WriteFile(path,
            "__REALTIME_TIMESTAMP=" + std::to_string(now_us) + "\n__MONOTONIC_TIMESTAMP=" + std::to_string(now_us) +
                "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=it\n" + "SYSLOG_IDENTIFIER=" + identifier +
                "\n_PID=" + std::to_string(pid) + "\nMESSAGE=" + message + "\n\n");
  return RunToEnd({kJournalRemote, "--output=" + file, "--split-mode=none", path}) == 0;
}

TEST(LoginIntegration, ReadsTheJournalFromItsEnd) {
  ASSERT_EQ(access(kJournalRemote, X_OK), 0)
      << kJournalRemote << " is missing (it writes the test's journal): install systemd-journal-remote";
  TempDir dir("/tmp/vigil-login-it-");
  const std::string jdir = dir / "journal";
  mkdir(jdir.c_str(), 0755);
  const std::string file = jdir + "/test.journal";
  ASSERT_TRUE(
      WriteJournalEntry(dir.path(), file, "sshd", 10, "Failed password for jr-history from 192.0.2.1 port 1 ssh2"));
  auto agent = StartAgent(LoginConfig({{"journal", "on"}, {"journal_directory", jdir}}));
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitForStats(*agent, [](const json& c) { return c.value("source", "") == "journal"; }))
      << "the journal is not in use; agent log:\n"
      << agent->Log();

  ASSERT_TRUE(
      WriteJournalEntry(dir.path(), file, "cron", 11, "Failed password for jr-cron from 192.0.2.2 port 2 ssh2"));
  ASSERT_TRUE(WriteJournalEntry(dir.path(), file, "sshd-session", 12,
                                "Accepted password for jr-user from 192.0.2.3 port 3 ssh2"));
  auto in = agent->WaitFor([](const json& e) { return IsLogin(e, "success") && Str(e, "user") == "jr-user"; }, kWait);
  ASSERT_TRUE(in.has_value()) << agent->Log();
  EXPECT_EQ(Str(*in, "source"), "journal");
  EXPECT_EQ(Str(*in, "service"), "sshd");
  EXPECT_EQ((*in)["data"].value("pid", 0), 12);
  for (const json& e : agent->Events()) {
    EXPECT_NE(Str(e, "user"), "jr-history") << "entries written before the agent started are not read";
    EXPECT_NE(Str(e, "user"), "jr-cron") << "other programs' entries are not read";
  }
  StopAndValidateLogins(*agent);
}

}  // namespace
}  // namespace vigil
