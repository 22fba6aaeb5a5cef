// AgentProcess: runs the real vigil-agent binary for an integration test and reads the
// events it writes.
//
// Each instance gets a fresh temporary directory holding the config, the state dir and the
// JSON Lines output; the agent is started with `run --config <dir>/agent.yml --output
// jsonl:<dir>/events.jsonl`. WaitFor wakes on inotify writes to the output file, so tests
// wait for events, not for time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil::testing {

// The agent binary the tests run: $VIGIL_AGENT_UNDER_TEST when set (`make test` runs the
// process tests against the minimal build this way), else this build's (VIGIL_AGENT_BIN).
std::string AgentUnderTest();

class AgentProcess {
 public:
  struct Options {
    std::string config_yaml;               // appended after the harness's own agent: section
    std::vector<std::string> extra_args;   // after the run subcommand's own arguments
    std::string binary;                    // default: AgentUnderTest()
    std::string output;                    // --output; default: jsonl:<dir>/events.jsonl
    std::string dir;                       // reuse this directory (state survives a restart);
                                           // default: a fresh one, removed at the end
  };

  // Starts the agent; fails the current test (ADD_FAILURE) and returns nullptr on error.
  static std::unique_ptr<AgentProcess> Start(Options options);
  static std::unique_ptr<AgentProcess> Start(std::string config_yaml, std::vector<std::string> extra_args = {}) {
    Options o;
    o.config_yaml = std::move(config_yaml);
    o.extra_args = std::move(extra_args);
    return Start(std::move(o));
  }
  ~AgentProcess();

  // Waits until an event for which pred returns true has been written, or the timeout.
  std::optional<nlohmann::json> WaitFor(const std::function<bool(const nlohmann::json&)>& pred,
                                        std::chrono::milliseconds timeout);
  // Every event written so far.
  std::vector<nlohmann::json> Events();

  // Sends a signal and waits for exit; returns the exit status (or -1 on timeout, after SIGKILL).
  int Stop(int signal_number, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void Signal(int signal_number);
  // The agent's stderr so far (its log).
  std::string Log();
  // Waits until the log contains `needle` (checked every 20 ms), or the timeout.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout);

  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string output_path() const { return dir_ + "/events.jsonl"; }

 private:
  AgentProcess() = default;
  void ReadNewLines();

  pid_t pid_ = -1;
  std::string dir_;
  bool owns_dir_ = true;
  int inotify_fd_ = -1;
  size_t read_offset_ = 0;
  std::string partial_line_;
  std::vector<nlohmann::json> events_;
};

// Stops the agent with SIGTERM, expects a clean exit (status 0), and checks every event it
// wrote against the schema (schema/events.yml), each problem a test failure.
void StopAndValidate(AgentProcess& agent);

// A temporary directory (mode 0755), removed at the end unless the test failed.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "/tmp/vigil-it-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Starts args[0] with args as a direct child of the calling test (posix_spawn, no shell);
// returns its pid, or -1 after failing the test.
pid_t Spawn(const std::vector<std::string>& args);
// Waits for a child started by Spawn; returns its wait status (the test fails if it cannot).
int Reap(pid_t pid);

// A command line run through the shell (popen): its exit code (128 when it did not exit
// normally, -1 when it could not start) and its standard output (stderr as the command line
// redirects it, else the test's log).
struct ShellRun {
  int exit_code = -1;
  std::string out;
};
ShellRun Shell(const std::string& cmd);

}  // namespace vigil::testing
