// ProcessTracker: turns ProcEvents into "process" events (exec, exit), enriched from /proc
// over Env and from its PidTable. See README.md beside this file for the event fields.
//
// An exec the eBPF source describes in full (ProcEvent::from_kernel: exe, argv, cwd, comm,
// ppid and uid read in the kernel) needs no /proc read but one stat(2) of the executable for
// the hash cache; its fork and exit carry the uid and ppid too. Otherwise:
// Per exec it reads, right away (short processes vanish fast): /proc/PID/exe (readlink),
// cmdline, cwd (readlink) and comm when a fork told the ppid, else stat (comm, ppid, kernel
// thread flag); /proc/PID/status only
// when the real uid is not known from a fork it saw (a child has its parent's uid; uid
// changes come as kUid); one stat(2) of the executable for the hash cache. The parent's exe
// and command line come from the table, or once from /proc when the parent is not in it.
// Exit events need no /proc read when the process is in the table.
//
// A process gone before it could be read still yields an event with what is known (pid, and
// ppid, uid, comm when known), with "partial": true, counted as "partial".
// Kernel threads (PF_KTHREAD) yield no events.
//
// Hashing is not done here: events whose executable is not in the HashCache go to the
// EventSink with a HashJob, and the sink fills data.sha256 before emitting.
//
// Not thread-safe: Seed, Handle and OnOverrun are called from the receive thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "agent/collectors/process/hash_cache.h"
#include "agent/collectors/common/passwd.h"
#include "agent/collectors/process/pid_table.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"
#include "agent/platform/env.h"
#include "agent/platform/process_source.h"

namespace vigil::process {

// How to hash an executable that was not in the cache when its event was built.
struct HashJob {
  FileKey key;                // the file version that ran
  std::string path;           // /proc/PID/exe: the running image itself
  std::string fallback_path;  // the exe path, used if the process is gone and the file unchanged
};

// Where finished events go. Submit is called from the receive thread.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Submit(Event&& e, std::optional<HashJob> job) = 0;
};

struct TrackerOptions {
  uint64_t hash_max_size = 64ull << 20;  // 0 disables hashing
  size_t table_entries = 4096;
  size_t cmdline_max = 4096;  // bytes of /proc/PID/cmdline kept; more sets cmdline_truncated
  std::string proc_root = "/proc";
};

class ProcessTracker {
 public:
  // Everything passed by reference outlives the tracker.
  ProcessTracker(Env& env, CollectorStats& stats, common::UserNames& users, HashCache& hashes, EventSink& sink,
                 TrackerOptions options);

  // Reads every process alive now into the table (up to its capacity), emitting nothing, so
  // that their exits and their children's parent fields are complete.
  void Seed();

  // Handles one notification; `ts_ms` is the wall-clock time it was received.
  void Handle(const ProcEvent& ev, int64_t ts_ms);

  // Reads /proc/PID/exe (readlink) of every user process in the table and emits an
  // `exe_deleted` event for each whose link now ends in the kernel's " (deleted)": its
  // executable was deleted, or replaced by another file, after it started. Once per process:
  // not for a process whose exec already showed the suffix, nor for a forked child of a
  // process already reported (same image). Processes not in the table (evicted) are not seen.
  void ScanDeletedExes(int64_t ts_ms);

  // The source lost notifications: uids learnt from forks are no longer trusted.
  void OnOverrun() { ++epoch_; }

  const PidTable& table() const { return table_; }

 private:
  struct Snapshot {
    std::shared_ptr<Image> image;
    int32_t ppid = -1;
    bool alive = false;  // stat (or comm) could be read: the task still exists
    bool kernel_thread = false;
    std::optional<uint32_t> ruid;  // from status, when it was read
  };

  void HandleFork(const ProcEvent& ev);
  void HandleExec(const ProcEvent& ev, int64_t ts_ms);
  // The image of an exec the kernel described in full (ProcEvent::from_kernel): no /proc read.
  static std::shared_ptr<Image> ImageFromKernel(const ProcEvent& ev);
  // Hashes (or queues), finds the parent, records `pid` in the table and emits the exec event.
  void EmitExec(int32_t pid, int64_t ts_ms, std::shared_ptr<Image> image, int32_t ppid, std::optional<uint32_t> uid);
  void HandleExit(const ProcEvent& ev, int64_t ts_ms);
  void HandleUid(const ProcEvent& ev);

  // Reads /proc/PID/{exe,cmdline,cwd} and stat, or, when `fast` (the ppid is known and the
  // process is known not to be a kernel thread), the cheaper comm; status when `want_status`.
  Snapshot ReadProcess(int32_t pid, bool fast, bool want_status);
  // The parent's image: from the table, else read from /proc and remembered.
  std::shared_ptr<const Image> ParentImage(int32_t ppid);
  // Looks the executable up in the hash cache; returns a job when it must be hashed.
  std::optional<HashJob> ResolveHash(int32_t pid, Image* image);
  void PutEntry(int32_t pid, ProcEntry entry);

  // An exec or exit event with the fields both carry: pid, ppid, user (its name also in
  // *user, for the aggregation key) and the image's exe, command line, cwd and comm.
  Event NewEvent(const char* action, int64_t ts_ms, int32_t pid, int32_t ppid, std::optional<uint32_t> uid,
                 const Image& image, std::string* user);
  // Identical events share a key: action, image (exe, else comm), command line and user.
  static void SetAggKey(Event* e, const Image* image, const std::string& user);
  void AddImageFields(const Image& image, Json* data) const;
  void AddUser(uint32_t uid, Json* data, std::string* user_out);
  void AddParent(const std::shared_ptr<const Image>& parent, Json* data) const;
  void Finish(Event&& e, std::optional<HashJob> job);

  // "<proc_root>/<pid>/<leaf>", in a buffer reused by the next call.
  const std::string& PidPath(int32_t pid, std::string_view leaf);

  Env& env_;
  CollectorStats& stats_;
  common::UserNames& users_;
  HashCache& hashes_;
  EventSink& sink_;
  const TrackerOptions options_;
  PidTable table_;
  uint32_t epoch_ = 0;
  std::string path_;
};

}  // namespace vigil::process
