// The firewall collector on the real kernel (root needed): an nftables table of the test's
// own, made and changed with nft, seen as `changed` events through netlink notifications;
// traffic through a counter does not change the digest; legacy iptables tables, in a private
// network namespace, seen by the periodic read. Every event is checked against the schema.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

// The absolute path of a tool, or "" (the caller fails the test, naming it).
std::string FindTool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    const std::string p = std::string(dir) + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs a tool to completion; returns its exit status (0 when it succeeded).
int RunTool(const std::vector<std::string>& args) {
  const pid_t pid = Spawn(args);
  if (pid < 0) return -1;
  const int status = Reap(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// A command's standard output (popen: test-only, fixed command lines).
std::string Output(const std::string& command) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  pclose(f);
  return out;
}

bool IsFirewall(const json& e, const char* action) {
  return e.value("type", "") == "firewall" && e.value("action", "") == action && e.contains("data");
}

// The entry of list `key` in a `changes` object naming `table` and `chain` (null if none).
json FindChange(const json& e, const char* key, const std::string& table, const std::string& chain) {
  const json& changes = e["data"]["changes"];
  if (!changes.contains(key)) return nullptr;
  for (const json& c : changes[key])
    if (c.value("table", "") == table && c.value("chain", "") == chain) return c;
  return nullptr;
}

json HookPolicy(const json& e, const std::string& family, const std::string& hook) {
  for (const json& p : e["data"]["hook_policies"])
    if (p["family"] == family && p["hook"] == hook) return p;
  return nullptr;
}

void ExpectAllValid(const std::vector<json>& events) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  int firewall = 0;
  for (const json& e : events) {
    if (e.value("type", "") == "firewall") ++firewall;
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
  }
  EXPECT_GT(firewall, 0);
}

// --- nftables, in the host's namespace ----------------------------------------------------

class NftablesIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    nft_ = FindTool("nft");
    ASSERT_FALSE(nft_.empty()) << "this test needs nft (Debian package nftables)";
    table_ = "vigiltest" + std::to_string(getpid());
    RunTool({nft_, "delete", "table", "inet", table_});  // a leftover of an earlier run, if any
    char tmpl[] = "/tmp/vigil-fw-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    if (!nft_.empty()) RunTool({nft_, "delete", "table", "inet", table_});  // also after a failure
    if (!dir_.empty()) RunTool({"/bin/rm", "-rf", dir_});
  }

  // Applies `script` in one nft transaction.
  int Apply(const std::string& script) {
    const std::string path = dir_ + "/rules.nft";
    std::ofstream(path) << script;
    return RunTool({nft_, "-f", path});
  }

  std::string nft_;
  std::string table_;
  std::string dir_;
};

