// The peripheral collector on the real kernel (root needed): the uevent source by itself, then
// the whole agent reporting the network interfaces present at start, a veth pair added and
// deleted (veth needs no module), and a synthetic uevent written to sysfs, with netlink and
// with sysfs polling. USB cannot be plugged in here: USB messages are covered by the unit
// tests' recorded-style fixtures.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/platform/uevent_source.h"
#include "schema/schema.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::Reap;
using testing::Spawn;
using namespace std::chrono_literals;

std::string ReadSysfs(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string v = s.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

std::string IpTool() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// Runs `ip args...`; true when it exits 0.
bool Ip(std::vector<std::string> args) {
  const std::string ip = IpTool();
  if (ip.empty()) {
    ADD_FAILURE() << "the ip tool (iproute2) is needed and was not found";
    return false;
  }
  args.insert(args.begin(), ip);
  const pid_t pid = Spawn(args);
  if (pid < 0) return false;
  const int status = Reap(pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A veth pair named for this test process; deleted again by the destructor.
class VethPair {
 public:
  VethPair() : a_("vigilp" + std::to_string(getpid() % 100000) + "a"), b_(a_.substr(0, a_.size() - 1) + "b") {}
  ~VethPair() {
    if (created_) Delete();
  }
  bool Create() {
    created_ = Ip({"link", "add", a_, "type", "veth", "peer", "name", b_});
    return created_;
  }
  bool Delete() {
    created_ = false;
    return Ip({"link", "del", a_});  // deletes the peer too
  }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string a_, b_;
  bool created_ = false;
};

bool IsPeripheral(const json& e, const std::string& action, const std::string& interface) {
  return e.value("type", "") == "peripheral" && e.value("action", "") == action && e.contains("data") &&
         e["data"].value("interface", "") == interface;
}

void ExpectAllValid(AgentProcess& agent) {
  const Result<schema::Schema>& schema = schema::BuiltinSchema();
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  int peripheral = 0;
  for (const json& e : agent.Events()) {
    if (e.value("type", "") == "peripheral") ++peripheral;
    for (const schema::ValidationError& err : schema->Check(e)) ADD_FAILURE() << err.ToString() << "\n" << e.dump();
  }
  EXPECT_GT(peripheral, 0);
}

std::string SourceInStats(AgentProcess& agent) {
  auto stats = agent.WaitFor(
      [](const json& e) {
        if (e.value("type", "") != "agent_stats") return false;
        for (const json& c : e["data"]["collectors"]) {
          if (c.value("collector", "") == "peripheral") return true;
        }
        return false;
      },
      10s);
  if (!stats) return "(no agent_stats)";
  for (const json& c : (*stats)["data"]["collectors"]) {
    if (c.value("collector", "") == "peripheral") return c.value("source", "");
  }
  return "";
}

// --- The kernel source by itself ---------------------------------------------------------

TEST(UeventSourceIntegration, DeliversASyntheticUeventAndWakesOnInterrupt) {
  auto src = OpenKernelUeventSource(KernelUeventSourceOptions{});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->name(), "netlink");
  {
    std::ofstream trigger("/sys/class/net/lo/uevent");
    trigger << "change";
  }
  std::vector<std::string> got;
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    uint64_t overruns = 0;
    ASSERT_TRUE((*src)->Read(200, &got, &overruns).ok());
    for (const std::string& m : got) {
      if (m.starts_with(std::string("change@/devices/virtual/net/lo") + '\0')) seen = true;
    }
  }
  EXPECT_TRUE(seen) << "no change@/devices/virtual/net/lo uevent after writing to /sys/class/net/lo/uevent";

  // Interrupt wakes a Read that would wait 30 s (a stray uevent may end it sooner; either way
  // it must return well before its timeout).
  std::thread reader([&] {
    std::vector<std::string> out;
    uint64_t overruns = 0;
    EXPECT_TRUE((*src)->Read(30'000, &out, &overruns).ok());
  });
  std::this_thread::sleep_for(100ms);
  const auto before = std::chrono::steady_clock::now();
  (*src)->Interrupt();
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
}

// --- The agent ----------------------------------------------------------------------------

TEST(PeripheralIntegration, InventoryThenVethAddedAndRemovedThenSyntheticUevent) {
  // Other tests add and remove interfaces meanwhile: the inventory must hold those there
  // before the agent started and still there after it (one added since is an add event).
  std::set<std::string> before;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) before.insert(entry.path().filename());
  auto agent = AgentProcess::Start("peripheral:\n  priority: high\n  mode: netlink\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);

  // Inventory: every interface in /sys/class/net, loopback included.
  auto lo = agent->WaitFor([](const json& e) { return IsPeripheral(e, "present", "lo"); }, 20s);
  ASSERT_TRUE(lo.has_value()) << "no present event for lo; agent log:\n" << agent->Log();
  EXPECT_EQ((*lo)["data"].value("devpath", ""), "/devices/virtual/net/lo");
  EXPECT_EQ((*lo)["data"].value("subsystem", ""), "net");
  EXPECT_EQ((*lo)["data"].value("virtual", false), true);
  EXPECT_EQ((*lo)["priority"], "high");
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    const std::string name = entry.path().filename();
    if (!before.count(name)) continue;
    EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsPeripheral(e, "present", name); }, 5s))
        << "no present event for " << name;
  }

  // A veth pair: both ends appear, with the MAC sysfs shows, and go.
  VethPair veth;
  ASSERT_TRUE(veth.Create()) << "ip link add ... type veth failed";
  for (const std::string& name : {veth.a(), veth.b()}) {
    auto add = agent->WaitFor([&](const json& e) { return IsPeripheral(e, "add", name); }, 10s);
    ASSERT_TRUE(add.has_value()) << "no add event for " << name << "; agent log:\n" << agent->Log();
    const json& d = (*add)["data"];
    EXPECT_EQ(d.value("devpath", ""), "/devices/virtual/net/" + name);
    EXPECT_EQ(d.value("virtual", false), true);
    EXPECT_EQ(d.value("ifindex", -1), std::stoi(ReadSysfs("/sys/class/net/" + name + "/ifindex")));
    EXPECT_EQ(d.value("mac", ""), ReadSysfs("/sys/class/net/" + name + "/address"));
    EXPECT_FALSE(d.contains("synthetic"));
  }
  const auto add_a = agent->WaitFor([&](const json& e) { return IsPeripheral(e, "add", veth.a()); }, 1s);
  ASSERT_TRUE(veth.Delete()) << "ip link del failed";
  for (const std::string& name : {veth.a(), veth.b()}) {
    auto rm = agent->WaitFor([&](const json& e) { return IsPeripheral(e, "remove", name); }, 10s);
    ASSERT_TRUE(rm.has_value()) << "no remove event for " << name << "; agent log:\n" << agent->Log();
    if (name == veth.a() && add_a) {
      EXPECT_EQ((*rm)["data"].value("mac", "x"), (*add_a)["data"].value("mac", "y"));  // remembered from the add
    }
  }

  // `echo add > /sys/class/net/lo/uevent`: a synthetic uevent, marked so.
  {
    std::ofstream trigger("/sys/class/net/lo/uevent");
    trigger << "add";
  }
  auto synth = agent->WaitFor([](const json& e) { return IsPeripheral(e, "add", "lo"); }, 10s);
  ASSERT_TRUE(synth.has_value()) << "no add event for the synthetic uevent; agent log:\n" << agent->Log();
  EXPECT_EQ((*synth)["data"].value("synthetic", false), true);

  EXPECT_EQ(SourceInStats(*agent), "netlink");
  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  ExpectAllValid(*agent);
}

TEST(PeripheralIntegration, PollModeSeesAVethPairComeAndGo) {
  auto agent =
      AgentProcess::Start("peripheral:\n  priority: high\n  mode: poll\n  poll_interval: 1s\nstats:\n  interval: 1s\n");
  ASSERT_NE(agent, nullptr);
  ASSERT_TRUE(agent->WaitFor([](const json& e) { return IsPeripheral(e, "present", "lo"); }, 20s))
      << "no inventory; agent log:\n"
      << agent->Log();
  VethPair veth;
  ASSERT_TRUE(veth.Create()) << "ip link add ... type veth failed";
  EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsPeripheral(e, "add", veth.a()); }, 10s))
      << "no add event for " << veth.a() << "; agent log:\n"
      << agent->Log();
  ASSERT_TRUE(veth.Delete()) << "ip link del failed";
  EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsPeripheral(e, "remove", veth.a()); }, 10s))
      << "no remove event for " << veth.a() << "; agent log:\n"
      << agent->Log();
  EXPECT_EQ(SourceInStats(*agent), "poll");
  agent->Stop(SIGTERM);
  ExpectAllValid(*agent);
}

}  // namespace
}  // namespace vigil
