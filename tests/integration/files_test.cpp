// The files collector on the real kernel: the agent watches paths in a temporary directory
// (files.paths), and each change made there (an edit in place, a replacement by rename, a
// missing file created, a deletion, a chmod, an entry added to a watched directory, an
// editor's burst of writes) must produce its event, with the sha256 of what the test wrote
// (computed here with libmd, from the bytes, not from the file). Then the same in poll mode.
#include <sha2.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
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
using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string Sha256(const std::string& bytes) {
  char hex[SHA256_DIGEST_STRING_LENGTH];
  SHA256Data(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), hex);
  return hex;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

bool IsFile(const json& e, const std::string& action, const std::string& path) {
  return e.value("type", "") == "file" && e.value("action", "") == action && e.contains("data") &&
         e["data"].value("path", "") == path;
}

class FilesIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-files-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/etc");
    fs::create_directories(dir_ + "/init.d");
    WriteFile(dir_ + "/etc/passwd", passwd_);
    ASSERT_EQ(chmod((dir_ + "/etc/passwd").c_str(), 0644), 0);
    WriteFile(dir_ + "/etc/shadow", shadow_);
    WriteFile(dir_ + "/etc/sshd_config", "PermitRootLogin no\n");
    WriteFile(dir_ + "/init.d/ssh", "#!/bin/sh\n");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::string Config(const std::string& extra) const {
    std::string c = "files:\n  priority: high\n  coalesce: 300ms\n" + extra + "  paths:\n";
    for (const char* p : {"/etc/passwd", "/etc/shadow", "/etc/sshd_config", "/etc/marker", "/keys/authorized_keys",
                          "/init.d"})
      c += "    - " + dir_ + p + "\n";
    return c + "stats:\n  interval: 1s\n";
  }

  // The collector reads its paths and adds its watches after it starts: write a marker file
  // until its event comes, so every watch is in place before the test changes anything.
  bool WaitUntilWatching(AgentProcess& agent) {
    const std::string marker = dir_ + "/etc/marker";
    for (int i = 0; i < 40; ++i) {
      WriteFile(marker, "ready " + std::to_string(i) + "\n");
      if (agent.WaitFor([&](const json& e) { return e.value("type", "") == "file" && e["data"].value("path", "") == marker; },
                        1s))
        return true;
    }
    return false;
  }

  void ExpectAllValid(AgentProcess& agent) {
    const Result<schema::Schema>& schema = schema::BuiltinSchema();
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    for (const json& e : agent.Events()) {
      for (const schema::ValidationError& err : schema->Check(e)) ADD_FAILURE() << err.ToString() << "\n" << e.dump();
    }
  }

  std::string SourceInStats(AgentProcess& agent) {
    auto stats = agent.WaitFor(
        [](const json& e) {
          if (e.value("type", "") != "agent_stats") return false;
          for (const json& c : e["data"]["collectors"]) {
            if (c.value("collector", "") == "files") return true;
          }
          return false;
        },
        10s);
    if (!stats) return "(no agent_stats)";
    for (const json& c : (*stats)["data"]["collectors"]) {
      if (c.value("collector", "") == "files") return c.value("source", "");
    }
    return "";
  }

  std::string dir_;
  const std::string passwd_ = "root:x:0:0:root:/root:/bin/sh\n";
  const std::string shadow_ = "root:*:19000:0:99999:7:::\n";
};

