// Waker: wakes a thread blocked in poll() on a kernel descriptor from another thread (a
// source's Interrupt, called by the collector's Stop). An eventfd is polled beside the
// descriptor; once interrupted, a Waker stays so and every later wait returns at once.
#pragma once

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "agent/core/status.h"
#include "agent/platform/linux/fd.h"

namespace vigil {

class Waker {
 public:
  // An eventfd for a Waker; IoError when none can be had.
  static Result<Fd> OpenEventFd() {
    Fd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (fd.get() < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
    return fd;
  }

  explicit Waker(Fd event) : event_(std::move(event)) {}

  // Any thread.
  void Interrupt() {
    interrupted_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    ssize_t r = write(event_.get(), &one, sizeof(one));
    (void)r;  // a full eventfd is already readable
  }
  bool interrupted() const { return interrupted_.load(std::memory_order_acquire); }

  // Waits up to timeout_ms for `fd` to be readable: true when it is (read it now), false when
  // there is nothing to read (the time is up, the Waker was interrupted, a signal came).
  // IoError, naming `what`, when poll fails or `fd` is not open.
  Result<bool> WaitReadable(int fd, int timeout_ms, std::string_view what) {
    if (interrupted()) return false;
    std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {event_.get(), POLLIN, 0}}};
    const int n = poll(fds.data(), fds.size(), timeout_ms < 0 ? 0 : timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return false;
      return Status::IoError(std::string(what) + " poll: " + std::strerror(errno));
    }
    if (n == 0 || fds[1].revents != 0 || interrupted()) return false;
    if (fds[0].revents & POLLNVAL) return Status::IoError(std::string(what) + " closed");
    return true;
  }

 private:
  Fd event_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace vigil
