#include "agent/collectors/local_users/account_events.h"

#include <gtest/gtest.h>

namespace vigil::local_users {
namespace {

Accounts Make(std::string_view passwd, std::string_view group, std::string_view shadow) {
  const auto p = ParsePasswdText(passwd);
  const auto g = ParseGroupText(group);
  const auto s = ParseShadowText(shadow);
  return MergeAccounts(p.entries, g.entries, &s.entries);
}

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000::/home/alice:/bin/bash\n";
constexpr std::string_view kGroup = "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\n";
constexpr std::string_view kShadow = "root:$6$a$b:1::::::\ndaemon:*:1::::::\nalice:$6$c$d:1::::::\n";

std::vector<std::string> Actions(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.action);
  return out;
}

TEST(UserJson, CarriesFlagsAndOmitsUnknownPasswordState) {
  UserAccount u{"toor", 0, 0, "/root", "/bin/sh", ClassifyPasswordField("")};
  EXPECT_EQ(UserJson(u), (Json{{"user", "toor"},
                               {"uid", 0},
                               {"gid", 0},
                               {"home", "/root"},
                               {"shell", "/bin/sh"},
                               {"login_shell", true},
                               {"uid0", true},
                               {"empty_password", true},
                               {"password_locked", false}}));
  u.password = PasswordInfo{};
  const Json j = UserJson(u);
  EXPECT_FALSE(j.contains("empty_password"));
  EXPECT_FALSE(j.contains("password_locked"));
}

TEST(SnapshotData, ListsEveryoneAndNamesTheFlaggedAccounts) {
  Accounts a = Make(std::string(kPasswd) + "toor:x:0:0::/root:/bin/sh\nnopw:x:1001:1001::/:/bin/sh\n", kGroup,
                    std::string(kShadow) + "toor:$6$e$f:1::::::\nnopw::1::::::\n");
  const Json d = SnapshotData(a, 2);
  EXPECT_EQ(d["user_count"], 5);
  EXPECT_EQ(d["group_count"], 3);
  ASSERT_EQ(d["users"].size(), 5u);
  EXPECT_EQ(d["users"][0]["user"], "alice");  // sorted by name
  EXPECT_EQ(d["uid0_users"], (Json{"toor"}));
  EXPECT_EQ(d["empty_password_users"], (Json{"nopw"}));
  EXPECT_EQ(d["shadow_read"], true);
  EXPECT_EQ(d["malformed_lines"], 2);
  EXPECT_FALSE(d.contains("users_omitted"));
  EXPECT_EQ(d["groups"][1], (Json{{"group", "root"}, {"gid", 0}, {"members", Json::array()}}));
}

TEST(SnapshotData, BoundsItsListsAndCountsTheRest) {
  Accounts a = Make(kPasswd, kGroup, kShadow);
  const Json d = SnapshotData(a, 0, 2);
  EXPECT_EQ(d["users"].size(), 2u);
  EXPECT_EQ(d["users_omitted"], 1);
  EXPECT_EQ(d["groups"].size(), 2u);
  EXPECT_EQ(d["groups_omitted"], 1);
  EXPECT_EQ(d["user_count"], 3);
  EXPECT_FALSE(d.contains("malformed_lines"));
}

TEST(DiffAccounts, NothingChangedNothingReported) {
  EXPECT_TRUE(DiffAccounts(Make(kPasswd, kGroup, kShadow), Make(kPasswd, kGroup, kShadow)).empty());
}

TEST(DiffAccounts, ReportsAddedAndRemovedUsersAndGroups) {
  Accounts before = Make(kPasswd, kGroup, kShadow);
  Accounts after = Make(
      "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
      "toor:x:0:0::/root:/bin/sh\n",
      "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\ntoor:x:0:\n", std::string(kShadow) + "toor:::::::::\n");
  const std::vector<Event> events = DiffAccounts(before, after);
  ASSERT_EQ(Actions(events), (std::vector<std::string>{"user_removed", "user_added", "group_added"}));
  EXPECT_EQ(events[0].type, "local_users");
  EXPECT_EQ(events[0].data["user"], "daemon");
  EXPECT_EQ(events[0].data["login_shell"], false);
  EXPECT_EQ(events[1].data["user"], "toor");
  EXPECT_EQ(events[1].data["uid0"], true);
  EXPECT_EQ(events[1].data["empty_password"], true);
  EXPECT_EQ(events[2].data, (Json{{"group", "toor"}, {"gid", 0}, {"members", Json::array()}}));
  EXPECT_TRUE(events[0].agg_key.empty());
}

TEST(DiffAccounts, ReportsWhatChangedInAUserWithThePreviousValues) {
  Accounts before = Make(kPasswd, kGroup, kShadow);
  Accounts after = Make(
      "root:x:0:0:root:/root:/bin/bash\n"
      "daemon:x:1:1:daemon:/usr/sbin:/bin/sh\n"
      "alice:x:0:1000::/home/a:/bin/bash\n",
      kGroup, "root:$6$a$NEW:2::::::\ndaemon:*:1::::::\nalice:$6$c$d:1::::::\n");
  const std::vector<Event> events = DiffAccounts(before, after);
  ASSERT_EQ(Actions(events), (std::vector<std::string>{"user_changed", "user_changed", "user_changed"}));
  // Sorted by name: alice, daemon, root.
  EXPECT_EQ(events[0].data["changed"], (Json{"uid", "home"}));
  EXPECT_EQ(events[0].data["previous"], (Json{{"uid", 1000}, {"home", "/home/alice"}}));
  EXPECT_EQ(events[0].data["uid0"], true);
  EXPECT_EQ(events[1].data["changed"], (Json{"shell"}));
  EXPECT_EQ(events[1].data["previous"], (Json{{"shell", "/usr/sbin/nologin"}, {"login_shell", false}}));
  EXPECT_EQ(events[1].data["login_shell"], true);
  EXPECT_EQ(events[2].data["changed"], (Json{"password"}));
  EXPECT_EQ(events[2].data["previous"], (Json{{"empty_password", false}, {"password_locked", false}}));
  const std::string dumped = events[2].data.dump();
  EXPECT_EQ(dumped.find("$6$"), std::string::npos) << dumped;
}

TEST(DiffAccounts, PasswordEmptiedOrLockedIsAChange) {
  Accounts before = Make(kPasswd, kGroup, kShadow);
  Accounts emptied = Make(kPasswd, kGroup, "root:$6$a$b:1::::::\ndaemon:*:1::::::\nalice::1::::::\n");
  std::vector<Event> events = DiffAccounts(before, emptied);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["user"], "alice");
  EXPECT_EQ(events[0].data["empty_password"], true);
  Accounts locked = Make(kPasswd, kGroup, "root:$6$a$b:1::::::\ndaemon:*:1::::::\nalice:!$6$c$d:1::::::\n");
  events = DiffAccounts(before, locked);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["password_locked"], true);
}

