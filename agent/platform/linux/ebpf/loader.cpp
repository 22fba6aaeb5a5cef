#include "agent/platform/linux/ebpf/loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace vigil::ebpf {
namespace {

// libbpf reports through one process-wide print function. While a load runs, its messages
// are collected for the error message; otherwise its warnings go to the debug log.
std::mutex g_load_mu;     // one load at a time
std::mutex g_capture_mu;  // guards g_capture
std::string* g_capture = nullptr;
constexpr size_t kCaptureMax = 256 << 10;

int LibbpfPrint(libbpf_print_level level, const char* fmt, va_list args) {
  // One message can be a whole verifier log.
  va_list again;
  va_copy(again, args);
  const int n = vsnprintf(nullptr, 0, fmt, args);
  std::string buf(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) vsnprintf(buf.data(), buf.size() + 1, fmt, again);
  va_end(again);
  if (n <= 0) return 0;
  std::string_view text(buf);
  std::lock_guard<std::mutex> lock(g_capture_mu);
  if (g_capture != nullptr) {
    g_capture->append(text);  // the end matters (the verifier's complaint): keep that
    if (g_capture->size() > kCaptureMax) g_capture->erase(0, g_capture->size() - kCaptureMax);
  } else if (level != LIBBPF_DEBUG) {
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    spdlog::debug("libbpf: {}", text);
  }
  return 0;
}

void InstallPrint() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(LibbpfPrint); });
}

// The last `max_lines` lines of `log`, for an error message.
std::string Tail(const std::string& log, size_t max_lines) {
  size_t end = log.size();
  while (end > 0 && log[end - 1] == '\n') --end;
  size_t pos = end;
  for (size_t lines = 0; pos > 0 && lines < max_lines;) {
    --pos;
    if (log[pos] == '\n') ++lines;
  }
  if (pos > 0) ++pos;
  return log.substr(pos, end - pos);
}

// A mount point field of /proc/self/mountinfo with its octal escapes (\040) undone.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Status LoadWithLog(const char* what, const std::function<int()>& load) {
  InstallPrint();
  std::lock_guard<std::mutex> load_lock(g_load_mu);
  std::string log;
  {
    std::lock_guard<std::mutex> lock(g_capture_mu);
    g_capture = &log;
  }
  const int err = load();
  {
    std::lock_guard<std::mutex> lock(g_capture_mu);
    g_capture = nullptr;
  }
  if (err == 0) return Status::Ok();
  spdlog::debug("ebpf: loading the {} failed; libbpf said:\n{}", what, log);
  const int e = err < 0 ? -err : err;
  std::string msg = std::string("eBPF: loading the ") + what + " failed: " + std::strerror(e);
  if (e == EPERM) {
    return Status::PermissionDenied(msg + " (needs root, or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)");
  }
  const std::string tail = Tail(log, 12);
  if (!tail.empty()) msg += "; libbpf:\n" + tail;
  return Status::Unavailable(msg);
}

Status AttachError(const std::string& attach_point, int err) {
  const int e = err < 0 ? -err : err;
  std::string msg = "eBPF: cannot attach to " + attach_point + ": " + std::strerror(e);
  if (e == EPERM || e == EACCES) return Status::PermissionDenied(msg);
  return Status::Unavailable(msg);
}

Result<size_t> RingBufferSize(size_t requested) {
  if (requested == 0 || (requested & (requested - 1)) != 0) {
    return Status::InvalidArgument("eBPF ring buffer size " + std::to_string(requested) + " is not a power of two");
  }
  if (requested > (size_t{1} << 30)) {
    return Status::InvalidArgument("eBPF ring buffer size " + std::to_string(requested) + " is over 1 GiB");
  }
  const long page = sysconf(_SC_PAGESIZE);
  return std::max(requested, page > 0 ? static_cast<size_t>(page) : size_t{4096});
}

Status EnsureTracefs() {
  if (access("/sys/kernel/tracing/events", F_OK) == 0) return Status::Ok();
  if (access("/sys/kernel/debug/tracing/events", F_OK) == 0) return Status::Ok();
  if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0 && errno != EBUSY) {
    return Status::Unavailable(
        std::string("eBPF: tracefs is not mounted and mounting it on /sys/kernel/tracing failed: ") +
        std::strerror(errno));
  }
  spdlog::info("ebpf: mounted tracefs on /sys/kernel/tracing (syscall tracepoints need it to be attached)");
  return Status::Ok();
}

