// The vigil-agent command line. Exit codes:
//   0  success
//   1  runtime failure (an output or the state dir cannot be opened, a collector failed)
//   2  usage error or invalid configuration (the message names file, line and key)
#pragma once

namespace vigil {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int RunCli(int argc, char** argv);

}  // namespace vigil
