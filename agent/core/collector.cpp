#include "agent/core/collector.h"

namespace vigil {

bool CollectorContext::Emit(Event&& e) {
  e.collector = stats.collector();
  e.priority = priority;
  if (e.ts_ms == 0) e.ts_ms = env.clock().NowMs();
  stats.collected.fetch_add(1, std::memory_order_relaxed);
  if (!bus.Push(std::move(e))) {
    stats.Drop("bus_full");
    return false;
  }
  return true;
}

void CollectorContext::Observe(Event&& e) {
  e.collector = stats.collector();
  e.priority = priority;
  e.inspection = Inspection::kOnly;
  if (e.ts_ms == 0) e.ts_ms = env.clock().NowMs();
  if (!bus.Push(std::move(e))) stats.Count("observations_dropped");
}

}  // namespace vigil
