#include "agent/collectors/login/login_tracker.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::login {
namespace {

constexpr int64_t kNow = 1'750'000'000'000;

std::string Record(int16_t type, int32_t pid, const std::string& line, const std::string& user, const std::string& host,
                   int32_t sec) {
  std::string b(kUtmpRecordSize, '\0');
  std::memcpy(b.data(), &type, 2);
  std::memcpy(b.data() + 4, &pid, 4);
  std::memcpy(b.data() + 8, line.data(), std::min<size_t>(line.size(), 32));
  std::memcpy(b.data() + 44, user.data(), std::min<size_t>(user.size(), 32));
  std::memcpy(b.data() + 76, host.data(), std::min<size_t>(host.size(), 256));
  std::memcpy(b.data() + 340, &sec, 4);
  return b;
}

LoginInput Input(LoginOrigin origin, std::string data) {
  LoginInput in;
  in.origin = origin;
  in.data = std::move(data);
  return in;
}

class LoginTrackerTest : public ::testing::Test {
 protected:
  LoginTracker& Tracker(uint32_t in_use, TrackerOptions options = {}) {
    tracker_ = std::make_unique<LoginTracker>(
        stats_, [this](Event&& e) { events_.push_back(std::move(e)); }, options);
    tracker_->SetInUse(in_use);
    return *tracker_;
  }
  void Line(const std::string& line, int64_t now = kNow) { tracker_->Handle(Input(LoginOrigin::kAuthLog, line), now); }

  CollectorStats stats_{"login"};
  std::vector<Event> events_;
  std::unique_ptr<LoginTracker> tracker_;
};

constexpr uint32_t kAuth = LoginOriginBit(LoginOrigin::kAuthLog);
constexpr uint32_t kWtmp = LoginOriginBit(LoginOrigin::kWtmp);
constexpr uint32_t kBtmp = LoginOriginBit(LoginOrigin::kBtmp);
constexpr uint32_t kUtmp = LoginOriginBit(LoginOrigin::kUtmp);

TEST_F(LoginTrackerTest, AuthLogLinesBecomeEventsWithEveryField) {
  Tracker(kAuth);
  Line("Mar  3 07:41:09 gw sshd[2211]: Failed password for invalid user admin from 192.0.2.7 port 38926 ssh2");
  ASSERT_EQ(events_.size(), 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.type, "login");
  EXPECT_EQ(e.action, "failure");
  EXPECT_EQ(e.ts_ms, kNow);
  EXPECT_EQ(e.data["user"], "admin");
  EXPECT_EQ(e.data["invalid_user"], true);
  EXPECT_EQ(e.data["source_ip"], "192.0.2.7");
  EXPECT_EQ(e.data["source_port"], 38926);
  EXPECT_EQ(e.data["method"], "password");
  EXPECT_EQ(e.data["service"], "sshd");
  EXPECT_EQ(e.data["result"], "failed");
  EXPECT_EQ(e.data["pid"], 2211);
  EXPECT_EQ(e.data["source"], "auth_log");
  EXPECT_EQ(e.data["message"], "Failed password for invalid user admin from 192.0.2.7 port 38926 ssh2");
  EXPECT_FALSE(e.agg_key.empty()) << "failures may be aggregated";
  EXPECT_EQ(stats_.count("lines_read"), 1u);
}

TEST_F(LoginTrackerTest, SuccessesAndLogoutsAreNeverAggregated) {
  Tracker(kAuth);
  Line("Mar  3 07:41:09 gw sshd[10]: Accepted password for ops from 192.0.2.8 port 5000 ssh2");
  Line("Mar  3 08:41:09 gw sshd[10]: Disconnected from user ops 192.0.2.8 port 5000", kNow + 3'600'000);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].action, "success");
  EXPECT_EQ(events_[0].data["result"], "accepted");
  EXPECT_TRUE(events_[0].agg_key.empty());
  EXPECT_EQ(events_[1].action, "logout");
  EXPECT_EQ(events_[1].data["result"], "closed");
  EXPECT_EQ(events_[1].data["duration_s"], 3600);
  EXPECT_TRUE(events_[1].agg_key.empty());
}

