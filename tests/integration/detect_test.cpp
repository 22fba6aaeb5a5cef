// Detection on the real thing (root needed), with the agent's built-in rules: a password brute
// force with sshpass against a real sshd, a program copied to /tmp/xmrig and run with a miner's
// command line connecting to a listener on port 3333, a connection to an address of a
// threat-intel list, and a rule file with an error. Every event the agent writes, alerts
// included, is checked against the schema.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/agent_harness.h"
#include "tests/integration/sshd_fixture.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::Reap;
using testing::Spawn;
using testing::StopAndValidate;
using testing::Sshd;
using testing::SshLogin;
using testing::TempDir;
using testing::TestUser;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kWait = 20s;

bool IsAlert(const json& e, const std::string& rule_name) {
  return e.value("type", "") == "alert" && e.contains("data") && e["data"].value("rule_name", "") == rule_name;
}

// The agent with every collector at its defaults except: loopback connections reported (the
// tests' peers are on loopback), the login collector on `auth_log` only, and `extra` appended.
std::unique_ptr<AgentProcess> StartAgent(const std::string& auth_log, const std::string& extra = "") {
  if (!fs::exists(auth_log)) std::ofstream(auth_log).close();
  auto agent = AgentProcess::Start(
      "network:\n  include_loopback: true\n"
      "login:\n  auth_log: \"" + auth_log + "\"\n  utmp: \"\"\n  wtmp: \"\"\n  btmp: \"\"\n  journal: \"off\"\n" +
      extra);
  if (!agent) return nullptr;
  for (const char* started : {"collector login: started", "collector process: started", "collector network: started",
                              "detect: "}) {
    if (!agent->WaitForLog(started, kWait)) {
      ADD_FAILURE() << "no '" << started << "' in the agent's log:\n" << agent->Log();
      return nullptr;
    }
  }
  return agent;
}

