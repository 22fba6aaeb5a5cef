// PollProcessSource: the fallback ProcessSource for kernels (or containers) without the proc
// connector. Every interval it lists /proc and compares the pids with the previous listing:
// a new pid is reported as kExec, a vanished one as kExit (exit status unknown). The first
// listing is the baseline and reports nothing.
//
// A listing can catch a new process between fork and exec (still the parent's program) or in
// the middle of its exec (new exe, no command line yet). So the command line of each process a
// listing found new is read then and again at the next listing; if it changed, that process is
// reported as kExec again.
//
// What it cannot see: processes that start and end within one interval, a later exec in a
// process it already knows, forks and uid changes. Works over Env, so it runs on FakeEnv.
//
// Threads: Read/Scan from one thread; Interrupt from any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/env.h"
#include "agent/platform/process_source.h"

namespace vigil::process {

class PollProcessSource final : public ProcessSource {
 public:
  PollProcessSource(Env& env, int64_t interval_ms, std::string proc_root = "/proc");

  std::string_view name() const override { return "poll"; }

  // Lists /proc once and appends the differences with the previous listing to *out
  // (exits first, then execs, each in pid order). Errors when /proc cannot be listed.
  Status Scan(std::vector<ProcEvent>* out);

  // Waits until one interval has passed since the previous scan (Interrupt or timeout_ms
  // cut the wait short, returning nothing), then scans. The first Read scans at once.
  // Never reports overruns.
  Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) override;
  void Interrupt() override;

  // The pids of the last listing, ascending.
  const std::vector<int32_t>& known() const { return pids_; }

 private:
  Env& env_;
  const int64_t interval_ms_;
  const std::string proc_root_;
  bool baseline_ = false;
  int64_t last_scan_ms_ = 0;  // std::chrono::steady_clock, ms
  // /proc/PID/cmdline as read (NULs kept), or "" when unreadable.
  std::string Cmdline(int32_t pid);

  std::vector<int32_t> pids_;
  std::vector<int32_t> scratch_;
  // The pids the last listing found new, with their command line then; pid order.
  std::vector<std::pair<int32_t, std::string>> young_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace vigil::process
