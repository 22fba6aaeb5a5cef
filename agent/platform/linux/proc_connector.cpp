#include "agent/platform/linux/proc_connector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>

namespace vigil {
namespace {

// Offsets inside one netlink message, as the kernel lays it out: nlmsghdr, cn_msg, then
// struct proc_event {u32 what; u32 cpu; u64 timestamp_ns; union event_data}.
constexpr size_t kNlHdr = 16;                // sizeof(struct nlmsghdr)
constexpr size_t kCnHdr = 20;                // sizeof(struct cn_msg)
constexpr size_t kEvHdr = 16;                // what, cpu, timestamp_ns
constexpr size_t kWhatOff = kNlHdr + kCnHdr;  // 36
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

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Keeps PROC_EVENT_NONE (subscription acks), forks of processes (child_pid == child_tgid),
// execs, exits of thread group leaders (process_pid == process_tgid) and uid changes. Absolute
// loads read in network byte order, hence htonl on the constants; comparing two loaded fields
// needs no conversion.
std::array<sock_filter, 16> BuildFilter() {
  const uint32_t kFork = htonl(kEventFork), kExec = htonl(kEventExec), kExit = htonl(kEventExit),
                 kUid = htonl(kEventUid), kNone = htonl(kEventNone);
  return {{
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOff),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kFork, 4, 0),   // -> 6
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kExec, 11, 0),  // -> 14
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kExit, 6, 0),   // -> 10
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kUid, 9, 0),    // -> 14
      /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNone, 8, 9),   // -> 14 : 15
      /* 6 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 12),  // fork.child_tgid
      /* 7 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 8),   // fork.child_pid
      /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 4, 5),       // -> 14 : 15
      /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff + 4),  // exit.process_tgid
      /* 11 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kDataOff),      // exit.process_pid
      /* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),      // -> 14 : 15
      /* 14 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      /* 15 */ BPF_STMT(BPF_RET | BPF_K, 0),
  }};
}

class ProcConnectorSource final : public ProcessSource {
 public:
  ProcConnectorSource(int sock, int wake) : sock_(sock), wake_(wake) {
    for (size_t i = 0; i < kBatch; ++i) {
      iov_[i].iov_base = buf_[i].data();
      iov_[i].iov_len = buf_[i].size();
    }
  }

  ~ProcConnectorSource() override {
    if (listening_) SendControl(PROC_CN_MCAST_IGNORE, 0);
    close(sock_);
    close(wake_);
  }

  std::string_view name() const override { return "netlink"; }

  // Subscribes and waits for the kernel's acknowledgement, which also says whether we may.
  Status Subscribe() {
    // Tells our acknowledgement from those of other listeners subscribing at the same time.
    const uint32_t nonce = (static_cast<uint32_t>(getpid()) << 12) ^ static_cast<uint32_t>(MonotonicMs());
    if (Status st = SendControl(PROC_CN_MCAST_LISTEN, nonce); !st.ok()) return st;
    listening_ = true;
    const int64_t deadline = MonotonicMs() + 1000;
    for (;;) {
      const int64_t left = deadline - MonotonicMs();
      if (left <= 0) {
        // The kernel ignores requests from other user or pid namespaces without a reply.
        return Status::Unavailable("netlink proc connector: no acknowledgement of the subscription "
                                   "(not in the initial user and pid namespaces?)");
      }
      pollfd pfd{sock_, POLLIN, 0};
      int r = poll(&pfd, 1, static_cast<int>(left));
      if (r < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
      if (r <= 0) continue;
      int n = Receive();
      if (n < 0) {
        if (errno == ENOBUFS) continue;
        return ErrnoStatus("recvmmsg", errno);
      }
      bool acked = false;
      uint32_t ack_err = 0;
      for (int i = 0; i < n; ++i) {
        if (!FromKernel(i)) continue;
        ForEachProcMessage(buf_[i].data(), msgs_[i].msg_len, [&](const RawEvent& raw) {
          // The kernel replaces seq with its own counter; ack comes back as ours + 1.
          if (raw.what == kEventNone && raw.cn_ack == nonce + 1 && raw.data_len >= 4) {
            acked = true;
            ack_err = LoadU32(raw.data);
          }
        });
        // Notifications that arrive before the acknowledgement are kept for the first Read.
        ParseProcConnectorDatagram(buf_[i].data(), msgs_[i].msg_len, &pending_);
      }
      if (acked) {
        if (ack_err != 0) return ErrnoStatus("subscribe", static_cast<int>(ack_err));
        return Status::Ok();
      }
    }
  }

  Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) override {
    if (!pending_.empty()) {
      out->insert(out->end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    if (interrupted_.load(std::memory_order_acquire)) return Status::Ok();
    pollfd fds[2] = {{sock_, POLLIN, 0}, {wake_, POLLIN, 0}};
    int r = poll(fds, 2, out->empty() ? timeout_ms : 0);
    if (r < 0) {
      if (errno == EINTR) return Status::Ok();
      return ErrnoStatus("poll", errno);
    }
    if (r == 0 || (fds[1].revents & POLLIN)) return Status::Ok();
    // Drain what is queued, in bounded rounds so the caller gets to work between them.
    for (int round = 0; round < 16; ++round) {
      int n = Receive();
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

  void Interrupt() override {
    interrupted_.store(true, std::memory_order_release);
    uint64_t one = 1;
    ssize_t w = write(wake_, &one, sizeof(one));
    (void)w;  // the eventfd can only fail when its counter is saturated, which still wakes poll
  }

 private:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMsgBytes = 512;  // a proc connector message is about 100 bytes

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
    if (sendto(sock_, buf, nl->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0)
      return ErrnoStatus("send", errno);
    return Status::Ok();
  }

  // One recvmmsg(2) without blocking; returns the datagram count or -1 with errno set.
  int Receive() {
    for (size_t i = 0; i < kBatch; ++i) {
      msgs_[i].msg_hdr = msghdr{};
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_len = 0;
    }
    return recvmmsg(sock_, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  }

  bool FromKernel(int i) const { return addrs_[i].nl_pid == 0; }

  const int sock_;
  const int wake_;
  std::atomic<bool> interrupted_{false};
  bool listening_ = false;
  std::vector<ProcEvent> pending_;
  std::array<std::array<uint8_t, kMsgBytes>, kBatch> buf_{};
  std::array<iovec, kBatch> iov_{};
  std::array<sockaddr_nl, kBatch> addrs_{};
  std::array<mmsghdr, kBatch> msgs_{};
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
    out->push_back(ev);
    ++added;
  });
  return added;
}

Result<std::unique_ptr<ProcessSource>> OpenKernelProcessSource(const KernelProcessSourceOptions& options) {
  int sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (sock < 0) return ErrnoStatus("socket", errno);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    int err = errno;
    close(sock);
    return ErrnoStatus("eventfd", err);
  }
  // From here the source owns both descriptors.
  auto source = std::make_unique<ProcConnectorSource>(sock, wake);

  int rcvbuf = options.receive_buffer_bytes;
  if (rcvbuf > 0 && setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0) {
    // Without CAP_NET_ADMIN the kernel caps the size at net.core.rmem_max; that will do.
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  }
  std::array<sock_filter, 16> filter = BuildFilter();
  sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
  if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
    // Without the filter thread events reach us too and are skipped by the parser.
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = CN_IDX_PROC;
  sa.nl_pid = 0;  // let the kernel choose our port id
  if (bind(sock, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return ErrnoStatus("bind", errno);

  if (Status st = source->Subscribe(); !st.ok()) return st;
  return std::unique_ptr<ProcessSource>(std::move(source));
}

}  // namespace vigil
