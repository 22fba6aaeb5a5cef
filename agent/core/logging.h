// The programs' own log: one line per message on stderr, UTC timestamps, the level coloured on
// a terminal. Called by vigil-agent and vigil-hub before anything logs; later calls only
// change the level ("trace", "debug", "info", "warn", "error").
#pragma once

#include <string>
#include <string_view>

namespace vigil {

void SetUpStderrLogging(std::string_view program, const std::string& level);

}  // namespace vigil
