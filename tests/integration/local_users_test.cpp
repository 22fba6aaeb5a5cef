// The local_users collector on the real system (root needed): useradd and userdel of a test
// user seen as events through inotify on /etc; a copy of the account files (the agent pointed
// at it by its path settings) with a second UID 0 account, an empty password and a malformed
// line, then changed the way shadow-utils and editors change them. The real /etc/shadow is
// touched only by useradd/userdel of the test user. Every event is checked against the schema.
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/schema.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::Reap;
using testing::Spawn;
using namespace std::chrono_literals;

std::string FindTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

int RunTool(const std::vector<std::string>& args) {
  const pid_t pid = Spawn(args);
  if (pid < 0) return -1;
  const int status = Reap(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool IsLocalUsers(const json& e, const char* action) {
  return e.value("type", "") == "local_users" && e.value("action", "") == action && e.contains("data");
}

bool Names(const json& e, const char* action, const char* key, const std::string& name) {
  return IsLocalUsers(e, action) && e["data"].value(key, "") == name;
}

void ExpectAllValid(const std::vector<json>& events) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  int mine = 0;
  for (const json& e : events) {
    if (e.value("type", "") == "local_users") ++mine;
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
  }
  EXPECT_GT(mine, 0);
}

// --- The real account files, changed by useradd and userdel --------------------------------

class UseraddIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    useradd_ = FindTool("useradd");
    userdel_ = FindTool("userdel");
    ASSERT_FALSE(useradd_.empty() || userdel_.empty()) << "this test needs useradd and userdel (Debian package passwd)";
    user_ = "vigilt" + std::to_string(getpid());
    if (getpwnam(user_.c_str()) != nullptr) RunTool({userdel_, user_});  // a leftover of an earlier run
  }
  void TearDown() override {
    if (!userdel_.empty() && getpwnam(user_.c_str()) != nullptr) RunTool({userdel_, user_});  // also after a failure
  }

  std::string useradd_, userdel_, user_;
};

TEST_F(UseraddIntegration, UserAndGroupAddedThenRemoved) {
  auto agent = AgentProcess::Start("");
  ASSERT_NE(agent, nullptr);
  auto snapshot = agent->WaitFor([](const json& e) { return IsLocalUsers(e, "snapshot"); }, 20s);
  ASSERT_TRUE(snapshot) << "no local_users snapshot; agent log:\n" << agent->Log();
  EXPECT_EQ((*snapshot)["data"]["shadow_read"], true);
  EXPECT_GT((*snapshot)["data"]["user_count"].get<int>(), 0);
  bool root_seen = false;
  for (const json& u : (*snapshot)["data"]["users"])
    if (u["user"] == "root") root_seen = u["uid"] == 0 && u["uid0"] == false;
  EXPECT_TRUE(root_seen) << snapshot->dump();
  EXPECT_TRUE(agent->Log().find("source inotify") != std::string::npos) << agent->Log();

  ASSERT_EQ(RunTool({useradd_, "-M", "-s", "/usr/sbin/nologin", "-c", "vigil test", user_}), 0);
  auto added = agent->WaitFor([&](const json& e) { return Names(e, "user_added", "user", user_); }, 10s);
  ASSERT_TRUE(added) << "no user_added for " << user_ << "; agent log:\n" << agent->Log();
  json d = (*added)["data"];
  const passwd* pw = getpwnam(user_.c_str());
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(d["uid"], pw->pw_uid);
  EXPECT_EQ(d["gid"], pw->pw_gid);
  EXPECT_EQ(d["shell"], "/usr/sbin/nologin");
  EXPECT_EQ(d["login_shell"], false);
  EXPECT_EQ(d["uid0"], false);
  EXPECT_EQ(d["password_locked"], true) << "useradd without a password leaves '!' in shadow";
  EXPECT_EQ(d["empty_password"], false);
  EXPECT_TRUE(agent->WaitFor([&](const json& e) { return Names(e, "group_added", "group", user_); }, 10s))
      << "no group_added for the user's own group; agent log:\n"
      << agent->Log();
  // The several files useradd writes are read as one change: no spurious user_changed.
  for (const json& e : agent->Events()) EXPECT_FALSE(Names(e, "user_changed", "user", user_)) << e.dump();

  ASSERT_EQ(RunTool({userdel_, user_}), 0);
  auto removed = agent->WaitFor([&](const json& e) { return Names(e, "user_removed", "user", user_); }, 10s);
  ASSERT_TRUE(removed) << "no user_removed for " << user_ << "; agent log:\n" << agent->Log();
  EXPECT_EQ((*removed)["data"]["uid"], (*added)["data"]["uid"]);
  EXPECT_TRUE(agent->WaitFor([&](const json& e) { return Names(e, "group_removed", "group", user_); }, 10s))
      << agent->Log();

  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent->Log();
  ExpectAllValid(agent->Events());
}

// --- A copy of the files, pointed at by the path settings -----------------------------------

class AccountCopyIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-etc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) RunTool({"/bin/rm", "-rf", dir_});
  }

  // Replaces a file the way shadow-utils does: a new file renamed over the old one.
  void Replace(const std::string& name, const std::string& content) {
    const std::string tmp = dir_ + "/" + name + "+";
    std::ofstream(tmp) << content;
    ASSERT_EQ(std::rename(tmp.c_str(), (dir_ + "/" + name).c_str()), 0);
  }
  // Rewrites a file in place, as an editor may.
  void Rewrite(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::trunc) << content;
  }

  std::string Config() const {
    return "local_users:\n  passwd_path: " + dir_ + "/passwd\n  group_path: " + dir_ +
           "/group\n  shadow_path: " + dir_ + "/shadow\n";
  }

  std::string dir_;
};

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "toor:x:0:0:second root:/root:/bin/sh\n"
    "this line is broken\n"
    "nopw:x:1001:1001::/home/nopw:/bin/bash\n";
constexpr char kGroup[] = "root:x:0:\ndaemon:x:1:\nsudo:x:27:\nnopw:x:1001:\n";
constexpr char kShadow[] =
    "root:$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijkl:19000:0:"
    "99999:7:::\n"
    "daemon:*:19000:0:99999:7:::\n"
    "toor:!:19000:0:99999:7:::\n"
    "nopw::19000:0:99999:7:::\n";

TEST_F(AccountCopyIntegration, FlagsUid0AndEmptyPasswordsAndFollowsChanges) {
  Rewrite("passwd", kPasswd);
  Rewrite("group", kGroup);
  Rewrite("shadow", kShadow);
  auto agent = AgentProcess::Start(Config());
  ASSERT_NE(agent, nullptr);
  auto snapshot = agent->WaitFor([](const json& e) { return IsLocalUsers(e, "snapshot"); }, 20s);
  ASSERT_TRUE(snapshot) << "no local_users snapshot; agent log:\n" << agent->Log();
  json s = (*snapshot)["data"];
  EXPECT_EQ(s["user_count"], 4);
  EXPECT_EQ(s["group_count"], 4);
  EXPECT_EQ(s["uid0_users"], json::array({"toor"}));
  EXPECT_EQ(s["empty_password_users"], json::array({"nopw"}));
  EXPECT_EQ(s["malformed_lines"], 1);
  EXPECT_EQ(s["shadow_read"], true);
  EXPECT_TRUE(agent->WaitForLog(dir_ + "/passwd:4: ", 5s)) << "the malformed line is not named in the log:\n"
                                                           << agent->Log();
  const std::string dumped = snapshot->dump();
  EXPECT_EQ(dumped.find("$6$"), std::string::npos) << "a password hash was sent: " << dumped;

  // A new UID 0 account without a password, added as shadow-utils would (rename over).
  Replace("shadow", std::string(kShadow) + "evil::19000:0:99999:7:::\n");
  Replace("passwd", std::string(kPasswd) + "evil:x:0:0::/root:/bin/bash\n");
  auto evil = agent->WaitFor([](const json& e) { return Names(e, "user_added", "user", "evil"); }, 10s);
  ASSERT_TRUE(evil) << "no user_added for the new uid 0 account; agent log:\n" << agent->Log();
  EXPECT_EQ((*evil)["data"]["uid0"], true);
  EXPECT_EQ((*evil)["data"]["empty_password"], true);
  EXPECT_EQ((*evil)["data"]["login_shell"], true);

  // A member added to sudo and a shell changed, written in place.
  Rewrite("group", "root:x:0:\ndaemon:x:1:\nsudo:x:27:nopw\nnopw:x:1001:\n");
  auto sudo = agent->WaitFor([](const json& e) { return Names(e, "group_changed", "group", "sudo"); }, 10s);
  ASSERT_TRUE(sudo) << "no group_changed for sudo; agent log:\n" << agent->Log();
  EXPECT_EQ((*sudo)["data"]["members_added"], json::array({"nopw"}));
  EXPECT_EQ((*sudo)["data"]["changed"], json::array({"members"}));

  Rewrite("passwd", std::string(kPasswd) + "evil:x:0:0::/root:/usr/sbin/nologin\n");
  auto shell = agent->WaitFor([](const json& e) { return Names(e, "user_changed", "user", "evil"); }, 10s);
  ASSERT_TRUE(shell) << "no user_changed for the shell; agent log:\n" << agent->Log();
  EXPECT_EQ((*shell)["data"]["changed"], json::array({"shell"}));
  EXPECT_EQ((*shell)["data"]["previous"]["shell"], "/bin/bash");
  EXPECT_EQ((*shell)["data"]["login_shell"], false);

  // The password of root emptied: a change of state, reported without any hash.
  Replace("shadow", std::string("root::19000:0:99999:7:::\n") + (kShadow + std::string(kShadow).find('\n') + 1) +
                        "evil::19000:0:99999:7:::\n");
  auto root = agent->WaitFor([](const json& e) { return Names(e, "user_changed", "user", "root"); }, 10s);
  ASSERT_TRUE(root) << "no user_changed for root's password; agent log:\n" << agent->Log();
  EXPECT_EQ((*root)["data"]["changed"], json::array({"password"}));
  EXPECT_EQ((*root)["data"]["empty_password"], true);
  EXPECT_EQ((*root)["data"]["previous"]["empty_password"], false);

  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent->Log();
  const std::vector<json> events = agent->Events();
  for (const json& e : events) {
    if (e.value("type", "") != "local_users") continue;
    EXPECT_EQ(e.dump().find("$6$"), std::string::npos) << "a password hash was sent: " << e.dump();
  }
  ExpectAllValid(events);
}

}  // namespace
}  // namespace vigil
