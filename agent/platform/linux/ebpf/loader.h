// What the eBPF connection and process sources share: loading a skeleton with libbpf's log
// captured (so a verifier rejection reaches the error message), the kernel mounts some attach
// points need, and the reader of a ring buffer with its per-CPU lost counter.
//
// Internal to platform/linux/ebpf/; not part of the ebpf.h interface.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "agent/core/status.h"

struct ring_buffer;

namespace vigil::ebpf {

// Runs `load` (a skeleton's __load, returning 0 or -errno) with libbpf's messages collected;
// on failure returns PermissionDenied (EPERM: needs root, or CAP_BPF with CAP_PERFMON and
// CAP_NET_ADMIN) or Unavailable whose message ends with the tail of libbpf's log (the
// verifier's complaint). `what` names the object ("connection programs").
Status LoadWithLog(const char* what, const std::function<int()>& load);

// Turns a libbpf attach error (-errno) into a Status naming the attach point.
Status AttachError(const std::string& attach_point, int err);

// Checks a ring buffer size: a power of two, at least one page. Returns the size to use.
Result<size_t> RingBufferSize(size_t requested);

// Makes sure tracefs is reachable where libbpf looks for tracepoint ids
// (/sys/kernel/tracing, or /sys/kernel/debug/tracing): mounts it on /sys/kernel/tracing
// when neither is there, and says so in the log. Unavailable when that fails.
Status EnsureTracefs();

// An open descriptor of the root of the cgroup v2 hierarchy, for attaching cgroup programs
// to every process: an existing cgroup2 mount of the root from /proc/self/mountinfo, or a
// private mount that is detached again once opened (logged). Unavailable when there is none
// and mounting fails.
Result<int> OpenCgroup2Root();

// Reads one BPF ring buffer. Poll waits on the buffer and on an eventfd that Interrupt
// writes, hands every record to the sink, and adds to *lost what the programs counted as not
// fitting (a per-CPU array map of one u64, summed; the growth since it was last read, which
// is at most every 100 ms since reading it is a system call).
// Poll is called from one thread; Interrupt from any.
class RingReader {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;

  static Result<std::unique_ptr<RingReader>> Open(int ring_map_fd, int lost_map_fd);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Waits until records arrive, Interrupt is called or timeout_ms passes (not at all once
  // interrupted), then drains the buffer into `sink`. After a Poll that found a few records,
  // the next one first pauses for kBatchPause. An error is for good.
  Status Poll(int timeout_ms, const Sink& sink, uint64_t* lost);
  void Interrupt();

 private:
  RingReader() = default;
  static int OnRecord(void* ctx, void* data, size_t size);

  static constexpr std::chrono::milliseconds kLostReadInterval{100};
  // After a read that found records, the next Poll first lets records gather for this long
  // (Interrupt ends the pause), so that on a busy machine records are read in batches rather
  // than with one wake-up each: most of a reader's cost is its wake-ups. A read of
  // kBehindRecords or more means the reader is behind: then there is no pause.
  static constexpr std::chrono::milliseconds kBatchPause{5};
  static constexpr int kBehindRecords = 512;

  ring_buffer* rb_ = nullptr;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  int lost_fd_ = -1;
  uint64_t lost_seen_ = 0;
  std::chrono::steady_clock::time_point lost_read_at_{};
  int last_read_ = 0;  // records the last Poll handed on
  const Sink* sink_ = nullptr;  // during Poll only
};

}  // namespace vigil::ebpf
