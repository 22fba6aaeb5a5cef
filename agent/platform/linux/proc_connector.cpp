#include "agent/platform/linux/proc_connector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

namespace vigil {
namespace {

// Offsets inside one netlink message, as the kernel lays it out: nlmsghdr, cn_msg, then
// struct proc_event {u32 what; u32 cpu; u64 timestamp_ns; union event_data}.
constexpr size_t kNlHdr = 16;                   // sizeof(struct nlmsghdr)
constexpr size_t kCnHdr = 20;                   // sizeof(struct cn_msg)
constexpr size_t kEvHdr = 16;                   // what, cpu, timestamp_ns
constexpr size_t kWhatOff = kNlHdr + kCnHdr;    // 36
constexpr size_t kDataOff = kWhatOff + kEvHdr;  // 52: event_data

// In C++ the kernel's `enum what` is scoped inside struct proc_event.
constexpr uint32_t kEventNone = proc_event::PROC_EVENT_NONE;
constexpr uint32_t kEventFork = proc_event::PROC_EVENT_FORK;
constexpr uint32_t kEventExec = proc_event::PROC_EVENT_EXEC;
constexpr uint32_t kEventUid = proc_event::PROC_EVENT_UID;
constexpr uint32_t kEventExit = proc_event::PROC_EVENT_EXIT;

static_assert(sizeof(nlmsghdr) == kNlHdr);
static_assert(sizeof(cn_msg) == kCnHdr);
static_assert(offsetof(proc_event, event_data) == kEvHdr);

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// One proc connector message body, bounds-checked: what and the event_data bytes.
struct RawEvent {
  uint32_t what = 0;
  const uint8_t* data = nullptr;
  size_t data_len = 0;
  uint32_t cn_ack = 0;
  uint64_t ts_ns = 0;
};

// Walks the netlink messages of one datagram; calls fn(RawEvent) for each proc connector
// message that is well formed.
template <typename Fn>
void ForEachProcMessage(const uint8_t* data, size_t size, Fn&& fn) {
  size_t off = 0;
  while (size - off >= kNlHdr) {
    const uint8_t* msg = data + off;
    const uint32_t len = LoadU32(msg);
    const uint16_t type = LoadU16(msg + 4);
    if (len < kNlHdr || len > size - off) return;  // truncated or nonsense: stop
    if (type == NLMSG_DONE && len >= kNlHdr + kCnHdr) {
      const uint8_t* cn = msg + kNlHdr;
      const uint32_t idx = LoadU32(cn);
      const uint32_t val = LoadU32(cn + 4);
      const uint16_t cn_len = LoadU16(cn + 16);
      const size_t avail = len - kNlHdr - kCnHdr;
      if (idx == CN_IDX_PROC && val == CN_VAL_PROC && cn_len <= avail && cn_len >= kEvHdr) {
        const uint8_t* ev = cn + kCnHdr;
        RawEvent raw;
        raw.what = LoadU32(ev);
        raw.data = ev + kEvHdr;
        raw.data_len = cn_len - kEvHdr;
        raw.cn_ack = LoadU32(cn + 12);
        std::memcpy(&raw.ts_ns, ev + 8, sizeof(raw.ts_ns));
        fn(raw);
      }
    }
    const size_t next = NLMSG_ALIGN(static_cast<size_t>(len));
    if (next > size - off) return;
    off += next;
  }
}

Status ErrnoStatus(const char* what, int err) {
  std::string msg = std::string("netlink proc connector: ") + what + ": " + std::strerror(err);
  switch (err) {
    case EPERM:
    case EACCES:
      return Status::PermissionDenied(msg + " (needs CAP_NET_ADMIN in the initial namespaces)");
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case ENOENT:
    case EINVAL:
      return Status::Unavailable(msg);
    default:
      return Status::IoError(msg);
  }
}

// Socket filters (classic BPF). Absolute loads read in network byte order, hence htonl on the
// constants; comparing two loaded fields needs no conversion. Both keep PROC_EVENT_NONE
// (subscription acknowledgements, and Interrupt's wake-up datagram).
//
// The exec channel: execs only.
std::vector<sock_filter> ExecFilter() {
  const uint32_t what_exec = htonl(kEventExec), what_none = htonl(kEventNone);
  return {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOff),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_exec, 1, 0),  // -> 3
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_none, 0, 1),  // -> 3 : 4
      /* 3 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      /* 4 */ BPF_STMT(BPF_RET | BPF_K, 0),
  };
}