TEST_F(LoginTrackerTest, MessageRepeatedGivesNIdenticalEvents) {
  Tracker(kAuth);
  Line(
      "Mar  3 07:41:09 gw sshd[2211]: message repeated 4 times: [ Failed password for root from 192.0.2.7 port 1 "
      "ssh2]");
  ASSERT_EQ(events_.size(), 4u);
  for (const Event& e : events_) {
    EXPECT_EQ(e.agg_key, events_[0].agg_key);
    EXPECT_EQ(e.data, events_[0].data);
    EXPECT_EQ(e.data["message"], "Failed password for root from 192.0.2.7 port 1 ssh2");
  }
  // The same failure once more aggregates with them.
  Line("Mar  3 07:41:10 gw sshd[2211]: Failed password for root from 192.0.2.7 port 1 ssh2");
  ASSERT_EQ(events_.size(), 5u);
  EXPECT_EQ(events_[4].agg_key, events_[0].agg_key);
}

TEST_F(LoginTrackerTest, SysklogdLastMessageRepeatedRepeatsTheLineBefore) {
  Tracker(kAuth);
  Line("Mar  3 07:41:09 gw dropbear[7]: Bad password attempt for 'root' from 192.0.2.7:5543");
  Line("Mar  3 07:41:39 gw last message repeated 3 times");
  Line("Mar  3 07:42:09 gw last message repeated 2 times");
  ASSERT_EQ(events_.size(), 6u);
  for (const Event& e : events_) EXPECT_EQ(e.data, events_[0].data);
  // After a line that is no login there is nothing to repeat.
  Line("Mar  3 07:43:00 gw CRON[9]: (root) CMD (true)");
  Line("Mar  3 07:43:30 gw last message repeated 4 times");
  EXPECT_EQ(events_.size(), 6u);
}

TEST_F(LoginTrackerTest, RepeatsOverTheLimitAreCountedAsDropped) {
  TrackerOptions o;
  o.max_repeat = 10;
  Tracker(kAuth, o);
  Line("Mar  3 07:41:09 gw sshd[1]: message repeated 25 times: [ Failed password for root from 192.0.2.7 port 1 ssh2]");
  EXPECT_EQ(events_.size(), 10u);
  EXPECT_EQ(stats_.dropped("repeat_limit"), 15u);
}

TEST_F(LoginTrackerTest, CountsWhatItCannotUse) {
  Tracker(kAuth | LoginOriginBit(LoginOrigin::kSyslog));
  Line("Mar  3 07:41:09 gw sshd[1]: A brand new kind of message");
  Line("Mar  3 07:41:09 gw CRON[2]: pam_unix(cron:session): session opened for user root");
  Line("Mar  3 07:41:09 gw sshd[1]: Server listening on :: port 22.");
  tracker_->Handle(Input(LoginOrigin::kSyslog, "no frame"), kNow);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(stats_.count("lines_read"), 4u);
  EXPECT_EQ(stats_.count("lines_not_understood"), 1u);
  EXPECT_EQ(stats_.count("lines_other_programs"), 1u);
  EXPECT_EQ(stats_.count("syslog_frames_malformed"), 1u);
}

TEST_F(LoginTrackerTest, SyslogAndJournalInputsFeedTheSameParsers) {
  Tracker(LoginOriginBit(LoginOrigin::kSyslog) | LoginOriginBit(LoginOrigin::kJournal));
  tracker_->Handle(Input(LoginOrigin::kSyslog,
                         "<38>Jul  4 12:00:01 dropbear[77]: Bad password attempt for 'root' from 192.0.2.1:4000"),
                   kNow);
  LoginInput j =
      Input(LoginOrigin::kJournal, "Accepted publickey for ops from 192.0.2.2 port 22 ssh2: ED25519 SHA256:x");
  j.identifier = "sshd-session";
  j.pid = 99;
  j.ts_ms = kNow - 500;
  tracker_->Handle(j, kNow);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].data["service"], "dropbear");
  EXPECT_EQ(events_[0].data["source"], "syslog");
  EXPECT_EQ(events_[0].data["pid"], 77);
  EXPECT_EQ(events_[1].data["service"], "sshd");
  EXPECT_EQ(events_[1].data["source"], "journal");
  EXPECT_EQ(events_[1].data["pid"], 99);
  EXPECT_EQ(events_[1].ts_ms, kNow - 500) << "journal entries keep their own time";
}