// A TCP listener on an IPv4 address; connections wait in its backlog, never accepted.
class Listener {
 public:
  Listener(const std::string& ip, uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      error_ = std::string("cannot listen on ") + ip + ":" + std::to_string(port) + ": " + strerror(errno);
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  const std::string& error() const { return error_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

TEST(DetectIntegration, AnSshBruteForceRaisesTheAlertWithinTwoSecondsOfTheThreshold) {
  TempDir dir("/tmp/vigil-detect-it-");
  ASSERT_FALSE(dir.path().empty());
  TestUser user;
  ASSERT_TRUE(user.ok()) << "could not create the test user " << user.name() << " (useradd, chpasswd; root needed)";
  auto agent = StartAgent(dir / "sshd.log");
  ASSERT_NE(agent, nullptr);
  auto sshd = Sshd::Start(dir.path(), {user.name()}, kWait);
  ASSERT_NE(sshd, nullptr);

  // ssh_brute_force: five refused passwords from one address within 10 minutes.
  for (int i = 0; i < 4; ++i) EXPECT_NE(SshLogin(sshd->port(), user.name(), "wrong-" + std::to_string(i)), 0);
  EXPECT_FALSE(agent->WaitFor([](const json& e) { return IsAlert(e, "ssh_brute_force"); }, 0ms).has_value())
      << "the alert came before the threshold";
  EXPECT_NE(SshLogin(sshd->port(), user.name(), "wrong-4"), 0);
  const auto crossed = std::chrono::steady_clock::now();
  auto alert = agent->WaitFor([](const json& e) { return IsAlert(e, "ssh_brute_force"); }, kWait);
  const auto latency = std::chrono::steady_clock::now() - crossed;
  ASSERT_TRUE(alert.has_value()) << "no brute-force alert; agent log:\n" << agent->Log() << "\nsshd log:\n"
                                 << sshd->LogText();
  EXPECT_LE(latency, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count() << " ms";
  const json& data = (*alert)["data"];
  EXPECT_EQ((*alert)["priority"], "high");
  EXPECT_EQ(data["level"], "medium");  // the rule's level
  EXPECT_EQ(data["group"].value("source_ip", ""), "127.0.0.1") << data.dump();
  EXPECT_GE(data.value("value", 0), 5);
  EXPECT_NE(data["attack"].dump().find("T1110.001"), std::string::npos) << data["attack"].dump();
  StopAndValidate(*agent);
}

TEST(DetectIntegration, AProgramRunAsTmpXmrigWithAMinersCommandLineRaisesTheMinerAlerts) {
  Listener pool("127.0.0.1", 3333);
  ASSERT_TRUE(pool.error().empty()) << pool.error() << " (the test's mining pool needs port 3333)";
  TempDir dir("/tmp/vigil-detect-it-");
  auto agent = StartAgent(dir / "auth.log");
  ASSERT_NE(agent, nullptr);

  const std::string miner = "/tmp/xmrig";
  fs::copy_file(VIGIL_TEST_CONNECTOR, miner, fs::copy_options::overwrite_existing);
  fs::permissions(miner, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  const pid_t pid = Spawn({miner, "--donate-level=1", "-o", "stratum+tcp://127.0.0.1:3333", "-u", "wallet", "-p", "x"});
  ASSERT_GT(pid, 0);

  const std::set<std::string> expected = {"miner_process_name", "miner_command_line",
                                          "miner_pool_port_suspicious_program"};
  std::set<std::string> seen;
  agent->WaitFor(
      [&](const json& e) {
        if (e.value("type", "") == "alert" && expected.contains(e["data"].value("rule_name", "")))
          seen.insert(e["data"].value("rule_name", ""));
        return seen == expected;
      },
      kWait);
  kill(pid, SIGTERM);
  Reap(pid);
  fs::remove(miner);
  EXPECT_EQ(seen, expected) << "agent log:\n" << agent->Log();
  StopAndValidate(*agent);
}

TEST(DetectIntegration, AConnectionToAThreatIntelAddressRaisesTheBotnetAlert) {
  TempDir dir("/tmp/vigil-detect-it-");
  fs::create_directory(dir / "lists");
  std::ofstream(dir / "lists/threat_intel_ips.txt") << "# the test's command-and-control server\n127.0.0.77\n";
  Listener c2("127.0.0.77", 0);
  ASSERT_TRUE(c2.error().empty()) << c2.error();
  auto agent = StartAgent(dir / "auth.log", "detect:\n  lists_dir: \"" + (dir / "lists") + "\"\n");
  ASSERT_NE(agent, nullptr);

  const pid_t pid = Spawn({VIGIL_TEST_CONNECTOR, "--connect", "127.0.0.77:" + std::to_string(c2.port())});
  ASSERT_GT(pid, 0);
  auto alert = agent->WaitFor([](const json& e) { return IsAlert(e, "threat_intel_address_connection"); }, kWait);
  kill(pid, SIGTERM);
  Reap(pid);
  ASSERT_TRUE(alert.has_value()) << "agent log:\n" << agent->Log();
  const json& data = (*alert)["data"];
  EXPECT_EQ(data["level"], "high");
  ASSERT_TRUE(data["events"].is_array() && !data["events"].empty()) << data.dump();
  EXPECT_NE(data["events"][0].dump().find("127.0.0.77"), std::string::npos) << data["events"][0].dump();
  StopAndValidate(*agent);
}

TEST(DetectIntegration, ARuleFileWithAnErrorIsReportedByLineAndItsGoodRulesRun) {
  TempDir dir("/tmp/vigil-detect-it-");
  std::ofstream(dir / "site.yml") << "title: Broken\nid: site-1\nlogsource:\n  category: process_creation\n"
                                     "  product: linux\ndetection:\n  selection:\n    Image|nosuchmodifier: /bin/sh\n"
                                     "  condition: selection\n---\n"
                                     "title: Site rule\nid: site-2\nname: site_true_run\nlogsource:\n"
                                     "  category: process_creation\n  product: linux\ndetection:\n  selection:\n"
                                     "    Image|endswith: /vigil-test-connector\n    CommandLine|contains: site-marker\n"
                                     "  condition: selection\nlevel: low\n";
  auto agent = StartAgent(dir / "auth.log", "stats:\n  interval: 1s\ndetect:\n  rules: [\"" + (dir / "site.yml") + "\"]\n");
  ASSERT_NE(agent, nullptr);
  EXPECT_TRUE(agent->WaitForLog(dir / "site.yml:8:", kWait)) << agent->Log();

  // The connector fails at once (nothing to connect to): only its start matters.
  const pid_t pid = Spawn({VIGIL_TEST_CONNECTOR, "--connect", "site-marker"});
  ASSERT_GT(pid, 0);
  Reap(pid);
  auto alert = agent->WaitFor([](const json& e) { return IsAlert(e, "site_true_run"); }, kWait);
  EXPECT_TRUE(alert.has_value()) << agent->Log();
  auto stats = agent->WaitFor(
      [](const json& e) {
        return e.value("type", "") == "agent_stats" && e["data"].contains("detect") &&
               e["data"]["detect"].value("alerts", 0) > 0;
      },
      kWait);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ((*stats)["data"]["detect"]["load_errors"], 1);
  EXPECT_GT((*stats)["data"]["detect"]["rules"].get<int>(), 40);
  StopAndValidate(*agent);
}

}  // namespace
}  // namespace vigil