TEST_F(NftablesIntegration, TableChainRuleAndPolicyChangesAreReportedCountersAreNot) {
  auto agent = AgentProcess::Start("");
  ASSERT_NE(agent, nullptr);
  auto snapshot = agent->WaitFor([](const json& e) { return IsFirewall(e, "snapshot"); }, 20s);
  ASSERT_TRUE(snapshot) << "no firewall snapshot; agent log:\n" << agent->Log();
  const std::string d0 = (*snapshot)["data"]["digest"];
  ASSERT_EQ((*snapshot)["data"]["backends"][0]["name"], "nftables");
  ASSERT_EQ((*snapshot)["data"]["backends"][0]["available"], true) << snapshot->dump();
  EXPECT_TRUE(agent->Log().find("source netlink") != std::string::npos) << agent->Log();

  // A table with an output chain counting our own UDP packets to one port (no verdict: every
  // packet goes on).
  const int port = 40000 + getpid() % 20000;
  ASSERT_EQ(Apply("table inet " + table_ +
                  " {\n  chain out {\n    type filter hook output priority 0; policy accept;\n"
                  "    ip daddr 127.0.0.1 udp dport " +
                  std::to_string(port) + " counter\n  }\n}\n"),
            0);
  auto added = agent->WaitFor(
      [&](const json& e) {
        return IsFirewall(e, "changed") && !FindChange(e, "chains_added", table_, "out").is_null();
      },
      10s);
  ASSERT_TRUE(added) << "no changed event with the new chain; agent log:\n" << agent->Log();
  json chain = FindChange(*added, "chains_added", table_, "out");
  EXPECT_EQ(chain["backend"], "nftables");
  EXPECT_EQ(chain["family"], "inet");
  EXPECT_EQ(chain["hook"], "output");
  EXPECT_EQ(chain["type"], "filter");
  EXPECT_EQ(chain["priority"], 0);
  EXPECT_EQ(chain["policy"], "accept");
  EXPECT_EQ(chain["rules"], 1);
  const std::string d1 = (*added)["data"]["digest"];
  EXPECT_NE(d1, d0);
  EXPECT_EQ((*added)["data"]["previous_digest"], d0);
  bool table_listed = false;
  for (const json& t : (*added)["data"]["changes"]["tables_added"]) table_listed |= t["table"] == table_;
  EXPECT_TRUE(table_listed) << added->dump();
  EXPECT_GE(HookPolicy(*added, "ip", "output")["chains"].get<int>(), 1);

  // Traffic through the counter: the kernel counts it, the digest must not change.
  const int sock = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sendto(sock, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 1);
  close(sock);
  const json listing = json::parse(Output(nft_ + " -j list chain inet " + table_ + " out"), nullptr, false);
  int64_t packets = -1;
  if (!listing.is_discarded())
    for (const json& o : listing["nftables"])
      if (o.contains("rule"))
        for (const json& x : o["rule"]["expr"])
          if (x.contains("counter") && x["counter"].is_object()) packets = x["counter"]["packets"];
  ASSERT_GE(packets, 5) << "the counter did not count our packets: " << listing.dump();

  // Another change makes the agent read again: the counted chain is not reported changed.
  ASSERT_EQ(RunTool({nft_, "add", "chain", "inet", table_, "extra"}), 0);
  auto extra = agent->WaitFor(
      [&](const json& e) {
        return IsFirewall(e, "changed") && !FindChange(e, "chains_added", table_, "extra").is_null();
      },
      10s);
  ASSERT_TRUE(extra) << "no changed event with the regular chain; agent log:\n" << agent->Log();
  EXPECT_TRUE(FindChange(*extra, "chains_changed", table_, "out").is_null()) << extra->dump();
  EXPECT_FALSE(FindChange(*extra, "chains_added", table_, "extra").contains("hook"));
  ASSERT_EQ(RunTool({nft_, "delete", "chain", "inet", table_, "extra"}), 0);
  auto removed = agent->WaitFor(
      [&](const json& e) {
        return IsFirewall(e, "changed") && !FindChange(e, "chains_removed", table_, "extra").is_null();
      },
      10s);
  ASSERT_TRUE(removed) << "no changed event for the removed chain; agent log:\n" << agent->Log();
  EXPECT_EQ((*removed)["data"]["digest"], d1)
      << "same rules as before the traffic, so the same digest (unless another program changed nftables meanwhile)";

  // Policy drop, safely: in one transaction an accept rule first, so no packet meets the policy.
  ASSERT_EQ(Apply("add rule inet " + table_ + " out accept\n" + "add chain inet " + table_ +
                  " out { type filter hook output priority 0; policy drop; }\n"),
            0);
  auto policy = agent->WaitFor(
      [&](const json& e) {
        return IsFirewall(e, "changed") && !FindChange(e, "chains_changed", table_, "out").is_null();
      },
      10s);
  ASSERT_TRUE(policy) << "no changed event for the policy; agent log:\n" << agent->Log();
  json changed = FindChange(*policy, "chains_changed", table_, "out");
  EXPECT_EQ(changed["policy"], "drop");
  EXPECT_EQ(changed["previous_policy"], "accept");
  EXPECT_EQ(changed["rules"], 2);
  EXPECT_EQ(changed["previous_rules"], 1);
  EXPECT_EQ(HookPolicy(*policy, "ip", "output")["policy"], "drop");
  EXPECT_EQ(HookPolicy(*policy, "ip6", "output")["policy"], "drop");  // inet covers both

  ASSERT_EQ(RunTool({nft_, "delete", "table", "inet", table_}), 0);
  auto gone = agent->WaitFor(
      [&](const json& e) {
        if (!IsFirewall(e, "changed") || !e["data"]["changes"].contains("tables_removed")) return false;
        for (const json& t : e["data"]["changes"]["tables_removed"])
          if (t["table"] == table_) return true;
        return false;
      },
      10s);
  ASSERT_TRUE(gone) << "no changed event for the removed table; agent log:\n" << agent->Log();
  EXPECT_EQ((*gone)["data"]["digest"], d0) << "back to the first ruleset, so the first digest";

  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent->Log();
  ExpectAllValid(agent->Events());
}

