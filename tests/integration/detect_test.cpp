// Detection on the real thing (root needed), with the agent's built-in rules: a password brute
// force with sshpass against a real sshd, and over telnet against BusyBox telnetd and login; a
// program copied to /tmp/xmrig and run with a miner's command line connecting to a listener on
// port 3333; a connection to a host name that a test DNS server on loopback gave for a
// mining pool; a connection to an address of a threat-intel list, and a rule file with an
// error. Every event the agent writes, alerts included, is checked against the schema.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
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
using testing::FreeLoopbackPort;
using testing::Reap;
using testing::Spawn;
using testing::StopAndValidate;
using testing::Sshd;
using testing::SshLogin;
using testing::TempDir;
using testing::TestUser;
using testing::WaitForListener;
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

// Runs the test connector to `peer` (ip:port) and waits for an alert of `rule`; the connector
// is stopped either way. The alert is checked for a high level and at least one triggering
// event, whose JSON line is returned parsed; nullopt after failing the test.
std::optional<json> ConnectAndAwaitAlert(AgentProcess& agent, const std::string& peer, const std::string& rule) {
  const pid_t pid = Spawn({VIGIL_TEST_CONNECTOR, "--connect", peer});
  if (pid <= 0) return std::nullopt;
  auto alert = agent.WaitFor([&](const json& e) { return IsAlert(e, rule); }, kWait);
  kill(pid, SIGTERM);
  Reap(pid);
  if (!alert) {
    ADD_FAILURE() << "no " << rule << " alert; agent log:\n" << agent.Log();
    return std::nullopt;
  }
  const json& data = (*alert)["data"];
  EXPECT_EQ(data["level"], "high");
  if (!data["events"].is_array() || data["events"].empty() || !data["events"][0].is_string()) {
    ADD_FAILURE() << "the alert names no triggering event: " << data.dump();
    return std::nullopt;
  }
  return json::parse(data["events"][0].get<std::string>(), nullptr, false);
}

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

  auto connection =
      ConnectAndAwaitAlert(*agent, "127.0.0.77:" + std::to_string(c2.port()), "threat_intel_address_connection");
  ASSERT_TRUE(connection.has_value());
  EXPECT_EQ((*connection)["data"].value("remote_ip", ""), "127.0.0.77") << connection->dump();
  StopAndValidate(*agent);
}

// --- Telnet against BusyBox telnetd and login ------------------------------------------------

// A telnet client: refuses every option the server asks for, answers the login prompts.
class TelnetClient {
 public:
  explicit TelnetClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~TelnetClient() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

