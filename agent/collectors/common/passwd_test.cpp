#include "agent/collectors/common/passwd.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil::common {
namespace {

TEST(ParsePasswd, MapsUidsToNames) {
  PasswdTable t = ParsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "pi:x:1000:1000:,,,:/home/pi:/bin/bash");  // no final newline
  EXPECT_EQ(t.names.size(), 3u);
  EXPECT_EQ(t.names[0], "root");
  EXPECT_EQ(t.names[1], "daemon");
  EXPECT_EQ(t.names[1000], "pi");
  EXPECT_EQ(t.malformed_lines, 0u);
}

TEST(ParsePasswd, SkipsAndCountsMalformedLines) {
  PasswdTable t = ParsePasswd(
      "root:x:0:0:root:/root:/bin/sh\n"
      "\n"
      "# a comment\n"
      "nocolons\n"
      "short:x\n"
      ":x:5:5::/:/bin/sh\n"
      "baduid:x:12a:1::/:/bin/sh\n"
      "neg:x:-1:1::/:/bin/sh\n"
      "huge:x:99999999999:1::/:/bin/sh\n"
      "nouid:x::1::/:/bin/sh\n"
      "+nisuser::::::\n"
      "minimal:x:7\n"
      "dos:x:8:8::/:/bin/sh\r\n");
  EXPECT_EQ(t.names.size(), 3u);
  EXPECT_EQ(t.names[0], "root");
  EXPECT_EQ(t.names[7], "minimal");
  EXPECT_EQ(t.names[8], "dos");
  EXPECT_EQ(t.malformed_lines, 8u);
}

TEST(ParsePasswd, FirstLineWinsForADuplicateUid) {
  PasswdTable t = ParsePasswd("root:x:0:0::/:/bin/sh\ntoor:x:0:0::/:/bin/sh\n");
  EXPECT_EQ(t.names[0], "root");
}

TEST(UserNames, FallsBackToTheNumberForUnknownUids) {
  FakeEnv env;
  CollectorStats stats("process");
  env.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  UserNames users(env, stats);
  EXPECT_EQ(users.Name(0), "root");
  EXPECT_EQ(users.Name(4242), "4242");
}

TEST(UserNames, WorksWithoutAPasswdFile) {
  FakeEnv env;
  CollectorStats stats("process");
  UserNames users(env, stats);
  EXPECT_EQ(users.Name(0), "0");
}

TEST(UserNames, RereadsTheFileWhenItsMtimeChanges) {
  FakeEnv env;
  CollectorStats stats("process");
  FileInfo info;
  info.mtime_ns = 100;
  env.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n", info);
  UserNames users(env, stats, "/etc/passwd", 1000);
  EXPECT_EQ(users.Name(1001), "1001");
  EXPECT_EQ(stats.count("passwd_reloads"), 1u);

  info.mtime_ns = 200;
  info.inode = 0;
  env.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n", info);
  // Not looked at again before the recheck interval...
  EXPECT_EQ(users.Name(1001), "1001");
  // ...and re-read after it.
  env.manual_clock().Advance(1000);
  EXPECT_EQ(users.Name(1001), "alice");
  EXPECT_EQ(stats.count("passwd_reloads"), 2u);

  // Unchanged file: no re-read.
  env.manual_clock().Advance(5000);
  EXPECT_EQ(users.Name(0), "root");
  EXPECT_EQ(stats.count("passwd_reloads"), 2u);
}

TEST(UserNames, CountsMalformedLinesPerLoad) {
  FakeEnv env;
  CollectorStats stats("process");
  env.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nbroken\n");
  UserNames users(env, stats);
  EXPECT_EQ(users.Name(0), "root");
  EXPECT_EQ(stats.count("passwd_malformed_lines"), 1u);
}

}  // namespace
}  // namespace vigil::common