TEST(DiffAccounts, ShadowBecomingUnreadableIsNotAPasswordChange) {
  Accounts before = Make(kPasswd, kGroup, kShadow);
  const auto p = ParsePasswdText(kPasswd);
  const auto g = ParseGroupText(kGroup);
  Accounts after = MergeAccounts(p.entries, g.entries, nullptr);
  EXPECT_TRUE(DiffAccounts(before, after).empty());
  EXPECT_TRUE(DiffAccounts(after, before).empty());
}

TEST(DiffAccounts, AShadowEntryAppearingOrGoingIsAPasswordChange) {
  Accounts before = Make(kPasswd, kGroup, "root:$6$a$b:1::::::\ndaemon:*:1::::::\n");  // alice has none
  Accounts after = Make(kPasswd, kGroup, kShadow);
  std::vector<Event> events = DiffAccounts(before, after);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data["user"], "alice");
  EXPECT_EQ(events[0].data["changed"], (Json{"password"}));
  EXPECT_EQ(events[0].data["previous"], Json::object());
  events = DiffAccounts(after, before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].data.contains("empty_password"));
  EXPECT_EQ(events[0].data["previous"]["password_locked"], false);
}

TEST(DiffAccounts, ReportsGroupMembersAddedAndRemoved) {
  Accounts before = Make(kPasswd, "root:x:0:\nsudo:x:27:alice,bob\nalice:x:1000:\n", kShadow);
  Accounts after = Make(kPasswd, "root:x:0:\nsudo:x:27:bob,daemon\nalice:x:1001:\n", kShadow);
  const std::vector<Event> events = DiffAccounts(before, after);
  ASSERT_EQ(Actions(events), (std::vector<std::string>{"group_changed", "group_changed"}));
  EXPECT_EQ(events[0].data["group"], "alice");
  EXPECT_EQ(events[0].data["changed"], (Json{"gid"}));
  EXPECT_EQ(events[0].data["previous"], (Json{{"gid", 1000}}));
  EXPECT_EQ(events[1].data["group"], "sudo");
  EXPECT_EQ(events[1].data["changed"], (Json{"members"}));
  EXPECT_EQ(events[1].data["members"], (Json{"bob", "daemon"}));
  EXPECT_EQ(events[1].data["members_added"], (Json{"daemon"}));
  EXPECT_EQ(events[1].data["members_removed"], (Json{"alice"}));
}

TEST(DiffAccounts, MemberOrderAloneIsNoChange) {
  Accounts before = Make(kPasswd, "sudo:x:27:alice,bob\n", kShadow);
  Accounts after = Make(kPasswd, "sudo:x:27:bob,alice\n", kShadow);
  EXPECT_TRUE(DiffAccounts(before, after).empty());
}

}  // namespace
}  // namespace vigil::local_users