  // Reads until `text` has been received (option negotiation answered and left out).
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    while (screen_.find(text) == std::string::npos) {
      if (ReadOnce(deadline, &got) <= 0) return false;
      Take(got);
    }
    screen_.erase(0, screen_.find(text) + text.size());
    return true;
  }
  // Reads until the server closes the connection (true), or the timeout.
  bool WaitForClose(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    for (;;) {
      const ssize_t n = ReadOnce(deadline, &got);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }
  void SendLine(const std::string& line) {
    const std::string out = line + "\r\n";
    ASSERT_EQ(write(fd_, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  }

 private:
  static constexpr unsigned char kIac = 255, kWill = 251, kWont = 252, kDo = 253, kDont = 254;
  // One read of what arrives before `deadline` into *got: read()'s result (0: the server
  // closed), or -1 with errno ETIMEDOUT when nothing came in time.
  ssize_t ReadOnce(std::chrono::steady_clock::time_point deadline, std::string* got) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    char buf[1024];
    const ssize_t n = read(fd_, buf, sizeof buf);
    got->assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
    return n;
  }
  void Take(const std::string& bytes) {
    in_ += bytes;
    std::string reply;
    size_t i = 0;
    while (i < in_.size()) {
      const auto c = static_cast<unsigned char>(in_[i]);
      if (c != kIac) {
        screen_ += in_[i++];
        continue;
      }
      if (i + 2 >= in_.size()) break;  // the rest of the command is still to come
      const auto cmd = static_cast<unsigned char>(in_[i + 1]);
      if (cmd == kDo || cmd == kWill) reply += {static_cast<char>(kIac), static_cast<char>(cmd == kDo ? kWont : kDont), in_[i + 2]};
      i += (cmd >= kWill && cmd <= kDont) ? 3 : 2;
    }
    in_.erase(0, i);
    if (!reply.empty()) {
      ASSERT_EQ(write(fd_, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    }
  }
  int fd_ = -1;
  std::string in_;
  std::string screen_;
};

// Whether a syslog daemon listens on /dev/log (else the agent may bind it).
bool DevLogIsLive() {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, "/dev/log");
  const bool live = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return live;
}

TEST(DetectIntegration, ATelnetBruteForceAgainstBusyBoxRaisesTheAlertForItsSourceAddress) {
  const std::string busybox = "/bin/busybox";
  ASSERT_EQ(testing::Shell(busybox + " telnetd --help 2>&1 | grep -q 'Handle incoming telnet'").exit_code, 0)
      << busybox << " has no telnetd applet: install busybox-static";
  TempDir dir("/tmp/vigil-detect-it-");
  fs::create_symlink(busybox, dir / "login");  // telnetd runs BusyBox login by this name
  // BusyBox login logs through syslog(3) to /dev/log; its telnet peer is in telnetd's utmp
  // record. The agent binds /dev/log, unless a syslog daemon has it: then telnetd runs in a
  // mount namespace of its own where /dev/log is the agent's socket.
  const bool private_dev_log = DevLogIsLive();
  const std::string syslog_socket = private_dev_log ? dir / "log.sock" : "/dev/log";
  auto agent = AgentProcess::Start("network:\n  include_loopback: true\nlogin:\n  auth_log: \"\"\n  utmp: /var/run/utmp\n"
                                   "  wtmp: \"\"\n  btmp: \"\"\n  journal: \"off\"\n  syslog_socket: \"" +
                                   syslog_socket + "\"\n");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitForLog("collector login: started", kWait)) << agent->Log();
  ASSERT_TRUE(agent->WaitForLog("detect: ", kWait)) << agent->Log();

  const uint16_t port = FreeLoopbackPort();
  const std::string telnetd = busybox + " telnetd -F -b 127.0.0.1:" + std::to_string(port) + " -l " + (dir / "login");
  const pid_t pid = private_dev_log ? Spawn({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh",
                                             "-c", "mount --bind " + syslog_socket + " /dev/log && exec " + telnetd})
                                    : Spawn({"/bin/sh", "-c", "exec " + telnetd});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForListener(port, kWait)) << "BusyBox telnetd did not listen on port " << port;

  // Two sessions at once, three wrong passwords each (BusyBox login pauses 3 s after each):
  // six failures from 127.0.0.1, the threshold is five.
  auto guess = [&](int session) {
    TelnetClient c(port);
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(c.WaitFor("login: ", kWait)) << "session " << session << " try " << i;
      c.SendLine("admin");
      ASSERT_TRUE(c.WaitFor("Password: ", kWait));
      c.SendLine("wrong-" + std::to_string(session) + "-" + std::to_string(i));
      ASSERT_TRUE(c.WaitFor("Login incorrect", kWait));
    }
    // login prints "Login incorrect" before it logs the failure, and leaves after the third:
    // the connection stays open until then, since a hang-up could end login between the two.
    ASSERT_TRUE(c.WaitForClose(kWait)) << "session " << session << ": login did not end after three failures";
  };
  std::thread second(guess, 2);
  guess(1);
  second.join();
  // Each failure is BusyBox login's own line, with the peer telnetd wrote to utmp. WaitFor sees
  // each event once.
  int failures = 0;
  agent->WaitFor(
      [&](const json& e) {
        if (e.value("type", "") == "login" && e["data"].value("service", "") == "login" &&
            e["data"].value("result", "") == "failed") {
          failures += e.value("count", 1);
          EXPECT_EQ(e["data"].value("source_ip", ""), "127.0.0.1") << e.dump();
          EXPECT_EQ(e["data"].value("source", ""), "syslog") << e.dump();
        }
        return failures >= 6;
      },
      kWait);
  auto alert = agent->WaitFor([](const json& e) { return IsAlert(e, "telnet_brute_force"); }, kWait);
  kill(pid, SIGTERM);
  Reap(pid);
  if (failures != 6) {
    std::string seen;  // what the agent made of the logins, for the failure message
    for (const json& e : agent->Events())
      if (e.value("type", "") == "login" || e.value("type", "") == "agent_stats") seen += e.dump() + "\n";
    ADD_FAILURE() << failures << " failures reported, 6 expected; login events and agent_stats:\n"
                  << seen << "agent log:\n"
                  << agent->Log();
  }
  ASSERT_TRUE(alert.has_value()) << "agent log:\n" << agent->Log();
  const json& data = (*alert)["data"];
  EXPECT_EQ(data["level"], "high");
  EXPECT_EQ(data["group"].value("source_ip", ""), "127.0.0.1") << data.dump();
  EXPECT_GE(data.value("value", 0), 5);
  StopAndValidate(*agent);
}

