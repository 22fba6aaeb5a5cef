// The real agent reports this machine: its system_info snapshot must agree with what the
// kernel says directly, and heartbeats keep coming.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using namespace std::chrono_literals;

std::string ReadSysfs(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string v = s.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

TEST(SystemInfoIntegration, SnapshotDescribesThisMachine) {
  auto agent = AgentProcess::Start("");
  ASSERT_NE(agent, nullptr);
  const auto ev = agent->WaitFor([](const json& e) { return e.value("type", "") == "system_info"; }, 20s);
  ASSERT_TRUE(ev.has_value()) << "no system_info event; agent log:\n" << agent->Log();

  EXPECT_EQ((*ev)["action"], "snapshot");
  EXPECT_EQ((*ev)["priority"], "low");
  const json& d = (*ev)["data"];

  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(d.value("hostname", ""), std::string(host));

  struct utsname u {};
  ASSERT_EQ(uname(&u), 0);
  ASSERT_TRUE(d.contains("kernel")) << d.dump();
  EXPECT_EQ(d["kernel"].value("release", ""), std::string(u.release));
  EXPECT_EQ(d["kernel"].value("version", ""), std::string(u.version));
  EXPECT_EQ(d.value("architecture", ""), std::string(u.machine));

  // Every interface with a MAC reports the one sysfs shows, and there is at least one.
  ASSERT_TRUE(d.contains("nics")) << d.dump();
  int with_mac = 0;
  for (const json& nic : d["nics"]) {
    if (!nic.contains("mac")) continue;
    ++with_mac;
    const std::string name = nic["name"];
    EXPECT_EQ(nic["mac"], ReadSysfs("/sys/class/net/" + name + "/address")) << name;
  }
  EXPECT_GE(with_mac, 1) << d["nics"].dump();

  // /proc is always there, so these parts must be too.
  ASSERT_TRUE(d.contains("cpu")) << d.dump();
  EXPECT_GE(d["cpu"].value("count", 0), 1);
  EXPECT_EQ(d["cpu"].value("count", 0), static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_EQ(d.value("memory_total_bytes", uint64_t{0}),
            static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_GT(d.value("boot_ts", int64_t{0}), 0);
  const int64_t event_ts = (*ev).value("ts", int64_t{0});
  EXPECT_LE(d.value("boot_ts", int64_t{0}), event_ts);
  EXPECT_FALSE(d.value("agent_version", "").empty());
}

TEST(HeartbeatIntegration, BeatsAtStartAndThenEveryInterval) {
  auto agent = AgentProcess::Start("heartbeat:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  const auto first = agent->WaitFor([](const json& e) { return e.value("type", "") == "heartbeat"; }, 20s);
  ASSERT_TRUE(first.has_value()) << "no heartbeat; agent log:\n" << agent->Log();
  EXPECT_EQ((*first)["priority"], "high");
  // The first beat is sent when the agent starts.
  EXPECT_LE((*first)["data"].value("uptime_s", 99), 2);

  // The next beat: a later event (on a slow machine the first one may already say 1 s).
  const uint64_t first_seq = first->value("seq", uint64_t{0});
  const auto later = agent->WaitFor(
      [&](const json& e) { return e.value("type", "") == "heartbeat" && e.value("seq", uint64_t{0}) > first_seq; },
      20s);
  ASSERT_TRUE(later.has_value()) << "no second heartbeat; agent log:\n" << agent->Log();
  // Beats keep to their schedule (start + n intervals), so a late first one is followed sooner.
  EXPECT_GE((*later)["data"].value("uptime_s", 0), std::max(1, (*first)["data"].value("uptime_s", 0)));
}

}  // namespace
}  // namespace vigil