TEST_F(LoginTrackerTest, WithAnAuthLogSessionFilesMakeNoEvents) {
  Tracker(kAuth | kWtmp | kBtmp | kUtmp);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtUserProcess, 50, "pts/1", "ops", "192.0.2.8", 1000)), kNow);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtDeadProcess, 50, "pts/1", "", "", 2000)), kNow);
  tracker_->Handle(Input(LoginOrigin::kBtmp, Record(kUtLoginProcess, 51, "ssh:notty", "root", "192.0.2.7", 1000)),
                   kNow);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(stats_.count("left_to_auth_log"), 3u);
  EXPECT_EQ(stats_.count("records_read"), 3u);
}

TEST_F(LoginTrackerTest, WithoutAnAuthLogWtmpAndBtmpReport) {
  Tracker(kWtmp | kBtmp | kUtmp);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtUserProcess, 50, "pts/1", "ops", "192.0.2.8", 1'700'000'000)),
                   kNow);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtDeadProcess, 50, "pts/1", "", "", 1'700'000'090)), kNow);
  tracker_->Handle(
      Input(LoginOrigin::kBtmp, Record(kUtLoginProcess, 51, "ssh:notty", "root", "192.0.2.7", 1'700'000'100)), kNow);
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].action, "success");
  EXPECT_EQ(events_[0].data["user"], "ops");
  EXPECT_EQ(events_[0].data["tty"], "pts/1");
  EXPECT_EQ(events_[0].data["source_ip"], "192.0.2.8");
  EXPECT_EQ(events_[0].data["source"], "wtmp");
  EXPECT_EQ(events_[0].data["pid"], 50);
  EXPECT_EQ(events_[0].ts_ms, 1'700'000'000'000);
  EXPECT_FALSE(events_[0].data.contains("service"));
  EXPECT_EQ(events_[1].action, "logout");
  EXPECT_EQ(events_[1].data["user"], "ops") << "the user of the session on pts/1";
  EXPECT_EQ(events_[1].data["source_ip"], "192.0.2.8");
  EXPECT_EQ(events_[1].data["duration_s"], 90);
  EXPECT_EQ(events_[2].action, "failure");
  EXPECT_EQ(events_[2].data["user"], "root");
  EXPECT_EQ(events_[2].data["service"], "sshd");
  EXPECT_EQ(events_[2].data["source"], "btmp");
  EXPECT_EQ(events_[2].data["result"], "failed");
}

TEST_F(LoginTrackerTest, LogoutsOfUnknownSessionsAndOtherRecordsAreIgnored) {
  Tracker(kWtmp);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtDeadProcess, 7, "tty1", "", "", 5)), kNow);  // a getty
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtBootTime, 0, "~", "reboot", "6.1.0", 5)), kNow);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtLoginProcess, 8, "tty1", "LOGIN", "", 5)), kNow);
  EXPECT_TRUE(events_.empty());
  // A logout record that still names its user is reported.
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtDeadProcess, 9, "pts/9", "zed", "", 5)), kNow);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data["user"], "zed");
}

TEST_F(LoginTrackerTest, MalformedRecordsAreCounted) {
  Tracker(kWtmp | kBtmp);
  tracker_->Handle(Input(LoginOrigin::kWtmp, std::string(kUtmpRecordSize, '\xff')), kNow);
  tracker_->Handle(Input(LoginOrigin::kBtmp, std::string(100, '\0')), kNow);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtUserProcess, 1, "pts/1", "", "", 5)), kNow);  // no user
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(stats_.count("records_malformed"), 3u);
}

