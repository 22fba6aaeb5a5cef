#include "agent/core/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace vigil {

void SetUpStderrLogging(std::string_view program, const std::string& level) {
  static bool once = [program] {
    auto logger = spdlog::stderr_color_mt(std::string(program));
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    return true;
  }();
  (void)once;
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace vigil
