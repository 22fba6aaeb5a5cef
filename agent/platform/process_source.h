// ProcessSource: the stream of process lifecycle notifications (fork, exec, exit, uid change)
// that the process collector enriches into events.
//
// Implementations:
//   platform/linux/proc_connector.cpp   the kernel's netlink proc connector (root only)
//   collectors/process/poll_source.cpp  a diff of /proc over Env, every poll interval; it sees
//                                       exec (a new pid) and exit (a vanished pid) only
//   platform/linux/ebpf/                eBPF programs on the sched tracepoints (ebpf.h): fork,
//                                       exec and exit, with what the kernel knows of the
//                                       process (from_kernel); no uid changes
//
// A source reports processes, not threads: a fork that creates a thread and the exit of a
// thread that is not its group's leader are left out. Every pid is a thread group id.
//
// Threads: Read is called from one thread (the collector's receive thread); Interrupt may be
// called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil {

struct ProcEvent {
  enum class Kind : uint8_t {
    kFork,  // pid is a new process, ppid its parent
    kExec,  // pid replaced its image (poll source: pid appeared)
    kExit,  // pid ended (poll source: pid vanished)
    kUid,   // pid's real uid changed to ruid
  };
  Kind kind = Kind::kExec;
  int32_t pid = 0;
  int32_t ppid = -1;         // fork: the parent; exit: the parent when the kernel says;
                             // from_kernel: the real parent for every kind; else -1
  int32_t exit_status = -1;  // exit: the wait(2) status (exit code << 8 | signal); -1 when unknown
  uint32_t ruid = 0;         // uid: the new real uid; from_kernel: the real uid
  uint64_t ts_ns = 0;        // netlink, eBPF: the kernel's CLOCK_MONOTONIC time of it; poll: 0

  // What the eBPF source reads in the kernel at the moment of the event, so the collector
  // needs no /proc read for it. The netlink and poll sources leave all of this empty.
  bool from_kernel = false;  // the fields below, and ppid and ruid, are filled (fork, exec, exit)
  uint32_t euid = 0;         // the effective uid
  std::string comm;          // the task name, at most 15 bytes (exec: the new program's)
  // exec only; each string empty when the kernel could not give it:
  std::string filename;      // the path given to execve(2), as given (may be relative);
                             // at most 512 bytes (filename_truncated)
  std::string exe;           // the absolute path of the executable file, as /proc/PID/exe
                             // shows it; at most 1024 bytes (exe_truncated)
  std::string cwd;           // the absolute path of the working directory; at most 1024
                             // bytes (cwd_truncated)
  std::string args;          // argv as /proc/PID/cmdline has it (each argument followed by a
                             // NUL), read from the new program's stack; at most 4096 bytes
                             // (args_truncated)
  bool filename_truncated = false;
  bool exe_truncated = false;
  bool cwd_truncated = false;
  bool args_truncated = false;
};

class ProcessSource {
 public:
  virtual ~ProcessSource() = default;

  // "netlink", "ebpf" or "poll": what agent_stats reports as the collector's source.
  virtual std::string_view name() const = 0;

  // Waits until notifications arrive, Interrupt is called, or `timeout_ms` passes, then appends
  // what arrived to *out, oldest first. Adds to *overruns the number of times the kernel had
  // to discard notifications because the receiver fell behind (each is one or more lost).
  // An error means the source is broken for good (the caller may fall back to another one).
  virtual Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) = 0;

  // Makes a Read in progress return soon, and every later Read return at once. Thread-safe.
  virtual void Interrupt() = 0;
};

struct KernelProcessSourceOptions {
  // Socket receive buffer: notifications the kernel queues while the receiver is busy.
  int receive_buffer_bytes = 4 << 20;
};

// Subscribes to the kernel's process notifications (Linux: netlink proc connector).
// Unavailable when the kernel lacks the interface, PermissionDenied without CAP_NET_ADMIN in
// the initial namespaces; in both cases the caller falls back to polling.
Result<std::unique_ptr<ProcessSource>> OpenKernelProcessSource(const KernelProcessSourceOptions& options);

}  // namespace vigil
