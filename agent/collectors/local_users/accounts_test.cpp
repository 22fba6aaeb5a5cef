#include "agent/collectors/local_users/accounts.h"

#include <gtest/gtest.h>

namespace vigil::local_users {
namespace {

TEST(PasswdParser, ReadsEveryFieldItKeeps) {
  const auto p = ParsePasswdText(
      "root:x:0:0:root:/root:/bin/bash\n"
      "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
      "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n");
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_TRUE(p.errors.empty());
  const PasswdEntry& a = p.entries[2];
  EXPECT_EQ(a.name, "alice");
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.gid, 1000u);
  EXPECT_EQ(a.home, "/home/alice");
  EXPECT_EQ(a.shell, "/bin/bash");
  EXPECT_TRUE(a.in_shadow);
  EXPECT_EQ(a.password.state, PasswordState::kUnknown);
}

TEST(PasswdParser, ClassifiesPasswordsKeptInPasswdItself) {
  const auto p = ParsePasswdText(
      "nopw::1001:1001::/home/nopw:/bin/sh\n"
      "old:$1$salt$abcdefghijklmnopqrstuv:1002:1002::/:/bin/sh\n"
      "star:*:1003:1003::/:/bin/sh\n");
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_FALSE(p.entries[0].in_shadow);
  EXPECT_EQ(p.entries[0].password.state, PasswordState::kEmpty);
  EXPECT_EQ(p.entries[1].password.state, PasswordState::kSet);
  EXPECT_EQ(p.entries[2].password.state, PasswordState::kLocked);
}

TEST(PasswdParser, SkipsCommentsBlankLinesAndCarriageReturns) {
  const auto p = ParsePasswdText("# users\n\nroot:x:0:0:root:/root:/bin/bash\r\n\n");
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].shell, "/bin/bash");
  EXPECT_TRUE(p.errors.empty());
}

TEST(PasswdParser, NamesEachMalformedLineAndKeepsTheRest) {
  const auto p = ParsePasswdText(
      "root:x:0:0:root:/root:/bin/bash\n"       // 1 ok
      "short:x:5:5\n"                           // 2 too few fields
      ":x:6:6::/:/bin/sh\n"                     // 3 empty name
      "+nis::::::\n"                            // 4 NIS compat
      "baduid:x:12a:1::/:/bin/sh\n"             // 5 uid not a number
      "biguid:x:4294967295:1::/:/bin/sh\n"      // 6 (uid_t)-1
      "badgid:x:7:-1::/:/bin/sh\n"              // 7 gid negative
      "ctrl:x:8:8::/ho\x01me:/bin/sh\n"         // 8 control character
      "utf:x:9:9::/h\xc3(:/bin/sh\n"            // 9 invalid UTF-8
      "root:x:10:10::/:/bin/sh\n"               // 10 duplicate name
      "bob:x:1001:1001::/home/bob:/bin/sh\n");  // 11 ok
  ASSERT_EQ(p.entries.size(), 2u);
  EXPECT_EQ(p.entries[0].name, "root");
  EXPECT_EQ(p.entries[0].uid, 0u);  // the first root wins
  EXPECT_EQ(p.entries[1].name, "bob");
  ASSERT_EQ(p.errors.size(), 9u);
  std::vector<size_t> lines;
  for (const LineError& e : p.errors) {
    lines.push_back(e.line);
    EXPECT_FALSE(e.reason.empty()) << e.line;
  }
  EXPECT_EQ(lines, (std::vector<size_t>{2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_NE(p.errors[0].reason.find("at least 7"), std::string::npos) << p.errors[0].reason;
  EXPECT_NE(p.errors[3].reason.find("UID '12a'"), std::string::npos) << p.errors[3].reason;
  EXPECT_NE(p.errors[8].reason.find("line 1 wins"), std::string::npos) << p.errors[8].reason;
}

TEST(PasswdParser, AcceptsUtf8NamesAndEmptyShell) {
  const auto p = ParsePasswdText("j\xc3\xbcrgen:x:1000:1000::/home/j:\n");
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].shell, "");
  EXPECT_TRUE(IsLoginShell(p.entries[0].shell));
}

TEST(GroupParser, ReadsMembersAndDropsEmptyOnes) {
  const auto g = ParseGroupText(
      "root:x:0:\n"
      "sudo:x:27:alice,,bob\n"
      "short:x:5\n"
      "bad:x:x:\n");
  ASSERT_EQ(g.entries.size(), 2u);
  EXPECT_TRUE(g.entries[0].members.empty());
  EXPECT_EQ(g.entries[1].name, "sudo");
  EXPECT_EQ(g.entries[1].gid, 27u);
  EXPECT_EQ(g.entries[1].members, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(g.errors.size(), 2u);
  EXPECT_EQ(g.errors[0].line, 3u);
  EXPECT_EQ(g.errors[1].line, 4u);
}

TEST(ShadowParser, KeepsOnlyThePasswordStateNeverTheHash) {
  const auto s = ParseShadowText(
      "root:$y$j9T$abc$def:19000:0:99999:7:::\n"
      "daemon:*:19000:0:99999:7:::\n"
      "locked:!$6$salt$hash:19000::::::\n"
      "new:!:19000::::::\n"
      "nopw::19000::::::\n"
      "onlyname\n");
  ASSERT_EQ(s.entries.size(), 5u);
  EXPECT_EQ(s.entries[0].password.state, PasswordState::kSet);
  EXPECT_EQ(s.entries[1].password.state, PasswordState::kLocked);
  EXPECT_EQ(s.entries[2].password.state, PasswordState::kLocked);
  EXPECT_EQ(s.entries[3].password.state, PasswordState::kLocked);
  EXPECT_EQ(s.entries[4].password.state, PasswordState::kEmpty);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].line, 6u);
}

