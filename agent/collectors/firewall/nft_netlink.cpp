// nftables change notifications over NETLINK_NETFILTER (see firewall_source.h). Linux only;
// compiled into the firewall collector.
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/collectors/firewall/firewall_source.h"

namespace vigil::firewall {
namespace {

class NftNotifier final : public ChangeNotifier {
 public:
  NftNotifier(int sock, int wake, CollectorStats& stats) : sock_(sock), wake_(wake), stats_(stats) {}
  ~NftNotifier() override {
    close(sock_);
    close(wake_);
  }

  Result<bool> Wait(int64_t timeout_ms) override {
    pollfd fds[2] = {{sock_, POLLIN, 0}, {wake_, POLLIN, 0}};
    const int timeout = static_cast<int>(std::clamp<int64_t>(timeout_ms, 0, 24 * 3600 * 1000));
    const int n = poll(fds, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) return false;
      return Status::IoError(std::string("nftables netlink: poll: ") + std::strerror(errno));
    }
    if (fds[1].revents != 0 || n == 0) return false;
    // Drain what is queued: one re-read covers every message.
    bool changed = false;
    alignas(nlmsghdr) char buf[32 * 1024];
    while (true) {
      const ssize_t len = recv(sock_, buf, sizeof(buf), MSG_DONTWAIT);
      if (len > 0) {
        changed = true;
        stats_.Count("notifications");
        continue;
      }
      if (len == 0) break;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {  // the kernel dropped notifications: the re-read covers them
        stats_.Count("netlink_overruns");
        changed = true;
        continue;
      }
      return Status::IoError(std::string("nftables netlink: recv: ") + std::strerror(errno));
    }
    return changed;
  }

  void Interrupt() override {
    const uint64_t one = 1;
    const ssize_t r = write(wake_, &one, sizeof(one));
    (void)r;
  }

  std::string_view name() const override { return "netlink"; }

 private:
  const int sock_;
  const int wake_;
  CollectorStats& stats_;
};

}  // namespace

Result<std::unique_ptr<ChangeNotifier>> OpenNftNotifier(CollectorStats& stats) {
  const int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
  if (sock < 0) return Status::Unavailable(std::string("nftables netlink: socket: ") + std::strerror(errno));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  const int group = NFNLGRP_NFTABLES;
  if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      setsockopt(sock, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
    const int err = errno;
    close(sock);
    return Status::Unavailable(std::string("nftables netlink: cannot join NFNLGRP_NFTABLES: ") + std::strerror(err));
  }
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const int err = errno;
    close(sock);
    return Status::Unavailable(std::string("eventfd: ") + std::strerror(err));
  }
  return std::unique_ptr<ChangeNotifier>(std::make_unique<NftNotifier>(sock, wake, stats));
}

}  // namespace vigil::firewall