TEST_F(LoginTrackerTest, UtmpChangesReportWhenNothingElseDoes) {
  Tracker(kUtmp);
  const std::string boot = Record(kUtBootTime, 0, "~", "reboot", "", 5);
  const std::string alice = Record(kUtUserProcess, 40, "pts/0", "alice", "192.0.2.40", 1'700'000'000);
  LoginInput initial = Input(LoginOrigin::kUtmp, boot + alice);
  initial.initial = true;
  tracker_->Handle(initial, kNow);
  EXPECT_TRUE(events_.empty()) << "the content at start is not news";
  // bob logs in on a new slot.
  const std::string bob = Record(kUtUserProcess, 41, "pts/1", "bob", "", 1'700'000'100);
  tracker_->Handle(Input(LoginOrigin::kUtmp, boot + alice + bob), kNow);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].action, "success");
  EXPECT_EQ(events_[0].data["user"], "bob");
  EXPECT_EQ(events_[0].data["source"], "utmp");
  // alice's session ends: her slot becomes DEAD_PROCESS without a user.
  const std::string alice_gone = Record(kUtDeadProcess, 40, "pts/0", "", "", 1'700'000'200);
  tracker_->Handle(Input(LoginOrigin::kUtmp, boot + alice_gone + bob), kNow);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].action, "logout");
  EXPECT_EQ(events_[1].data["user"], "alice");
  EXPECT_EQ(events_[1].data["tty"], "pts/0");
  EXPECT_EQ(events_[1].data["source_ip"], "192.0.2.40");
  EXPECT_EQ(events_[1].data["duration_s"], 200);
  EXPECT_EQ(events_[1].ts_ms, 1'700'000'200'000);
  // The same content again, and a slot whose time alone changed, are not news.
  tracker_->Handle(Input(LoginOrigin::kUtmp, boot + alice_gone + bob), kNow);
  const std::string bob_later = Record(kUtUserProcess, 41, "pts/1", "bob", "", 1'700'000'300);
  tracker_->Handle(Input(LoginOrigin::kUtmp, boot + alice_gone + bob_later), kNow);
  EXPECT_EQ(events_.size(), 2u);
  // A truncated file drops bob's slot: his session is over.
  tracker_->Handle(Input(LoginOrigin::kUtmp, boot + alice_gone), kNow);
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[2].data["user"], "bob");
  EXPECT_EQ(events_[2].ts_ms, kNow);
}

