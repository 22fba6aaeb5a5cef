// The agent's persistent state in its state dir (default /var/lib/vigil): the device id and
// the event sequence counter.
//
// Device id: `agent.device_id` from the config, else /etc/machine-id, else a random id
// generated once and kept in <state_dir>/device-id. It must be 1-64 characters of
// [A-Za-z0-9._-], because it names MQTT topics.
//
// Sequence counter, <state_dir>/seq, one line, replaced atomically:
//   "reserved N"   while running: numbers below N may have been used
//   "next N"       after a clean stop: N is the next number
// The counter reserves blocks of numbers ahead (one file write per block, not per event).
// After a crash it resumes at the reserved bound, so a number is never used twice; the
// numbers skipped are a gap the hub sees, and a crash is exactly when events may be lost.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "agent/core/status.h"
#include "agent/platform/env.h"

namespace vigil {

bool IsValidDeviceId(std::string_view id);

// Resolves the device id as described above, creating <state_dir>/device-id if needed.
Result<std::string> ResolveDeviceId(Env& env, const std::string& configured, const std::string& state_dir);

class SequenceCounter {
 public:
  // Reads <state_dir>/seq (absent: starts at 1). A malformed file is Corruption, naming it.
  static Result<std::unique_ptr<SequenceCounter>> Open(Env& env, const std::string& state_dir,
                                                       uint64_t block = 4096);
  // The next number. Thread-safe. If the reservation cannot be written, numbers are still
  // handed out (the failure is returned by last_error() and logged by the caller).
  uint64_t Next();
  uint64_t peek() const;
  Status last_error() const;
  // Records the exact next number (clean stop).
  Status Close();

 private:
  SequenceCounter(Env& env, std::string path, uint64_t next, uint64_t block)
      : env_(env), path_(std::move(path)), next_(next), reserved_(next), block_(block) {}
  Env& env_;
  const std::string path_;
  mutable std::mutex mu_;
  uint64_t next_;
  uint64_t reserved_;
  const uint64_t block_;
  Status last_error_;
};

}  // namespace vigil
