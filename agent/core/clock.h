// Clock: the agent's only source of time, so tests can drive time by hand.
#pragma once

#include <cstdint>

namespace vigil {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, UTC, in milliseconds since the Unix epoch. May jump.
  virtual int64_t NowMs() = 0;
  // Monotonic milliseconds from an arbitrary origin; never goes back. Used for intervals.
  virtual int64_t MonotonicMs() = 0;
};

}  // namespace vigil
