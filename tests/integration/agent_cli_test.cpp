// The agent binary as a user runs it: CLI, configuration errors, signals, outputs, state.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/integration/agent_harness.h"

namespace vigil::testing {
namespace {

struct CmdResult {
  int exit_code;
  std::string output;  // stdout and stderr
};

CmdResult RunAgent(const std::string& args) {
  std::string cmd = AgentUnderTest() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool IsType(const nlohmann::json& e, const char* type) { return e.value("type", "") == type; }

TEST(AgentCli, HelpAndVersion) {
  auto help = RunAgent("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("run"), std::string::npos);
  EXPECT_NE(help.output.find("Exit codes"), std::string::npos);
  auto run_help = RunAgent("run --help");
  EXPECT_NE(run_help.output.find("--duration"), std::string::npos);
  auto v = RunAgent("version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.output.find("vigil-agent "), std::string::npos);
  EXPECT_EQ(RunAgent("frobnicate").exit_code, 2);
}

TEST(AgentCli, CheckReportsFileLineAndKeyWithExitCode2) {
  const std::string path = "/tmp/vigil-cli-bad.yml";
  std::ofstream(path) << "agent:\n  log_level: loud\npriorities:\n  medium_intervl: 5s\n";
  auto r = RunAgent("config --check " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path + ":2:14: key 'agent.log_level'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(path + ":4:3: unknown key 'priorities.medium_intervl'"), std::string::npos) << r.output;
  std::remove(path.c_str());
}

TEST(AgentCli, PrintedDefaultsPassCheck) {
  const std::string path = "/tmp/vigil-cli-defaults.yml";
  auto d = RunAgent("config --print-defaults");
  ASSERT_EQ(d.exit_code, 0);
  std::ofstream(path) << d.output;
  auto r = RunAgent("config --check " + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::remove(path.c_str());
}

TEST(AgentCli, InvalidConfigRefusesToRun) {
  auto agent = AgentProcess::Start("priorities:\n  medium_interval: soon\n");
  ASSERT_TRUE(agent);
  // It exits on its own with 2; Stop() only collects the status.
  auto none = agent->WaitFor([](const nlohmann::json&) { return true; }, std::chrono::milliseconds(0));
  EXPECT_FALSE(none);
  int status = agent->Stop(0, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(agent->Log().find("agent.yml:4:20: key 'priorities.medium_interval'"), std::string::npos) << agent->Log();
}

TEST(AgentCli, SigtermFlushesHeldEventsAndExitsWithin2s) {
  // A long medium interval holds aggregated events; SIGTERM must still write them.
  auto agent = AgentProcess::Start("priorities:\n  medium_interval: 1h\n"
                                                   "stats:\n  interval: 1s\n  priority: high\n");
  ASSERT_TRUE(agent);
  ASSERT_TRUE(agent->WaitFor([](auto& e) { return IsType(e, "agent_stats"); }, std::chrono::seconds(10)));
  auto t0 = std::chrono::steady_clock::now();
  int status = agent->Stop(SIGTERM, std::chrono::seconds(5));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(WIFEXITED(status)) << agent->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, std::chrono::seconds(2));
  std::ifstream seq(agent->dir() + "/state/seq");
  std::string word;
  seq >> word;
  EXPECT_EQ(word, "next") << "a clean stop records the exact next sequence number";
}

TEST(AgentCli, SequenceContinuesAcrossRestarts) {
  const std::string cfg = "stats:\n  interval: 1s\n  priority: high\n";
  auto first = AgentProcess::Start(cfg);
  ASSERT_TRUE(first);
  auto e1 = first->WaitFor([](auto& e) { return IsType(e, "agent_stats"); }, std::chrono::seconds(10));
  ASSERT_TRUE(e1);
  first->Stop(SIGTERM);
  uint64_t max_seq = 0;
  for (auto& e : first->Events()) max_seq = std::max<uint64_t>(max_seq, e["seq"]);
  // Second run: the first one's state dir (--set overrides the file), a new output file.
  auto third = AgentProcess::Start(cfg, {"--set", "agent.state_dir=" + first->dir() + "/state"});
  ASSERT_TRUE(third);
  auto e3 = third->WaitFor([](auto& e) { return IsType(e, "agent_stats"); }, std::chrono::seconds(10));
  ASSERT_TRUE(e3);
  third->Stop(SIGTERM);
  uint64_t min_seq = UINT64_MAX;
  for (auto& e : third->Events()) min_seq = std::min<uint64_t>(min_seq, e["seq"]);
  EXPECT_EQ(min_seq, max_seq + 1);
  EXPECT_EQ((*e3)["device"], (*e1)["device"]);
}

TEST(AgentCli, SighupReloadsAValidConfigAndRefusesAnInvalidOne) {
  auto agent = AgentProcess::Start("stats:\n  interval: 1s\n  priority: high\n");
  ASSERT_TRUE(agent);
  ASSERT_TRUE(agent->WaitFor([](auto& e) { return IsType(e, "agent_stats"); }, std::chrono::seconds(10)));
  const std::string cfg_path = agent->dir() + "/agent.yml";
  // Invalid: refused, and the running configuration stays.
  std::ofstream(cfg_path, std::ios::app) << "bogus_section:\n  x: 1\n";
  agent->Signal(SIGHUP);
  ASSERT_TRUE(agent->WaitForLog("reload refused", std::chrono::seconds(10))) << agent->Log();
  EXPECT_NE(agent->Log().find("unknown section 'bogus_section'"), std::string::npos) << agent->Log();
  // Valid: agent_stats now come at low priority.
  std::ofstream(cfg_path) << "agent:\n  state_dir: " << agent->dir() << "/state\nstats:\n  interval: 1s\n  priority: low\n";
  agent->Signal(SIGHUP);
  ASSERT_TRUE(agent->WaitFor([](auto& e) { return IsType(e, "agent_stats") && e["priority"] == "low"; },
                             std::chrono::seconds(10)))
      << agent->Log();
  EXPECT_NE(agent->Log().find("configuration reloaded"), std::string::npos);
  int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(AgentCli, DurationStopsTheAgent) {
  auto agent = AgentProcess::Start("", {"--duration", "0.5"});
  ASSERT_TRUE(agent);
  int status = agent->Stop(0, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace vigil::testing
