// The agent's configuration schema: the core sections and one section per compiled-in
// collector. This is the single place that decides which keys exist.
#pragma once

#include <span>

#include "agent/core/collector.h"
#include "agent/core/settings.h"

namespace vigil {

ConfigSchema BuildAgentSchema(std::span<const CollectorDescriptor* const> collectors);

// Intervals per priority (high, medium, low) from "priorities.*", in ms.
std::array<int64_t, kPriorityCount> PriorityIntervals(const Config& config);

}  // namespace vigil
