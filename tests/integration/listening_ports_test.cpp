// The listening_ports collector on the real kernel (root needed): a listener this test opens
// before the agent starts is in the snapshot; one it opens later is reported opened, and
// closed when it closes; each with this process's pid and executable. Every event the agent
// wrote is validated against the schema.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/schema.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using namespace std::chrono_literals;

// A socket of `type` bound to a free port on the loopback address of `family` (listening when
// TCP). Fails the test and returns -1 when it cannot be made.
int BoundSocket(int family, int type, uint16_t* port) {
  const int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return -1;
  }
  sockaddr_storage a{};
  socklen_t len;
  if (family == AF_INET) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(a);
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(v4);
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(a);
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    len = sizeof(v6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || (type == SOCK_STREAM && listen(fd, 4) != 0)) {
    ADD_FAILURE() << "bind/listen on loopback (family " << family << "): " << std::strerror(errno);
    close(fd);
    return -1;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in&>(a).sin_port
                                  : reinterpret_cast<sockaddr_in6&>(a).sin6_port);
  return fd;
}

bool IsPort(const json& d, const std::string& protocol, uint16_t port) {
  return d.value("protocol", "") == protocol && d.value("local_port", 0) == port;
}

void ExpectOurs(const json& d, const std::string& ip, const std::string& family) {
  EXPECT_EQ(d.value("pid", 0), getpid()) << d.dump();
  EXPECT_EQ(d.value("exe", ""), std::filesystem::canonical("/proc/self/exe").string()) << d.dump();
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(geteuid())) << d.dump();
  EXPECT_TRUE(d.contains("user")) << d.dump();
  EXPECT_EQ(d.value("local_ip", ""), ip) << d.dump();
  EXPECT_EQ(d.value("family", ""), family) << d.dump();
  EXPECT_FALSE(d.contains("partial")) << d.dump();
}

std::function<bool(const json&)> Change(const std::string& action, const std::string& protocol, uint16_t port) {
  return [=](const json& e) {
    return e.value("type", "") == "listening_ports" && e.value("action", "") == action && e.contains("data") &&
           IsPort(e["data"], protocol, port);
  };
}

TEST(ListeningPortsIntegration, SnapshotThenOpenedAndClosedPortsOfThisProcess) {
  uint16_t early_port = 0;
  const int early = BoundSocket(AF_INET, SOCK_STREAM, &early_port);
  ASSERT_GE(early, 0);

  auto agent = AgentProcess::Start("listening_ports:\n  priority: high\n  interval: 1s\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  auto snapshot = agent->WaitFor(
      [](const json& e) { return e.value("type", "") == "listening_ports" && e.value("action", "") == "snapshot"; },
      20s);
  ASSERT_TRUE(snapshot.has_value()) << "no snapshot; agent log:\n" << agent->Log();
  bool found = false;
  for (const json& p : (*snapshot)["data"]["ports"]) {
    if (!IsPort(p, "tcp", early_port)) continue;
    found = true;
    ExpectOurs(p, "127.0.0.1", "ipv4");
  }
  EXPECT_TRUE(found) << "port " << early_port << " not in the snapshot: " << snapshot->dump();

  struct Case {
    int family;
    int type;
    std::string protocol, ip, family_name;
  };
  for (const Case& c :
       {Case{AF_INET, SOCK_STREAM, "tcp", "127.0.0.1", "ipv4"}, Case{AF_INET6, SOCK_STREAM, "tcp", "::1", "ipv6"},
        Case{AF_INET, SOCK_DGRAM, "udp", "127.0.0.1", "ipv4"}, Case{AF_INET6, SOCK_DGRAM, "udp", "::1", "ipv6"}}) {
    SCOPED_TRACE(c.protocol + " " + c.family_name);
    uint16_t port = 0;
    const int fd = BoundSocket(c.family, c.type, &port);
    ASSERT_GE(fd, 0);
    auto opened = agent->WaitFor(Change("opened", c.protocol, port), 10s);
    ASSERT_TRUE(opened.has_value()) << "no opened event for port " << port << "; agent log:\n" << agent->Log();
    ExpectOurs((*opened)["data"], c.ip, c.family_name);
    close(fd);
    auto closed = agent->WaitFor(Change("closed", c.protocol, port), 10s);
    ASSERT_TRUE(closed.has_value()) << "no closed event for port " << port << "; agent log:\n" << agent->Log();
    ExpectOurs((*closed)["data"], c.ip, c.family_name);
  }
  close(early);
  EXPECT_TRUE(agent->WaitFor(Change("closed", "tcp", early_port), 10s).has_value());

  // The source in agent_stats, and every event against the schema.
  auto stats = agent->WaitFor(
      [](const json& e) {
        if (e.value("type", "") != "agent_stats") return false;
        for (const json& c : e["data"]["collectors"])
          if (c.value("collector", "") == "listening_ports") return c.value("source", "") == "sock_diag";
        return false;
      },
      10s);
  EXPECT_TRUE(stats.has_value()) << "agent_stats does not say source sock_diag for listening_ports";
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (const json& e : agent->Events()) {
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
  }
}

}  // namespace
}  // namespace vigil
