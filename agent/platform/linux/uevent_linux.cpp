// The kernel's uevents over NETLINK_KOBJECT_UEVENT (see agent/platform/uevent_source.h).
//
// One socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT) bound to multicast group 1 (the
// kernel's own messages; udevd re-broadcasts processed ones, with a "libudev" header, on
// group 2, which is not joined). Receive buffer raised with SO_RCVBUFFORCE, else SO_RCVBUF.
// Only datagrams whose sender port id is 0 (the kernel) are handed on: root processes can
// send to the group too, and their messages must not be taken for the kernel's.
//
// Read polls the socket and a Waker (Interrupt wakes it), then drains the socket without
// blocking, at most kMaxPerRead datagrams per call. ENOBUFS means the kernel dropped
// messages because the buffer was full: one overrun, and reading goes on.
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/linux/fd.h"
#include "agent/platform/linux/waker.h"
#include "agent/platform/uevent_source.h"

namespace vigil {
namespace {

constexpr unsigned kKernelGroup = 1;
constexpr size_t kMaxMessageBytes = 16384;  // the kernel's are at most 2048 (UEVENT_BUFFER_SIZE)
constexpr int kMaxPerRead = 256;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

class NetlinkUeventSource final : public UeventSource {
 public:
  NetlinkUeventSource(Fd sock, Fd wake) : sock_(std::move(sock)), waker_(std::move(wake)) {}

  std::string_view name() const override { return "netlink"; }

  Status Read(int timeout_ms, std::vector<std::string>* out, uint64_t* overruns) override {
    VIGIL_ASSIGN_OR_RETURN(const bool readable, waker_.WaitReadable(sock_.get(), timeout_ms, "uevent socket"));
    if (!readable) return Status::Ok();
    // POLLERR on a netlink socket reports ENOBUFS; recvmsg below picks it up.
    for (int i = 0; i < kMaxPerRead; ++i) {
      sockaddr_nl from{};
      iovec iov{buf_.data(), buf_.size()};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t len = recvmsg(sock_.get(), &msg, MSG_DONTWAIT);
      if (len < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        if (errno == ENOBUFS) {
          ++*overruns;
          continue;
        }
        return Status::IoError(Errno("uevent recvmsg"));
      }
      if (msg.msg_flags & MSG_TRUNC) continue;                  // not the kernel's: too long
      if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0) continue;  // not from the kernel
      out->emplace_back(buf_.data(), static_cast<size_t>(len));
    }
    return Status::Ok();
  }

  void Interrupt() override { waker_.Interrupt(); }

 private:
  Fd sock_;
  Waker waker_;
  std::array<char, kMaxMessageBytes> buf_{};
};

}  // namespace

Result<std::unique_ptr<UeventSource>> OpenKernelUeventSource(const KernelUeventSourceOptions& options) {
  Fd sock(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
  if (sock.get() < 0) return Status::Unavailable(Errno("NETLINK_KOBJECT_UEVENT socket"));
  const int size = options.receive_buffer_bytes;
  if (setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    // Without CAP_NET_ADMIN: as much as net.core.rmem_max allows.
    (void)setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = kKernelGroup;
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return Status::Unavailable(Errno("bind NETLINK_KOBJECT_UEVENT group 1"));
  VIGIL_ASSIGN_OR_RETURN(Fd wake, Waker::OpenEventFd());
  return std::unique_ptr<UeventSource>(new NetlinkUeventSource(std::move(sock), std::move(wake)));
}

}  // namespace vigil
