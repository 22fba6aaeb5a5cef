// PidTable: what the process collector knows of each live process, so that parent fields and
// exit events need no /proc read when the process was seen starting (or at start-up).
//
// Bounded: when `capacity` entries are held, inserting evicts the entry inserted longest ago
// (long-lived processes, which are still in /proc and can be read again when needed).
// A forked child shares its parent's Image (one allocation per exec, none per fork).
//
// Not thread-safe: used by the collector's receive thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "agent/collectors/process/hash_cache.h"

namespace vigil::process {

// A process image as read at exec (or start-up) time.
struct Image {
  std::string exe;          // /proc/PID/exe target; empty when unknown
  std::string comm;         // task name from /proc/PID/stat
  std::string cmdline_raw;  // arguments, NUL separated, trailing NULs trimmed (TrimCmdline)
  std::string cwd;
  bool cmdline_truncated = false;
  bool partial = false;         // the process was gone before it could be read in full
  std::optional<FileKey> file;  // the executable's identity, for the hash cache
  std::string sha256;           // when known at the time the image was read
};

struct ProcEntry {
  int32_t ppid = -1;
  uint32_t uid = 0;
  bool uid_known = false;      // learnt from status or inherited over a fork we saw
  uint32_t epoch = 0;          // the collector's epoch when learnt; stale after a kernel overrun
  bool kernel_thread = false;  // PF_KTHREAD, or a child of kthreadd not yet seen to exec
  // Its executable's deletion is known already (an exe_deleted event, an exec of a deleted
  // file, or a fork of a process for which either was sent): the scan does not report it.
  bool exe_deleted_known = false;
  std::shared_ptr<const Image> image;
};

class PidTable {
 public:
  explicit PidTable(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  ProcEntry* Find(int32_t pid);
  // Creates or replaces the entry of `pid`. Returns true when another entry was evicted.
  bool Put(int32_t pid, ProcEntry entry);
  // Removes and returns the entry of `pid`.
  std::optional<ProcEntry> Take(int32_t pid);
  // Calls fn(pid, entry) for every entry, in no particular order. fn must not Put or Take.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& [pid, slot] : map_) fn(pid, slot.entry);
  }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    ProcEntry entry;
    uint64_t serial;
  };
  void Compact();

  const size_t capacity_;
  uint64_t next_serial_ = 0;
  std::unordered_map<int32_t, Slot> map_;
  std::deque<std::pair<int32_t, uint64_t>> order_;  // (pid, serial), oldest first; may hold stale pairs
};

}  // namespace vigil::process