Result<int> OpenCgroup2Root() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    head >> id >> parent >> dev >> root >> mount_point;
    if (root != "/") continue;
    const std::string path = Unescape(mount_point);
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) return fd;
  }
  // No cgroup2 mount (a cgroup v1 system): mount the hierarchy privately, keep a descriptor,
  // and detach the mount again.
  char dir[] = "/run/vigil-cgroup2.XXXXXX";
  char dir_tmp[] = "/tmp/vigil-cgroup2.XXXXXX";
  char* made = mkdtemp(dir);
  if (made == nullptr) made = mkdtemp(dir_tmp);
  if (made == nullptr) {
    return Status::Unavailable(std::string("eBPF: no cgroup2 mount, and no directory to mount it on: ") +
                               std::strerror(errno));
  }
  if (mount("cgroup2", made, "cgroup2", 0, nullptr) != 0) {
    const int e = errno;
    rmdir(made);
    return Status::Unavailable(std::string("eBPF: no cgroup2 mount, and mounting one failed: ") + std::strerror(e));
  }
  int fd = open(made, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int e = errno;
  umount2(made, MNT_DETACH);
  rmdir(made);
  if (fd < 0) return Status::Unavailable(std::string("eBPF: cannot open the cgroup2 root: ") + std::strerror(e));
  spdlog::info("ebpf: no cgroup2 mount; mounted the cgroup2 hierarchy privately to attach to its root");
  return fd;
}

Result<std::unique_ptr<RingReader>> RingReader::Open(int ring_map_fd, int lost_map_fd) {
  std::unique_ptr<RingReader> r(new RingReader());
  r->lost_fd_ = lost_map_fd;
  r->rb_ = ring_buffer__new(ring_map_fd, &RingReader::OnRecord, r.get(), nullptr);
  if (r->rb_ == nullptr) return Status::Unavailable(std::string("eBPF: ring buffer: ") + std::strerror(errno));
  r->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  r->event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->epoll_fd_ < 0 || r->event_fd_ < 0) return Status::IoError(std::string("eBPF: epoll: ") + std::strerror(errno));
  for (int fd : {ring_buffer__epoll_fd(r->rb_), r->event_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(r->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return Status::IoError(std::string("eBPF: epoll_ctl: ") + std::strerror(errno));
    }
  }
  return r;
}

RingReader::~RingReader() {
  if (rb_ != nullptr) ring_buffer__free(rb_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (event_fd_ >= 0) close(event_fd_);
}

int RingReader::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  if (self->sink_ != nullptr) (*self->sink_)(std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
  return 0;
}

Status RingReader::Poll(int timeout_ms, const Sink& sink, uint64_t* lost) {
  if (last_read_ > 0 && last_read_ < kBehindRecords) {
    pollfd interrupted{.fd = event_fd_, .events = POLLIN, .revents = 0};
    if (poll(&interrupted, 1, static_cast<int>(kBatchPause.count())) < 0 && errno != EINTR) {
      return Status::IoError(std::string("eBPF: poll: ") + std::strerror(errno));
    }
  }
  epoll_event evs[2];
  if (epoll_wait(epoll_fd_, evs, 2, std::max(timeout_ms, 0)) < 0 && errno != EINTR) {
    return Status::IoError(std::string("eBPF: epoll_wait: ") + std::strerror(errno));
  }
  sink_ = &sink;
  const int n = ring_buffer__consume(rb_);
  sink_ = nullptr;
  if (n < 0) return Status::IoError(std::string("eBPF: reading the ring buffer: ") + std::strerror(-n));
  last_read_ = n;

  // The lost counter costs a system call to read: at most every kLostReadInterval.
  const auto now = std::chrono::steady_clock::now();
  if (now - lost_read_at_ < kLostReadInterval) return Status::Ok();
  lost_read_at_ = now;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus > 0) {
    std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
    const uint32_t key = 0;
    if (bpf_map_lookup_elem(lost_fd_, &key, per_cpu.data()) == 0) {
      uint64_t total = 0;
      for (uint64_t v : per_cpu) total += v;
      if (total > lost_seen_) *lost += total - lost_seen_;
      lost_seen_ = total;
    }
  }
  return Status::Ok();
}

void RingReader::Interrupt() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
}

}  // namespace vigil::ebpf