// The lazy channel: forks of processes (child_pid == child_tgid), exits of thread group
// leaders (process_pid == process_tgid) and uid changes.
std::vector<sock_filter> LazyFilter() {
  const uint32_t what_fork = htonl(kEventFork), what_exit = htonl(kEventExit), what_uid = htonl(kEventUid),
                 what_none = htonl(kEventNone);
  return {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOff),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_fork, 3, 0),  // -> 5
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_exit, 6, 0),  // -> 9
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_uid, 9, 0),   // -> 13
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, what_none, 8, 9),  // -> 13 : 14
      /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 12),     // fork.child_tgid
      /* 6 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 8),  // fork.child_pid
      /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 4, 5),      // -> 13 : 14
      /* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 4),  // exit.process_tgid
      /* 10 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff),  // exit.process_pid
      /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),  // -> 13 : 14
      /* 13 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      /* 14 */ BPF_STMT(BPF_RET | BPF_K, 0),
  };
}

uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // the clock of proc_event.timestamp_ns (ktime_get_ns)
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// One subscribed netlink socket with its receive buffers.
class Channel {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMsgBytes = 512;  // a proc connector message is about 100 bytes

  Channel() {
    for (size_t i = 0; i < kBatch; ++i) {
      iov_[i].iov_base = buf_[i].data();
      iov_[i].iov_len = buf_[i].size();
    }
  }
  ~Channel() {
    if (listening_) SendControl(PROC_CN_MCAST_IGNORE, 0);
    if (fd_ >= 0) close(fd_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // socket, receive buffer, filter, bind to the proc group, LISTEN and its acknowledgement.
  // Notifications that arrive meanwhile are kept in *early.
  Status Open(int receive_buffer_bytes, std::vector<sock_filter> filter, std::vector<ProcEvent>* early) {
    fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd_ < 0) return ErrnoStatus("socket", errno);
    int rcvbuf = receive_buffer_bytes;
    if (rcvbuf > 0 && setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
      // Without CAP_NET_ADMIN the kernel caps the size at net.core.rmem_max; that will do.
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
      // Without the filter everything reaches this socket; the parser still drops thread
      // events, and Read drops what belongs to the other channel.
      filtered_ = false;
    }
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = CN_IDX_PROC;
    sa.nl_pid = 0;  // let the kernel choose our port id
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return ErrnoStatus("bind", errno);
    socklen_t len = sizeof(sa);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) port_id_ = sa.nl_pid;
    return Subscribe(early);
  }