// --- legacy iptables, in a private network namespace ---------------------------------------

TEST(LegacyIptablesIntegration, LegacyTablesAreReadEveryInterval) {
  const std::string unshare = FindTool("unshare");
  const std::string nsenter = FindTool("nsenter");
  const std::string iptables = FindTool("iptables-legacy");
  ASSERT_FALSE(unshare.empty() || nsenter.empty()) << "this test needs unshare and nsenter (util-linux)";
  ASSERT_FALSE(iptables.empty()) << "this test needs iptables-legacy (Debian package iptables)";

  // The agent runs in a network namespace of its own: legacy tables made there leave the
  // host's firewall alone, and vanish with it.
  char tmpl[] = "/tmp/vigil-fwns-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string wrapper = dir + "/agent-in-netns";
  std::ofstream(wrapper) << "#!/bin/sh\nexec " << unshare << " --net " << VIGIL_AGENT_BIN << " \"$@\"\n";
  ASSERT_EQ(chmod(wrapper.c_str(), 0755), 0);

  AgentProcess::Options options;
  options.binary = wrapper;
  options.config_yaml = "firewall:\n  interval: 1s\n";
  auto agent = AgentProcess::Start(options);
  ASSERT_NE(agent, nullptr);
  auto snapshot = agent->WaitFor([](const json& e) { return IsFirewall(e, "snapshot"); }, 20s);
  ASSERT_TRUE(snapshot) << "no firewall snapshot; agent log:\n" << agent->Log();
  ASSERT_EQ((*snapshot)["data"]["backends"].size(), 1u)
      << "a new namespace holds no legacy tables: " << snapshot->dump();
  EXPECT_EQ((*snapshot)["data"]["table_count"], 0);

  const std::string netns = "--net=/proc/" + std::to_string(agent->pid()) + "/ns/net";
  ASSERT_EQ(RunTool({nsenter, netns, iptables, "-N", "VIGILTEST"}), 0);
  ASSERT_EQ(RunTool({nsenter, netns, iptables, "-A", "VIGILTEST", "-s", "192.0.2.0/24", "-j", "RETURN"}), 0);
  ASSERT_EQ(RunTool({nsenter, netns, iptables, "-P", "FORWARD", "DROP"}), 0);
  auto changed = agent->WaitFor(
      [](const json& e) {
        return IsFirewall(e, "changed") && !FindChange(e, "chains_added", "filter", "VIGILTEST").is_null() &&
               e["data"]["backends"].size() == 2 && HookPolicy(e, "ip", "forward")["policy"] == "drop";
      },
      15s);
  ASSERT_TRUE(changed) << "no changed event with the legacy chain; agent log:\n" << agent->Log();
  json legacy = (*changed)["data"]["backends"][1];
  EXPECT_EQ(legacy["name"], "iptables-legacy");
  EXPECT_EQ(legacy["available"], true);
  json chain = FindChange(*changed, "chains_added", "filter", "VIGILTEST");
  EXPECT_EQ(chain["backend"], "iptables-legacy");
  EXPECT_EQ(chain["family"], "ip");
  EXPECT_EQ(chain["rules"], 1);
  EXPECT_FALSE(chain.contains("hook"));
  bool forward = false;
  for (const json& c : (*changed)["data"]["chains"])
    if (c["backend"] == "iptables-legacy" && c["chain"] == "FORWARD") forward = c["policy"] == "drop";
  EXPECT_TRUE(forward) << changed->dump();

  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent->Log();
  ExpectAllValid(agent->Events());
  RunTool({"/bin/rm", "-rf", dir});
}

}  // namespace
}  // namespace vigil
