#include "agent/collectors/local_users/accounts_tracker.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil::local_users {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "alice:x:1000:1000::/home/alice:/bin/bash\n";
constexpr char kGroup[] = "root:x:0:\nalice:x:1000:\n";
constexpr char kShadow[] = "root:$6$a$b:1::::::\nalice:!:1::::::\n";

class AccountsTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.SetFile("/etc/passwd", kPasswd);
    env_.SetFile("/etc/group", kGroup);
    env_.SetFile("/etc/shadow", kShadow);
  }

  FakeEnv env_;
  CollectorStats stats_{"local_users"};
  AccountsTracker tracker_{env_, stats_, AccountPaths{}};
};

TEST_F(AccountsTrackerTest, LoadsTheThreeFilesIntoASnapshot) {
  ASSERT_TRUE(tracker_.Load().ok());
  const Event snap = tracker_.Snapshot();
  EXPECT_EQ(snap.type, "local_users");
  EXPECT_EQ(snap.action, "snapshot");
  EXPECT_EQ(snap.data["user_count"], 2);
  EXPECT_EQ(snap.data["group_count"], 2);
  EXPECT_EQ(snap.data["shadow_read"], true);
  EXPECT_EQ(snap.data["users"][0]["password_locked"], true);  // alice
  EXPECT_EQ(stats_.count("reloads"), 1u);
}

TEST_F(AccountsTrackerTest, LoadFailsWithoutPasswd) {
  env_.RemovePath("/etc/passwd");
  Status st = tracker_.Load();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("/etc/passwd"), std::string::npos) << st.ToString();
}

TEST_F(AccountsTrackerTest, UnreadableShadowLeavesPasswordStatesUnknown) {
  env_.DenyPrefix("/etc/shadow");
  ASSERT_TRUE(tracker_.Load().ok());
  const Event snap = tracker_.Snapshot();
  EXPECT_EQ(snap.data["shadow_read"], false);
  EXPECT_FALSE(snap.data["users"][0].contains("empty_password"));
  EXPECT_TRUE(tracker_.Reload().empty());
}

TEST_F(AccountsTrackerTest, MissingGroupFileReadsAsNoGroups) {
  env_.RemovePath("/etc/group");
  ASSERT_TRUE(tracker_.Load().ok());
  EXPECT_TRUE(tracker_.accounts().groups.empty());
  env_.SetFile("/etc/group", kGroup);  // appears later: its groups are added
  const std::vector<Event> events = tracker_.Reload();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "group_added");
}

TEST_F(AccountsTrackerTest, ReloadReportsChangesOnce) {
  ASSERT_TRUE(tracker_.Load().ok());
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "mallory:x:0:0::/root:/bin/sh\n");
  env_.SetFile("/etc/shadow", std::string(kShadow) + "mallory::1::::::\n");
  std::vector<Event> events = tracker_.Reload();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "user_added");
  EXPECT_EQ(events[0].data["uid0"], true);
  EXPECT_EQ(events[0].data["empty_password"], true);
  EXPECT_TRUE(tracker_.Reload().empty());
  EXPECT_EQ(stats_.count("reloads"), 3u);
}

TEST_F(AccountsTrackerTest, AFileThatVanishesKeepsTheLastGoodView) {
  ASSERT_TRUE(tracker_.Load().ok());
  env_.RemovePath("/etc/passwd");
  EXPECT_TRUE(tracker_.Reload().empty());
  env_.RemovePath("/etc/shadow");
  env_.SetFile("/etc/passwd", kPasswd);
  EXPECT_TRUE(tracker_.Reload().empty());  // shadow was read before: its absence is an error
  EXPECT_EQ(stats_.count("read_errors"), 2u);
  EXPECT_EQ(tracker_.accounts().users.size(), 2u);
  EXPECT_TRUE(tracker_.accounts().shadow_read);
  env_.SetFile("/etc/shadow", kShadow);
  EXPECT_TRUE(tracker_.Reload().empty());
}

TEST_F(AccountsTrackerTest, AnOversizedFileIsAReadErrorNotATruncatedList) {
  ASSERT_TRUE(tracker_.Load().ok());
  std::string huge(kPasswd);
  while (huge.size() <= kMaxFileBytes) huge += "# padding padding padding padding padding padding padding\n";
  env_.SetFile("/etc/passwd", huge);
  EXPECT_TRUE(tracker_.Reload().empty());
  EXPECT_EQ(stats_.count("read_errors"), 1u);
}

TEST_F(AccountsTrackerTest, CountsMalformedLinesPerLoadAndShowsThemInTheSnapshot) {
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "broken\n");
  env_.SetFile("/etc/group", std::string(kGroup) + "x:y:z:\n");
  ASSERT_TRUE(tracker_.Load().ok());
  EXPECT_EQ(stats_.count("malformed_lines"), 2u);
  EXPECT_EQ(tracker_.Snapshot().data["malformed_lines"], 2);
  EXPECT_EQ(tracker_.accounts().users.size(), 2u);
  tracker_.Reload();
  EXPECT_EQ(stats_.count("malformed_lines"), 4u);
}

TEST_F(AccountsTrackerTest, TryReloadWaitsForTheShadowEntryOfANewUser) {
  ASSERT_TRUE(tracker_.Load().ok());
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  EXPECT_FALSE(tracker_.TryReload().has_value());  // passwd written, shadow not yet
  EXPECT_EQ(stats_.count("incomplete_reads"), 1u);
  EXPECT_EQ(tracker_.accounts().users.size(), 2u);  // nothing committed
  env_.SetFile("/etc/shadow", std::string(kShadow) + "eve:!:1::::::\n");
  std::optional<std::vector<Event>> events = tracker_.TryReload();
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].action, "user_added");
  EXPECT_EQ((*events)[0].data["password_locked"], true);
}

TEST_F(AccountsTrackerTest, ReloadTakesAHalfWrittenViewAsItIs) {
  ASSERT_TRUE(tracker_.Load().ok());
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "eve:x:1001:1001::/home/eve:/bin/sh\n");
  const std::vector<Event> events = tracker_.Reload();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].data.contains("password_locked"));
  // Its shadow entry arriving later is a change of its password state.
  env_.SetFile("/etc/shadow", std::string(kShadow) + "eve:!:1::::::\n");
  std::optional<std::vector<Event>> later = tracker_.TryReload();
  ASSERT_TRUE(later.has_value());
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ((*later)[0].action, "user_changed");
  EXPECT_EQ((*later)[0].data["changed"], (Json{"password"}));
}

TEST_F(AccountsTrackerTest, UsersWithoutShadowEntryFromTheStartDoNotHoldReloadsBack) {
  env_.SetFile("/etc/passwd", std::string(kPasswd) + "ghost:x:1002:1002::/:/bin/sh\n");
  ASSERT_TRUE(tracker_.Load().ok());
  env_.SetFile("/etc/group", std::string(kGroup) + "ghost:x:1002:\n");
  std::optional<std::vector<Event>> events = tracker_.TryReload();
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(events->size(), 1u);
}

}  // namespace
}  // namespace vigil::local_users