// --- A mining pool by its host name -----------------------------------------------------------

std::string U16(int v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

// A UDP socket bound to ip:port (0: any free port); -1 after failing the test.
int UdpSocket(const std::string& ip, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ADD_FAILURE() << "cannot bind UDP " << ip << ":" << port << ": " << strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

TEST(DetectIntegration, AConnectionToAMiningPoolByItsHostNameRaisesTheAlert) {
  // The test's DNS server on 127.0.0.79:53 answers xmr-eu1.nanopool.org with 127.0.0.78, where
  // the test's pool listens.
  Listener pool("127.0.0.78", 0);
  ASSERT_TRUE(pool.error().empty()) << pool.error();
  TempDir dir("/tmp/vigil-detect-it-");
  auto agent = StartAgent(dir / "auth.log", "stats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  const int server = UdpSocket("127.0.0.79", 53);
  const int client = UdpSocket("127.0.0.1", 0);
  ASSERT_GE(server, 0);
  ASSERT_GE(client, 0);

  // The query, as a resolver sends it: id, RD, one question (A, IN).
  const std::string qname = std::string("\x07xmr-eu1\x08nanopool\x03org", 21) + '\0';
  const std::string query = U16(0x4242) + U16(0x0100) + U16(1) + U16(0) + U16(0) + U16(0) + qname + U16(1) + U16(1);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  inet_pton(AF_INET, "127.0.0.79", &to.sin_addr);
  ASSERT_EQ(sendto(client, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(query.size()));
  char buf[512];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  const ssize_t got = recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  ASSERT_EQ(got, static_cast<ssize_t>(query.size()));
  // The answer: the query with QR, RA and one A record (a pointer to the question's name).
  std::string answer = query;
  answer.replace(2, 2, U16(0x8180));
  answer.replace(6, 2, U16(1));
  answer += std::string("\xc0\x0c", 2) + U16(1) + U16(1) + U16(0) + U16(300) + U16(4) + std::string("\x7f\x00\x00\x4e", 4);
  ASSERT_EQ(sendto(server, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len),
            static_cast<ssize_t>(answer.size()));
  ASSERT_GT(recv(client, buf, sizeof buf, 0), 0);
  close(server);
  close(client);
  // The agent has read the answer (its network counters say so) before the program connects.
  auto learnt = agent->WaitFor(
      [](const json& e) {
        if (e.value("type", "") != "agent_stats") return false;
        for (const json& c : e["data"].value("collectors", json::array()))
          if (c.value("collector", "") == "network" && c.value("counters", json::object()).value("dns_answers", 0) > 0)
            return true;
        return false;
      },
      kWait);
  ASSERT_TRUE(learnt.has_value()) << "the agent did not count the DNS answer; agent log:\n" << agent->Log();

  auto connection =
      ConnectAndAwaitAlert(*agent, "127.0.0.78:" + std::to_string(pool.port()), "miner_pool_domain_connection");
  ASSERT_TRUE(connection.has_value());
  EXPECT_EQ((*connection)["data"].value("remote_host", ""), "xmr-eu1.nanopool.org") << connection->dump();
  EXPECT_EQ((*connection)["data"].value("remote_ip", ""), "127.0.0.78");
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
