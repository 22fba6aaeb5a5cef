// The Linux LoginSource on real files, inotify and a unix socket in a temporary directory.
// Needs no root.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/platform/linux/login_file_tail.h"
#include "agent/platform/login_source.h"

namespace vigil {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class LoginSourceLinuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-login-src-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    source_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  LoginSourceOptions Options() {
    LoginSourceOptions o;
    o.journal = JournalMode::kOff;
    o.stats = &stats_;
    return o;
  }

  void Open(const LoginSourceOptions& o) {
    auto s = OpenLoginSource(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    source_ = std::move(*s);
  }

  static void Append(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << text;
  }

  // Reads until `pred` holds over everything read so far (kept in got_), or 5 s pass.
  bool ReadUntil(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::vector<LoginInput> in;
      if (!source_->Read(100, &in).ok()) return false;
      for (auto& i : in) got_.push_back(std::move(i));
    }
    return true;
  }
  size_t CountData(const std::string& data) const {
    size_t n = 0;
    for (const auto& i : got_) n += i.data == data ? 1 : 0;
    return n;
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    for (const auto& i : got_)
      if (i.origin == LoginOrigin::kAuthLog) out.push_back(i.data);
    return out;
  }

  std::string dir_;
  CollectorStats stats_{"login"};
  std::unique_ptr<LoginSource> source_;
  std::vector<LoginInput> got_;
};

TEST_F(LoginSourceLinuxTest, StartsAtTheEndOfAnExistingLog) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "history line 1\nhistory line 2\n");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  EXPECT_EQ(source_->InUse(), LoginOriginBit(LoginOrigin::kAuthLog));
  Append(log, "new line\r\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("new line") == 1; }));
  EXPECT_EQ(Lines(), std::vector<std::string>{"new line"});
}

TEST_F(LoginSourceLinuxTest, HoldsALineUntilItsEnd) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  Append(log, "first half, ");
  Append(log, "second half\nnext");
  ASSERT_TRUE(ReadUntil([&] { return CountData("first half, second half") == 1; }));
  Append(log, " line\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("next line") == 1; }));
  EXPECT_EQ(Lines(), (std::vector<std::string>{"first half, second half", "next line"}));
}

TEST_F(LoginSourceLinuxTest, CutsLongLinesAndCountsThem) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  o.max_line_bytes = 100;
  Open(o);
  Append(log, std::string(250, 'x') + "\nshort\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("short") == 1; }));
  EXPECT_EQ(Lines(), (std::vector<std::string>{std::string(100, 'x'), "short"}));
  EXPECT_EQ(stats_.count("lines_truncated"), 1u);
}

TEST_F(LoginSourceLinuxTest, FollowsRenameRotationReadingEveryLineOnce) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "before start\n");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  Append(log, "a1\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("a1") == 1; }));
  // logrotate: rename, the writer goes on in the old file a moment, a new file appears.
  fs::rename(log, log + ".1");
  Append(log + ".1", "a2\n");
  Append(log, "b1\n");
  Append(log + ".1", "a3\n");
  Append(log, "b2\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("a3") == 1 && CountData("b2") == 1; }));
  EXPECT_EQ(stats_.count("log_rotations"), 1u);
  for (const char* line : {"a1", "a2", "a3", "b1", "b2"}) EXPECT_EQ(CountData(line), 1u) << line;
  EXPECT_EQ(CountData("before start"), 0u);
  // The old file's lines written before the new file was seen come first.
  const auto lines = Lines();
  const auto pos = [&](const std::string& s) { return std::find(lines.begin(), lines.end(), s) - lines.begin(); };
  EXPECT_LT(pos("a2"), pos("b1"));
  EXPECT_LT(pos("b1"), pos("b2"));
}

TEST_F(LoginSourceLinuxTest, FollowsRemoveAndRecreate) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  fs::remove(log);
  Append(log, "fresh\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("fresh") == 1; }));
}

TEST_F(LoginSourceLinuxTest, RereadsATruncatedFileFromItsStart) {
  const std::string log = dir_ + "/auth.log";
  Append(log, "");
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  Append(log, "one long enough line\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("one long enough line") == 1; }));
  fs::resize_file(log, 0);  // copytruncate
  Append(log, "two\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("two") == 1; }));
  EXPECT_EQ(stats_.count("log_truncations"), 1u);
  EXPECT_EQ(CountData("one long enough line"), 1u);
}

TEST_F(LoginSourceLinuxTest, AFileThatAppearsLaterIsReadFromItsStart) {
  const std::string log = dir_ + "/auth.log";
  LoginSourceOptions o = Options();
  o.auth_log = log;
  Open(o);
  EXPECT_EQ(source_->InUse(), 0u);
  Append(log, "early\nlate\n");
  ASSERT_TRUE(ReadUntil([&] { return CountData("late") == 1; }));
  EXPECT_EQ(Lines(), (std::vector<std::string>{"early", "late"}));
  EXPECT_EQ(source_->InUse(), LoginOriginBit(LoginOrigin::kAuthLog));
}

TEST_F(LoginSourceLinuxTest, NothingToReadOrWatchIsUnavailable) {
  LoginSourceOptions o = Options();
  o.auth_log = dir_ + "/no/such/dir/auth.log";
  auto s = OpenLoginSource(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnavailable);
}

std::string Record(int16_t type, const std::string& user) {
  std::string b(384, '\0');
  std::memcpy(b.data(), &type, 2);
  std::memcpy(b.data() + 44, user.data(), user.size());
  return b;
}

TEST_F(LoginSourceLinuxTest, DeliversWholeRecordsOfWtmp) {
  const std::string wtmp = dir_ + "/wtmp";
  // Two old records and half of a third: reading starts after the last whole one.
  Append(wtmp, Record(7, "old1") + Record(7, "old2") + Record(7, "torn").substr(0, 100));
  LoginSourceOptions o = Options();
  o.wtmp = wtmp;
  Open(o);
  EXPECT_EQ(source_->InUse(), LoginOriginBit(LoginOrigin::kWtmp));
  // glibc's updwtmp cuts a torn record off before it appends.
  fs::resize_file(wtmp, 2 * 384);
  const std::string rec = Record(7, "new");
  Append(wtmp, rec.substr(0, 200));  // and a record written in two parts waits for its end
  ASSERT_TRUE(ReadUntil([&] { return true; }));
  Append(wtmp, rec.substr(200));
  ASSERT_TRUE(ReadUntil([&] { return !got_.empty(); }));
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].origin, LoginOrigin::kWtmp);
  EXPECT_EQ(got_[0].data, rec);
}

TEST_F(LoginSourceLinuxTest, DeliversUtmpWholeAtStartAndOnChange) {
  const std::string utmp = dir_ + "/utmp";
  Append(utmp, Record(7, "alice"));
  LoginSourceOptions o = Options();
  o.utmp = utmp;
  Open(o);
  ASSERT_TRUE(ReadUntil([&] { return !got_.empty(); }));
  EXPECT_TRUE(got_[0].initial);
  EXPECT_EQ(got_[0].data, Record(7, "alice"));
  {
    std::fstream f(utmp, std::ios::in | std::ios::out | std::ios::binary);
    const std::string dead = Record(8, "");
    f.write(dead.data(), static_cast<std::streamsize>(dead.size()));  // rewritten in place
  }
  ASSERT_TRUE(ReadUntil([&] { return got_.size() >= 2; }));
  EXPECT_FALSE(got_[1].initial);
  EXPECT_EQ(got_[1].data, Record(8, ""));
}

int SendDatagram(const std::string& path, const std::string& data) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const ssize_t n = sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
  return static_cast<int>(n);
}