  // Receives without blocking (or, when `block_ms` > 0, waiting up to that long for the first
  // datagram) until the queue is empty; appends the notifications to *out.
  Status Drain(int block_ms, std::vector<ProcEvent>* out, uint64_t* overruns) {
    bool block = block_ms > 0;
    if (block) {
      if (Status st = SetReceiveTimeout(block_ms); !st.ok()) return st;
    }
    for (int round = 0; round < 64; ++round) {
      int n = Receive(block ? MSG_WAITFORONE : MSG_DONTWAIT);
      block = false;
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENOBUFS) {
          ++*overruns;
          continue;
        }
        return ErrnoStatus("recvmmsg", errno);
      }
      for (int i = 0; i < n; ++i) {
        if (!FromKernel(i) || (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC)) continue;
        ParseProcConnectorDatagram(buf_[i].data(), msgs_[i].msg_len, out);
      }
      if (static_cast<size_t>(n) < kBatch) break;
    }
    return Status::Ok();
  }

  // Wakes a Drain blocked on this channel: a datagram to our own port from a throw-away
  // socket (not from the kernel, so Drain ignores it), shaped as PROC_EVENT_NONE so the
  // filter lets it through.
  void Wake() const {
    int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (s < 0) return;
    alignas(nlmsghdr) uint8_t msg[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_event))] = {};
    auto* nl = reinterpret_cast<nlmsghdr*>(msg);
    nl->nlmsg_len = sizeof(msg);
    nl->nlmsg_type = NLMSG_DONE;
    sockaddr_nl dst{};
    dst.nl_family = AF_NETLINK;
    dst.nl_pid = port_id_;
    sendto(s, msg, sizeof(msg), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));
    close(s);
  }

  bool filtered() const { return filtered_; }

 private:
  Status Subscribe(std::vector<ProcEvent>* early) {
    // The kernel answers on the group with ack = ours + 1; the nonce tells our answer from
    // those of other listeners subscribing at the same time.
    const uint32_t nonce = (static_cast<uint32_t>(getpid()) << 12) ^ static_cast<uint32_t>(MonotonicNs() >> 10) ^
                           static_cast<uint32_t>(fd_);
    if (Status st = SendControl(PROC_CN_MCAST_LISTEN, nonce); !st.ok()) return st;
    listening_ = true;
    const uint64_t deadline = MonotonicNs() + 1'000'000'000u;
    for (;;) {
      const uint64_t now = MonotonicNs();
      if (now >= deadline) {
        // The kernel ignores requests from other user or pid namespaces without a reply.
        return Status::Unavailable(
            "netlink proc connector: no acknowledgement of the subscription "
            "(not in the initial user and pid namespaces?)");
      }
      pollfd pfd{fd_, POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>((deadline - now) / 1'000'000u) + 1);
      if (r < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
      if (r <= 0) continue;
      int n = Receive(MSG_DONTWAIT);
      if (n < 0) continue;  // EAGAIN, EINTR, ENOBUFS: try again until the deadline
      bool acked = false;
      uint32_t ack_err = 0;
      for (int i = 0; i < n; ++i) {
        if (!FromKernel(i)) continue;
        ForEachProcMessage(buf_[i].data(), msgs_[i].msg_len, [&](const RawEvent& raw) {
          if (raw.what == kEventNone && raw.cn_ack == nonce + 1 && raw.data_len >= 4) {
            acked = true;
            ack_err = LoadU32(raw.data);
          }
        });
        ParseProcConnectorDatagram(buf_[i].data(), msgs_[i].msg_len, early);
      }
      if (acked) return ack_err == 0 ? Status::Ok() : ErrnoStatus("subscribe", static_cast<int>(ack_err));
    }
  }

  Status SendControl(proc_cn_mcast_op op, uint32_t ack) {
    alignas(nlmsghdr) uint8_t buf[NLMSG_SPACE(sizeof(cn_msg) + sizeof(uint32_t))] = {};
    auto* nl = reinterpret_cast<nlmsghdr*>(buf);
    nl->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(uint32_t));
    nl->nlmsg_type = NLMSG_DONE;
    auto* cn = reinterpret_cast<cn_msg*>(NLMSG_DATA(nl));
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->seq = 0;
    cn->ack = ack;
    cn->len = sizeof(uint32_t);
    const uint32_t op32 = op;
    std::memcpy(buf + NLMSG_HDRLEN + sizeof(cn_msg), &op32, sizeof(op32));
    sockaddr_nl dst{};
    dst.nl_family = AF_NETLINK;
    if (sendto(fd_, buf, nl->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0)
      return ErrnoStatus("send", errno);
    return Status::Ok();
  }

  // One recvmmsg(2); returns the datagram count or -1 with errno set.
  int Receive(int flags) {
    for (size_t i = 0; i < kBatch; ++i) {
      msgs_[i].msg_hdr = msghdr{};
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_len = 0;
    }
    return recvmmsg(fd_, msgs_.data(), kBatch, flags, nullptr);
  }

  bool FromKernel(int i) const { return addrs_[i].nl_pid == 0; }

  Status SetReceiveTimeout(int timeout_ms) {
    if (timeout_ms == timeout_ms_) return Status::Ok();
    timeval tv{timeout_ms / 1000, static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return ErrnoStatus("SO_RCVTIMEO", errno);
    timeout_ms_ = timeout_ms;
    return Status::Ok();
  }

  int fd_ = -1;
  uint32_t port_id_ = 0;  // assigned by the kernel at bind
  int timeout_ms_ = -1;   // the socket's SO_RCVTIMEO
  bool listening_ = false;
  bool filtered_ = true;
  std::array<std::array<uint8_t, kMsgBytes>, kBatch> buf_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_nl, kBatch> addrs_{};
  std::array<mmsghdr, kBatch> msgs_{};
};

// Execs arrive on a channel the receive thread sleeps on, so each wakes it at once; forks,
// exits and uid changes arrive on a second channel that is only read when the thread is awake
// anyway (or when `lazy_ms` has passed), so a fork+exec+exit costs one wake-up, not three.
//
// Order across the two channels: before reading, Read takes the time T; then it reads the exec
// channel, then the lazy one, and hands on, sorted by kernel timestamp, only what happened
// before T. That is enough: a process's exec is queued before its exit's timestamp is taken,
// and a fork or uid change before the exec's timestamp, so everything a handed-on notification
// depends on has been read and is handed on first. The rest waits for the next round.
class ProcConnectorSource final : public ProcessSource {
 public:
  static constexpr int kLazyMs = 50;  // longest a busy lazy channel goes unread

  Status Open(const KernelProcessSourceOptions& options) {
    VIGIL_RETURN_IF_ERROR(exec_.Open(options.receive_buffer_bytes, ExecFilter(), &exec_pending_));
    VIGIL_RETURN_IF_ERROR(lazy_.Open(options.receive_buffer_bytes, LazyFilter(), &lazy_pending_));
    if (!exec_.filtered() || !lazy_.filtered()) {
      // Each channel would see every notification: keep only its own kinds.
      split_ = true;
    }
    return Status::Ok();
  }

  std::string_view name() const override { return "netlink"; }

  Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) override {
    if (interrupted_.load(std::memory_order_acquire)) return Status::Ok();
    // Wait for an exec (or Interrupt), at most timeout_ms, and at most kLazyMs while forks
    // and exits keep coming.
    int block_ms = timeout_ms;
    if (lazy_busy_ || !lazy_pending_.empty()) block_ms = std::min(block_ms, kLazyMs);
    if (!exec_pending_.empty()) block_ms = 0;
    VIGIL_RETURN_IF_ERROR(exec_.Drain(block_ms, &exec_pending_, overruns));
    if (interrupted_.load(std::memory_order_acquire)) return Status::Ok();
    for (int round = 0; round < 4; ++round) {
      const uint64_t t = MonotonicNs();
      VIGIL_RETURN_IF_ERROR(exec_.Drain(0, &exec_pending_, overruns));
      const size_t lazy_before = lazy_pending_.size();
      VIGIL_RETURN_IF_ERROR(lazy_.Drain(0, &lazy_pending_, overruns));
      lazy_busy_ = lazy_pending_.size() > lazy_before;
      if (split_) DropForeign();
      ClampFutureStamps(t);
      TakeProcEventsBefore(t, &exec_pending_, &lazy_pending_, out);
      // An exec stamped after T was read but not handed on: go round again at once rather
      // than wait for another wake-up (its process may be short-lived).
      if (exec_pending_.empty()) break;
    }
    return Status::Ok();
  }

  void Interrupt() override {
    interrupted_.store(true, std::memory_order_release);
    exec_.Wake();
  }

 private:
  // A stamp more than a second ahead of our clock cannot come from the same clock; such a
  // notification would wait forever, so it is handed on at once (in arrival order).
  void ClampFutureStamps(uint64_t now_ns) {
    for (std::vector<ProcEvent>* v : {&exec_pending_, &lazy_pending_}) {
      for (ProcEvent& e : *v) {
        if (e.ts_ns > now_ns + 1'000'000'000u) e.ts_ns = now_ns - 1;
      }
    }
  }

  void DropForeign() {
    auto is_exec = [](const ProcEvent& e) { return e.kind == ProcEvent::Kind::kExec; };
    std::erase_if(exec_pending_, [&](const ProcEvent& e) { return !is_exec(e); });
    std::erase_if(lazy_pending_, is_exec);
  }

  Channel exec_;
  Channel lazy_;
  bool split_ = false;
  bool lazy_busy_ = false;
  std::vector<ProcEvent> exec_pending_;
  std::vector<ProcEvent> lazy_pending_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace

size_t ParseProcConnectorDatagram(const uint8_t* data, size_t size, std::vector<ProcEvent>* out) {
  size_t added = 0;
  if (data == nullptr) return 0;
  ForEachProcMessage(data, size, [&](const RawEvent& raw) {
    const uint8_t* d = raw.data;
    ProcEvent ev;
    switch (raw.what) {
      case kEventFork: {
        if (raw.data_len < 16) return;
        const int32_t parent_tgid = LoadI32(d + 4), child_pid = LoadI32(d + 8), child_tgid = LoadI32(d + 12);
        if (child_pid != child_tgid) return;  // a new thread
        ev.kind = ProcEvent::Kind::kFork;
        ev.pid = child_tgid;
        ev.ppid = parent_tgid;
        break;
      }
      case kEventExec: {
        if (raw.data_len < 8) return;
        ev.kind = ProcEvent::Kind::kExec;
        ev.pid = LoadI32(d + 4);
        break;
      }
      case kEventExit: {
        if (raw.data_len < 16) return;
        const int32_t pid = LoadI32(d), tgid = LoadI32(d + 4);
        if (pid != tgid) return;  // a thread that is not the leader
        ev.kind = ProcEvent::Kind::kExit;
        ev.pid = tgid;
        ev.exit_status = static_cast<int32_t>(LoadU32(d + 8) & 0xffff);
        if (raw.data_len >= 24) ev.ppid = LoadI32(d + 20);  // parent_tgid, kernels since 4.17
        break;
      }
      case kEventUid: {
        if (raw.data_len < 16) return;
        ev.kind = ProcEvent::Kind::kUid;
        ev.pid = LoadI32(d + 4);
        ev.ruid = LoadU32(d + 8);
        break;
      }
      default:
        return;
    }
    if (ev.pid <= 0) return;
    if (ev.ppid <= 0) ev.ppid = -1;
    ev.ts_ns = raw.ts_ns;
    out->push_back(ev);
    ++added;
  });
  return added;
}

Result<std::unique_ptr<ProcessSource>> OpenKernelProcessSource(const KernelProcessSourceOptions& options) {
  auto source = std::make_unique<ProcConnectorSource>();
  VIGIL_RETURN_IF_ERROR(source->Open(options));
  return std::unique_ptr<ProcessSource>(std::move(source));
}

void TakeProcEventsBefore(uint64_t before_ns, std::vector<ProcEvent>* a, std::vector<ProcEvent>* b,
                          std::vector<ProcEvent>* out) {
  const size_t first = out->size();
  for (std::vector<ProcEvent>* v : {a, b}) {
    auto keep = std::stable_partition(v->begin(), v->end(), [&](const ProcEvent& e) { return e.ts_ns < before_ns; });
    out->insert(out->end(), v->begin(), keep);
    v->erase(v->begin(), keep);
  }
  std::stable_sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
                   [](const ProcEvent& x, const ProcEvent& y) { return x.ts_ns < y.ts_ns; });
}

}  // namespace vigil
