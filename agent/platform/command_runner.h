// CommandRunner: runs a program and captures what it writes on standard output, for posture
// checks that must ask a program (e.g. `sshd -T`) rather than read a file.
//
// No shell is involved: argv[0] is an absolute path executed as is, argv is passed unchanged,
// the environment is reduced to PATH and LC_ALL=C, standard input and standard error are
// /dev/null. The program runs in its own process group, which is killed (SIGKILL) when the
// timeout passes. At most max_output bytes of its standard output are kept; the rest is read
// and dropped, so that a chatty program never blocks on a full pipe.
//
// Implementations: platform/linux/command_runner_linux.cpp (fork/exec), and fakes in tests.
// Run may be called from any thread; each call is independent.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct CommandOutput {
  int exit_code = -1;       // the exit status; 128+N when killed by signal N
  bool timed_out = false;   // killed because the timeout passed (exit_code is then 128+9)
  bool truncated = false;   // the program wrote more than max_output bytes
  std::string out;          // standard output, at most max_output bytes
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Errors: InvalidArgument for an empty argv or a relative argv[0]; NotFound when argv[0]
  // does not exist; IoError when the program cannot be started (pipe, fork, exec).
  virtual Result<CommandOutput> Run(const std::vector<std::string>& argv, int timeout_ms, size_t max_output) = 0;
};

// The real runner of this platform.
std::unique_ptr<CommandRunner> NewPlatformCommandRunner();

}  // namespace vigil