TEST_F(LoginSourceLinuxTest, ReceivesSyslogDatagramsAndRemovesItsSocket) {
  const std::string sock = dir_ + "/log.sock";
  LoginSourceOptions o = Options();
  o.syslog_socket = sock;
  Open(o);
  EXPECT_EQ(source_->InUse(), LoginOriginBit(LoginOrigin::kSyslog));
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  const std::string frame = "<38>Jul  4 12:00:01 sshd[77]: Invalid user x from 192.0.2.1 port 3";
  ASSERT_EQ(SendDatagram(sock, frame), static_cast<int>(frame.size()));
  ASSERT_TRUE(ReadUntil([&] { return CountData(frame) == 1; }));
  EXPECT_EQ(got_[0].origin, LoginOrigin::kSyslog);
  source_.reset();
  EXPECT_NE(stat(sock.c_str(), &st), 0) << "the socket file is removed";
}

TEST_F(LoginSourceLinuxTest, ReplacesAStaleSocketButLeavesALiveOneAlone) {
  const std::string sock = dir_ + "/log.sock";
  {
    LoginSourceOptions o = Options();
    o.syslog_socket = sock;
    Open(o);
    // A second source on the same path: the first one is listening.
    auto second = OpenLoginSource(o);
    EXPECT_FALSE(second.ok()) << "nothing else to read, so the second source has no input";
    source_.reset();
  }
  // A stale socket file (its owner is gone).
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, sock.data(), sock.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);
  LoginSourceOptions o = Options();
  o.syslog_socket = sock;
  Open(o);
  EXPECT_EQ(source_->InUse(), LoginOriginBit(LoginOrigin::kSyslog));
  ASSERT_GT(SendDatagram(sock, "<13>su: + pts/1 a:b"), 0);
  ASSERT_TRUE(ReadUntil([&] { return CountData("<13>su: + pts/1 a:b") == 1; }));
}

TEST_F(LoginSourceLinuxTest, InterruptWakesABlockedRead) {
  LoginSourceOptions o = Options();
  o.syslog_socket = dir_ + "/log.sock";
  Open(o);
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    source_->Interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  std::vector<LoginInput> in;
  EXPECT_TRUE(source_->Read(10'000, &in).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  t.join();
  // And every later Read returns at once.
  const auto again = std::chrono::steady_clock::now();
  EXPECT_TRUE(source_->Read(10'000, &in).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - again, 1s);
}

TEST_F(LoginSourceLinuxTest, JournalFromAMissingDirectoryIsNotInUse) {
  LoginSourceOptions o = Options();
  o.journal = JournalMode::kOn;
  o.journal_directory = dir_ + "/no-journal-here";
  o.syslog_socket = dir_ + "/log.sock";
  Open(o);
  EXPECT_EQ(source_->InUse() & LoginOriginBit(LoginOrigin::kJournal), 0u);
}

}  // namespace
}  // namespace vigil