TEST_F(LoginTrackerTest, UtmpOnlySeedsSessionsWhenWtmpIsRead) {
  Tracker(kUtmp | kWtmp);
  LoginInput initial =
      Input(LoginOrigin::kUtmp, Record(kUtUserProcess, 40, "pts/0", "alice", "192.0.2.40", 1'700'000'000));
  initial.initial = true;
  tracker_->Handle(initial, kNow);
  tracker_->Handle(Input(LoginOrigin::kUtmp, Record(kUtUserProcess, 41, "pts/1", "bob", "", 1'700'000'000)), kNow);
  EXPECT_TRUE(events_.empty()) << "wtmp reports sessions";
  // alice logged in before the agent started; her logout in wtmp still names her.
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtDeadProcess, 40, "pts/0", "", "", 1'700'000'060)), kNow);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data["user"], "alice");
  EXPECT_EQ(events_[0].data["source"], "wtmp");
  EXPECT_EQ(events_[0].data["duration_s"], 60);
}

TEST_F(LoginTrackerTest, AuthLogLogoutsFillTheirSessionFromTheLogin) {
  Tracker(kAuth);
  Line("Jan  1 00:00:00 h login[812]: LOGIN ON pts/4 BY carol FROM 192.0.2.44", kNow);
  Line("Jan  1 00:10:00 h login[812]: pam_unix(login:session): session closed for user carol", kNow + 600'000);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].action, "logout");
  EXPECT_EQ(events_[1].data["service"], "login");
  EXPECT_EQ(events_[1].data["tty"], "pts/4");
  EXPECT_EQ(events_[1].data["source_ip"], "192.0.2.44");
  EXPECT_EQ(events_[1].data["duration_s"], 600);
  // A logout whose start was not seen has no duration.
  Line("Jan  1 00:10:00 h su[999]: pam_unix(su:session): session closed for user root");
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_FALSE(events_[2].data.contains("duration_s"));
}

TEST_F(LoginTrackerTest, SessionTablesAreBounded) {
  TrackerOptions o;
  o.session_entries = 2;
  Tracker(kAuth, o);
  for (int i = 0; i < 3; ++i)
    Line("Jan  1 00:00:00 h sshd[1]: Accepted password for u from 192.0.2.1 port " + std::to_string(1000 + i) +
         " ssh2");
  EXPECT_EQ(stats_.count("session_table_evictions"), 1u);
  Line("Jan  1 00:00:00 h sshd[1]: Disconnected from user u 192.0.2.1 port 1000");
  ASSERT_EQ(events_.size(), 4u);
  EXPECT_FALSE(events_[3].data.contains("duration_s")) << "the oldest session was forgotten";
}

TEST_F(LoginTrackerTest, SudoAndSuFieldsAndCounts) {
  Tracker(kAuth);
  Line(
      "Jan  1 00:00:00 h sudo[5]:      eve : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
      "COMMAND=/bin/sh");
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].data["by_user"], "eve");
  EXPECT_EQ(events_[0].data["user"], "root");
  EXPECT_EQ(events_[0].data["command"], "/bin/sh");
  EXPECT_EQ(events_[0].data["service"], "sudo");
  Line(
      "Jan  1 00:00:00 h sudo[6]:      eve : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh");
  ASSERT_EQ(events_.size(), 4u);
  EXPECT_EQ(events_[3].data["result"], "denied");
}

// BusyBox telnetd writes a LOGIN_PROCESS record with the peer (address:port) and runs login
// without it; login's lines take the address from the record of their pid.
TEST_F(LoginTrackerTest, BusyBoxLoginLinesTakeThePeerFromTelnetdsUtmpRecordOfTheirPid) {
  for (uint32_t in_use : {kAuth | kUtmp, kAuth | kUtmp | kWtmp}) {
    events_.clear();
    Tracker(in_use);
    const std::string boot = Record(2, 0, "~", "reboot", "", 100);
    LoginInput initial = Input(LoginOrigin::kUtmp, boot);
    initial.initial = true;
    tracker_->Handle(initial, kNow);
    const std::string v4 = Record(kUtLoginProcess, 7710, "pts/0", "LOGIN", "203.0.113.9:52570", 200);
    const std::string v6 = Record(kUtLoginProcess, 7711, "pts/1", "LOGIN", "[::ffff:198.51.100.4]:40112", 201);
    tracker_->Handle(Input(LoginOrigin::kUtmp, boot + v4 + v6), kNow);
    Line("Dec  7 01:30:29 gw login[7710]: invalid password for 'root' on 'pts/0'");
    Line("Dec  7 01:30:30 gw login[7711]: invalid password for 'admin' on 'pts/1'");
    Line("Dec  7 01:30:31 gw login[7712]: invalid password for 'root' on 'pts/2'");  // no record
    ASSERT_EQ(events_.size(), 3u) << "one failure per line";
    EXPECT_EQ(events_[0].data.value("source_ip", ""), "203.0.113.9");
    EXPECT_EQ(events_[0].data.value("source_port", 0), 52570);
    EXPECT_EQ(events_[1].data.value("source_ip", ""), "198.51.100.4");
    EXPECT_EQ(events_[1].data.value("source_port", 0), 40112);
    EXPECT_EQ(events_[1].data.value("tty", ""), "pts/1");
    EXPECT_FALSE(events_[2].data.contains("source_ip")) << events_[2].data.dump();
  }
}

TEST_F(LoginTrackerTest, TelnetdsWtmpRecordNamesThePeerToo) {
  Tracker(kAuth | kWtmp);
  tracker_->Handle(Input(LoginOrigin::kWtmp, Record(kUtLoginProcess, 900, "pts/3", "LOGIN", "192.0.2.44:2323", 5)),
                   kNow);
  EXPECT_TRUE(events_.empty()) << "LOGIN_PROCESS is no login";
  Line("Dec  7 01:30:29 gw login[900]: invalid password for 'root' on 'pts/3'");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data.value("source_ip", ""), "192.0.2.44");
  // Another program's line with the same pid takes nothing.
  events_.clear();
  Line("Dec  7 01:30:29 gw sshd[900]: Failed password for root from 192.0.2.50 port 1 ssh2");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].data.value("source_ip", ""), "192.0.2.50");
}

}  // namespace
}  // namespace vigil::login