TEST(PasswordField, ClassifiesHashesAndTellsChangesApart) {
  EXPECT_EQ(ClassifyPasswordField("").state, PasswordState::kEmpty);
  EXPECT_EQ(ClassifyPasswordField("!").state, PasswordState::kLocked);
  EXPECT_EQ(ClassifyPasswordField("!!").state, PasswordState::kLocked);
  EXPECT_EQ(ClassifyPasswordField("*").state, PasswordState::kLocked);
  EXPECT_EQ(ClassifyPasswordField("x").state, PasswordState::kLocked);
  EXPECT_EQ(ClassifyPasswordField("abJnggxhB/yWI").state, PasswordState::kSet);  // DES
  EXPECT_EQ(ClassifyPasswordField("abJnggxhB/yW!").state, PasswordState::kLocked);
  EXPECT_EQ(ClassifyPasswordField("$6$salt$hash").state, PasswordState::kSet);
  EXPECT_EQ(ClassifyPasswordField("$6$a$b"), ClassifyPasswordField("$6$a$b"));
  EXPECT_NE(ClassifyPasswordField("$6$a$b"), ClassifyPasswordField("$6$a$c"));
}

TEST(LoginShell, RefusingShellsAreNotLoginCapable) {
  EXPECT_TRUE(IsLoginShell("/bin/bash"));
  EXPECT_TRUE(IsLoginShell("/usr/bin/python3"));
  EXPECT_TRUE(IsLoginShell(""));
  EXPECT_FALSE(IsLoginShell("/usr/sbin/nologin"));
  EXPECT_FALSE(IsLoginShell("/sbin/nologin"));
  EXPECT_FALSE(IsLoginShell("/bin/false"));
  EXPECT_FALSE(IsLoginShell("/bin/sync"));
  EXPECT_FALSE(IsLoginShell("nologin"));
}

TEST(MergeAccounts, TakesPasswordStatesFromShadowForXOnly) {
  const auto p = ParsePasswdText(
      "root:x:0:0:root:/root:/bin/bash\n"
      "toor:x:0:0::/root:/bin/sh\n"
      "ghost:x:1005:1005::/:/bin/sh\n"
      "inline::1006:1006::/:/bin/sh\n");
  const auto s = ParseShadowText("root:$6$a$b:1::::::\ntoor:::::::::\ninline:$6$x$y:1::::::\n");
  const auto g = ParseGroupText("root:x:0:\n");
  Accounts a = MergeAccounts(p.entries, g.entries, &s.entries);
  EXPECT_TRUE(a.shadow_read);
  ASSERT_EQ(a.users.size(), 4u);
  EXPECT_EQ(a.users["root"].password.state, PasswordState::kSet);
  EXPECT_FALSE(a.users["root"].uid0());
  EXPECT_EQ(a.users["toor"].password.state, PasswordState::kEmpty);
  EXPECT_TRUE(a.users["toor"].uid0());
  EXPECT_EQ(a.users["ghost"].password.state, PasswordState::kUnknown);  // no shadow entry
  EXPECT_EQ(a.users["inline"].password.state, PasswordState::kEmpty);   // passwd's own field wins
  ASSERT_EQ(a.groups.size(), 1u);

  Accounts no_shadow = MergeAccounts(p.entries, g.entries, nullptr);
  EXPECT_FALSE(no_shadow.shadow_read);
  EXPECT_EQ(no_shadow.users["root"].password.state, PasswordState::kUnknown);
  EXPECT_EQ(no_shadow.users["inline"].password.state, PasswordState::kEmpty);
}

}  // namespace
}  // namespace vigil::local_users
