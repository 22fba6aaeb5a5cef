// The real agent's output conforms to schema/events.yml: run it with short intervals while
// processes start and end, then validate every event it wrote against the schema, and check
// that every type the compiled-in collectors produce was seen.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
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

// The collectors of this build, from CMake: "process,system_info,heartbeat".
std::set<std::string> CompiledCollectors() {
  std::set<std::string> out;
  std::stringstream s(VIGIL_TEST_COLLECTORS);
  for (std::string name; std::getline(s, name, ',');)
    if (!name.empty()) out.insert(name);
  return out;
}

bool IsProcess(const json& e, const char* action, pid_t pid) {
  return e.value("type", "") == "process" && e.value("action", "") == action && e.contains("data") &&
         e["data"].value("pid", -1) == pid;
}

TEST(SchemaIntegration, EveryEventTheAgentWritesMatchesTheSchema) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const schema::Schema& schema = *loaded;

  auto agent = AgentProcess::Start(
      "priorities:\n  medium_interval: 1s\n  low_interval: 1s\n"
      "stats:\n  interval: 1s\n"
      "heartbeat:\n  interval: 1s\n"
      "system_info:\n  interval: 1m\n"  // the shortest allowed; the first snapshot is sent at start
      "posture:\n  first_scan_delay: 0s\n");
  ASSERT_NE(agent, nullptr);

  const std::set<std::string> collectors = CompiledCollectors();
  if (collectors.count("process") > 0) {
    // A process must start after the collector's first look at /proc (polling reports only
    // what is new), so start one until its exec is reported.
    pid_t seen = -1;
    for (int attempt = 0; attempt < 20 && seen < 0; ++attempt) {
      const pid_t child = Spawn({"/bin/sleep", "0.5"});
      ASSERT_GT(child, 0);
      if (agent->WaitFor([&](const json& e) { return IsProcess(e, "exec", child); }, 3s)) seen = child;
      EXPECT_EQ(Reap(child), 0);
      if (seen > 0) {
        EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsProcess(e, "exit", child); }, 10s))
            << "no exit event for pid " << child << "; agent log:\n"
            << agent->Log();
      }
    }
    ASSERT_GT(seen, 0) << "no exec event for any process started; agent log:\n" << agent->Log();

    // More shapes of process events: identical execs (aggregated), a non-zero exit, a kill.
    std::vector<pid_t> children;
    for (int i = 0; i < 3; ++i) children.push_back(Spawn({"/bin/sleep", "0.3"}));
    children.push_back(Spawn({"/bin/sh", "-c", "sleep 0.3; exit 3"}));
    const pid_t victim = Spawn({"/bin/sleep", "30"});
    ASSERT_GT(victim, 0);
    for (pid_t c : children) {
      ASSERT_GT(c, 0);
      Reap(c);
    }
    kill(victim, SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(Reap(victim)));
    EXPECT_TRUE(agent->WaitFor([&](const json& e) { return IsProcess(e, "exit", victim); }, 10s))
        << "no exit event for the killed pid " << victim << "; agent log:\n"
        << agent->Log();
  }

  // Every type the compiled-in collectors (and the agent itself) produce must show up, but
  // those that need an outside happening this test does not cause (a login, a file edit);
  // their own integration tests check their events against the schema.
  // alert: raised only when a rule matches (the detection tests cause them).
  const std::set<std::string> kCausedElsewhere = {"network", "file", "login", "alert"};
  std::set<std::string> expected;
  for (const schema::TypeSpec& t : schema.types()) {
    if (kCausedElsewhere.count(t.name) > 0) continue;
    if (t.collector == "agent" || collectors.count(t.collector) > 0) expected.insert(t.name);
  }
  for (const std::string& type : expected) {
    EXPECT_TRUE(agent->WaitFor([&](const json& e) { return e.value("type", "") == type; }, 20s))
        << "no " << type << " event; agent log:\n"
        << agent->Log();
  }

  const int status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent->Log();

  const std::vector<json> events = agent->Events();
  std::map<std::string, int> by_type;
  for (const json& e : events) {
    const std::vector<schema::ValidationError> errors = schema.Check(e);
    std::string problems;
    for (const schema::ValidationError& err : errors) problems += "\n  " + err.ToString();
    EXPECT_TRUE(errors.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
    ++by_type[e.value("type", "?")];
  }
  for (const std::string& type : expected) EXPECT_GT(by_type[type], 0) << type;
  std::string summary;
  for (const auto& [type, n] : by_type) summary += " " + type + "=" + std::to_string(n);
  RecordProperty("events_by_type", summary);
  EXPECT_GE(events.size(), expected.size());
}

}  // namespace
}  // namespace vigil