TEST_F(FilesIntegration, EachChangeGivesItsEventWithTheRightDigest) {
  auto agent = AgentProcess::Start(Config(""));
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitUntilWatching(*agent)) << "no event for the marker file; agent log:\n" << agent->Log();
  const std::string passwd = dir_ + "/etc/passwd";

  // An edit in place.
  const std::string edited = passwd_ + "evil:x:0:0::/:/bin/sh\n";
  {
    std::ofstream out(passwd, std::ios::app);
    out << "evil:x:0:0::/:/bin/sh\n";
  }
  auto ev = agent->WaitFor([&](const json& e) { return IsFile(e, "modified", passwd); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no modified event for " << passwd << "; log:\n" << agent->Log();
  json d = (*ev)["data"];
  EXPECT_EQ(d.value("sha256", ""), Sha256(edited));
  EXPECT_EQ(d.value("previous_sha256", ""), Sha256(passwd_));
  EXPECT_EQ(d.value("root", ""), passwd);
  EXPECT_EQ(d.value("type", ""), "file");
  EXPECT_EQ(d.value("size", -1), static_cast<int>(edited.size()));
  EXPECT_EQ(d.value("mode", ""), "0644");
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(getuid()));
  EXPECT_FALSE(d.contains("replaced"));

  // A replacement by rename, as editors and shadow-utils do.
  const std::string sshd = dir_ + "/etc/sshd_config";
  const std::string sshd_new = "PermitRootLogin yes\n";
  WriteFile(sshd + ".tmp", sshd_new);
  ASSERT_EQ(std::rename((sshd + ".tmp").c_str(), sshd.c_str()), 0);
  ev = agent->WaitFor([&](const json& e) { return IsFile(e, "modified", sshd); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no modified event for " << sshd << "; log:\n" << agent->Log();
  d = (*ev)["data"];
  EXPECT_EQ(d.value("sha256", ""), Sha256(sshd_new));
  EXPECT_EQ(d.value("replaced", false), true);
  EXPECT_EQ(d.value("moved_from", ""), sshd + ".tmp");

  // A missing file whose directory is missing too.
  const std::string keys = dir_ + "/keys/authorized_keys";
  const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample attacker@example\n";
  fs::create_directories(dir_ + "/keys");
  WriteFile(keys, key);
  ev = agent->WaitFor([&](const json& e) { return IsFile(e, "created", keys); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no created event for " << keys << "; log:\n" << agent->Log();
  EXPECT_EQ((*ev)["data"].value("sha256", ""), Sha256(key));

  // A deletion.
  const std::string shadow = dir_ + "/etc/shadow";
  ASSERT_EQ(unlink(shadow.c_str()), 0);
  ev = agent->WaitFor([&](const json& e) { return IsFile(e, "deleted", shadow); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no deleted event for " << shadow << "; log:\n" << agent->Log();
  EXPECT_EQ((*ev)["data"].value("previous_sha256", ""), Sha256(shadow_));
  EXPECT_FALSE((*ev)["data"].contains("sha256"));

  // A chmod.
  ASSERT_EQ(chmod(passwd.c_str(), 0666), 0);
  ev = agent->WaitFor([&](const json& e) { return IsFile(e, "attributes", passwd); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no attributes event for " << passwd << "; log:\n" << agent->Log();
  EXPECT_EQ((*ev)["data"].value("mode", ""), "0666");
  EXPECT_EQ((*ev)["data"].value("previous_mode", ""), "0644");

  // An entry added to a watched directory.
  const std::string script = dir_ + "/init.d/evil";
  WriteFile(script, "#!/bin/sh\nexec /tmp/x\n");
  ev = agent->WaitFor([&](const json& e) { return IsFile(e, "created", script); }, 5s);
  ASSERT_TRUE(ev.has_value()) << "no created event for " << script << "; log:\n" << agent->Log();
  EXPECT_EQ((*ev)["data"].value("root", ""), dir_ + "/init.d");
  EXPECT_EQ((*ev)["data"].value("sha256", ""), Sha256("#!/bin/sh\nexec /tmp/x\n"));

  // An editor's burst: several writes within the window give one event, of the final content.
  std::string content = edited;
  for (int i = 0; i < 5; ++i) {
    content += "line " + std::to_string(i) + "\n";
    WriteFile(passwd, content);
  }
  ev = agent->WaitFor(
      [&](const json& e) { return IsFile(e, "modified", passwd) && e["data"].value("sha256", "") == Sha256(content); },
      5s);
  ASSERT_TRUE(ev.has_value()) << "no modified event with the final content; log:\n" << agent->Log();
  int burst_events = 0;
  for (const json& e : agent->Events()) {
    if (IsFile(e, "modified", passwd) && e["data"].value("previous_sha256", "") != Sha256(passwd_)) ++burst_events;
  }
  EXPECT_EQ(burst_events, 1) << "the burst of writes was not coalesced into one event";

  EXPECT_EQ(SourceInStats(*agent), "inotify");
  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  ExpectAllValid(*agent);
}

TEST_F(FilesIntegration, PollModeFindsAnEditAndADeletion) {
  auto agent = AgentProcess::Start(Config("  mode: poll\n  poll_interval: 1s\n"));
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(WaitUntilWatching(*agent)) << "no event for the marker file; agent log:\n" << agent->Log();
  const std::string passwd = dir_ + "/etc/passwd";
  const std::string edited = "root:x:0:0:root:/root:/bin/bash\n";
  WriteFile(passwd, edited);
  auto ev = agent->WaitFor([&](const json& e) { return IsFile(e, "modified", passwd); }, 10s);
  ASSERT_TRUE(ev.has_value()) << "no modified event in poll mode; log:\n" << agent->Log();
  EXPECT_EQ((*ev)["data"].value("sha256", ""), Sha256(edited));
  const std::string script = dir_ + "/init.d/ssh";
  ASSERT_EQ(unlink(script.c_str()), 0);
  EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsFile(e, "deleted", script); }, 10s))
      << "no deleted event in poll mode; log:\n"
      << agent->Log();
  EXPECT_EQ(SourceInStats(*agent), "poll");
  agent->Stop(SIGTERM);
  ExpectAllValid(*agent);
}

}  // namespace
}  // namespace vigil
