// The agent's persistent state in its state dir (default /var/lib/vigil): the device id and
// the event sequence counter.
//
// Device id: `agent.device_id` from the config, else /etc/machine-id, else a random id
// generated once and kept in <state_dir>/device-id. It must be 1-64 characters of
// [A-Za-z0-9._-], because it names MQTT topics.
//
// Sequence counter, <state_dir>/seq, one line, replaced atomically:
//   "reserved N"          while running: numbers below N may have been used
//   "reserved N from M"   the same, written when the output keeps every number it was given
//                         (the spool): M is where the previous block began, so [M, N) holds
//                         at least one whole block before the numbers in use
//   "next N"              after a clean stop: N is the next number
// The counter reserves blocks of numbers ahead (one file write per block, not per event).
// After a crash it resumes at the reserved bound, so a number is never used twice; the
// numbers skipped are a gap the hub sees. When every event goes through the spool, the
// spool knows the last number written, and ResumeAfterCrash closes that gap (see there).
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
  // Before the first Next: the output keeps every number handed out (the spool), so the
  // reservations name their start and a later run may use ResumeAfterCrash.
  void SetTrackedByOutput() { tracked_ = true; }
  // True when the file said "reserved": the last run did not stop cleanly.
  bool crashed() const { return crashed_; }
  // After a crash, resumes at last_used + 1 instead of the reserved bound, when last_used is
  // the last number of the crashed run that anything outside the agent may have seen (the
  // spool's: only records in the spool are sent). Refused (false) unless the crashed run wrote
  // "reserved N from M" (its output was the spool too) and last_used + 1 lies in [M, N).
  bool ResumeAfterCrash(uint64_t last_used);
  Status last_error() const;
  // Records the exact next number (clean stop).
  Status Close();

 private:
  SequenceCounter(Env& env, std::string path, uint64_t next, uint64_t block)
      : env_(env), path_(std::move(path)), next_(next), reserved_(next), block_(block) {
    block_start_ = next;
  }
  bool crashed_ = false;
  uint64_t reserved_from_ = 0;  // M of "reserved N from M" read at Open; 0 when unknown
  bool tracked_ = false;
  uint64_t block_start_ = 0;    // where the current reservation began
  Env& env_;
  const std::string path_;
  mutable std::mutex mu_;
  uint64_t next_;
  uint64_t reserved_;
  const uint64_t block_;
  Status last_error_;
};

}  // namespace vigil
