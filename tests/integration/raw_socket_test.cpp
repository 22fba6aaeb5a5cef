// Raw IP and packet sockets on the real kernel (root needed): the RawSocketTable by itself,
// then the whole agent's `network` / `raw_socket` events. The test opens the sockets itself
// (a raw ICMP socket, as ping does, and an ARP packet socket, as a DHCP client does), so
// every event must name this process. Every event the agent wrote is validated against the
// schema.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/platform/env.h"
#include "agent/platform/raw_socket_table.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using namespace std::chrono_literals;

// A socket of the test, closed at the end, and its inode.
struct OwnSocket {
  OwnSocket(int domain, int type, int protocol) : fd(socket(domain, type | SOCK_CLOEXEC, protocol)) {
    struct stat st {};
    if (fd >= 0 && fstat(fd, &st) == 0) inode = st.st_ino;
  }
  ~OwnSocket() {
    if (fd >= 0) close(fd);
  }
  OwnSocket(const OwnSocket&) = delete;
  OwnSocket& operator=(const OwnSocket&) = delete;
  int fd;
  uint64_t inode = 0;
};

TEST(RawSocketTableIntegration, ListsARawIcmpAndAPacketSocketOfThisProcess) {
  std::unique_ptr<Env> env = NewPlatformEnv();
  auto table = OpenRawSocketTable(*env);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  OwnSocket icmp(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  OwnSocket tcp6(AF_INET6, SOCK_RAW, IPPROTO_TCP);
  OwnSocket arp(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
  ASSERT_GE(icmp.fd, 0) << std::strerror(errno);
  ASSERT_GE(tcp6.fd, 0) << std::strerror(errno);
  ASSERT_GE(arp.fd, 0) << std::strerror(errno);

  std::vector<RawSocketInfo> sockets;
  ASSERT_TRUE((*table)->Dump(&sockets).ok());
  auto find = [&](uint64_t inode) {
    return std::find_if(sockets.begin(), sockets.end(), [&](const RawSocketInfo& s) { return s.inode == inode; });
  };
  auto a = find(icmp.inode);
  ASSERT_NE(a, sockets.end()) << "raw ICMP socket not listed; source " << (*table)->source();
  EXPECT_EQ(a->family, RawSocketInfo::Family::kIpv4);
  EXPECT_EQ(a->type, RawSocketInfo::Type::kRaw);
  EXPECT_EQ(a->protocol, IPPROTO_ICMP);
  EXPECT_EQ(a->uid, static_cast<int64_t>(getuid()));
  auto b = find(tcp6.inode);
  ASSERT_NE(b, sockets.end()) << "raw IPv6 TCP socket not listed";
  EXPECT_EQ(b->family, RawSocketInfo::Family::kIpv6);
  EXPECT_EQ(b->protocol, IPPROTO_TCP);
  auto c = find(arp.inode);
  ASSERT_NE(c, sockets.end()) << "packet socket not listed; source " << (*table)->source();
  EXPECT_EQ(c->family, RawSocketInfo::Family::kPacket);
  EXPECT_EQ(c->type, RawSocketInfo::Type::kDgram);
  EXPECT_EQ(c->protocol, ETH_P_ARP);
  EXPECT_EQ(c->uid, static_cast<int64_t>(getuid()));
}

TEST(RawSocketAgent, ReportsTheRawAndPacketSocketsOfThisProcessOnce) {
  auto agent = AgentProcess::Start("network:\n  priority: high\n  mode: sock_diag\n  raw_socket_interval: 200ms\n");
  ASSERT_NE(agent, nullptr);
  OwnSocket icmp(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  OwnSocket arp(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
  ASSERT_GE(icmp.fd, 0) << std::strerror(errno);
  ASSERT_GE(arp.fd, 0) << std::strerror(errno);
  const std::string self_exe = std::filesystem::read_symlink("/proc/self/exe").string();
  auto ours = [&](const json& e, const std::string& family, int protocol) {
    return e.value("type", "") == "network" && e.value("action", "") == "raw_socket" &&
           e["data"].value("pid", 0) == getpid() && e["data"].value("family", "") == family &&
           e["data"].value("ip_protocol", -1) == protocol;
  };

  auto raw = agent->WaitFor([&](const json& e) { return ours(e, "ipv4", IPPROTO_ICMP); }, 10s);
  ASSERT_TRUE(raw.has_value()) << "no raw_socket event for the ICMP socket; log:\n" << agent->Log();
  const json& d = (*raw)["data"];
  EXPECT_EQ(d.value("exe", ""), self_exe);
  EXPECT_EQ(d.value("comm", ""), std::filesystem::path(self_exe).filename().string().substr(0, 15));
  EXPECT_EQ(d.value("socket_type", ""), "raw");
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(getuid()));
  EXPECT_EQ(d.value("user", ""), "root");
  EXPECT_FALSE(d.contains("local_ip"));
  EXPECT_FALSE(d.contains("partial"));

  auto packet = agent->WaitFor([&](const json& e) { return ours(e, "packet", ETH_P_ARP); }, 10s);
  ASSERT_TRUE(packet.has_value()) << "no raw_socket event for the packet socket; log:\n" << agent->Log();
  EXPECT_EQ((*packet)["data"].value("socket_type", ""), "dgram");
  EXPECT_EQ((*packet)["data"].value("exe", ""), self_exe);

  // A later socket is reported by a later listing; the first ones are not reported again.
  OwnSocket tcp(AF_INET, SOCK_RAW, IPPROTO_TCP);
  ASSERT_GE(tcp.fd, 0) << std::strerror(errno);
  ASSERT_TRUE(agent->WaitFor([&](const json& e) { return ours(e, "ipv4", IPPROTO_TCP); }, 10s).has_value())
      << agent->Log();
  size_t icmp_events = 0;
  for (const json& e : agent->Events())
    if (ours(e, "ipv4", IPPROTO_ICMP)) ++icmp_events;
  EXPECT_EQ(icmp_events, 1u);
  testing::StopAndValidate(*agent);
}

}  // namespace
}  // namespace vigil
