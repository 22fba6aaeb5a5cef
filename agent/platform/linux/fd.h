// Fd: owns one file descriptor and closes it when destroyed. Move-constructible, not copyable
// or assignable.
#pragma once

#include <unistd.h>

namespace vigil {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;

  int get() const { return fd_; }
  // Gives up ownership: the caller closes the descriptor.
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

}  // namespace vigil
