// The inotify ChangeWatch (see change_watch.h). Linux only; compiled into the local_users
// collector.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "agent/collectors/local_users/change_watch.h"

namespace vigil::local_users {
namespace {

class InotifyWatch final : public ChangeWatch {
 public:
  InotifyWatch(int inotify_fd, int wake_fd, std::map<int, std::set<std::string>> names)
      : fd_(inotify_fd), wake_fd_(wake_fd), names_(std::move(names)) {}
  ~InotifyWatch() override {
    close(fd_);
    close(wake_fd_);
  }

  Result<bool> Wait(int64_t timeout_ms) override {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int timeout = static_cast<int>(std::clamp<int64_t>(timeout_ms, 0, 24 * 3600 * 1000));
    int n = poll(fds, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) return false;
      return Status::IoError(std::string("inotify: poll: ") + std::strerror(errno));
    }
    if (fds[1].revents != 0) return false;  // interrupted; stays readable
    if (n == 0) return false;
    alignas(inotify_event) char buf[16 * 1024];
    bool relevant = false;
    while (true) {
      ssize_t len = read(fd_, buf, sizeof(buf));
      if (len < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        return Status::IoError(std::string("inotify: read: ") + std::strerror(errno));
      }
      if (len == 0) break;
      for (ssize_t off = 0; off < len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) relevant = true;  // events lost: re-read to be sure
        if (ev->len == 0) continue;
        auto it = names_.find(ev->wd);
        if (it != names_.end() && it->second.count(ev->name) > 0) relevant = true;
      }
    }
    return relevant;
  }

  void Interrupt() override {
    const uint64_t one = 1;
    ssize_t r = write(wake_fd_, &one, sizeof(one));
    (void)r;
  }

  std::string_view name() const override { return "inotify"; }

 private:
  const int fd_;
  const int wake_fd_;
  const std::map<int, std::set<std::string>> names_;  // watch descriptor -> file names in it
};

}  // namespace

Result<std::unique_ptr<ChangeWatch>> OpenInotifyWatch(const std::vector<std::string>& paths) {
  std::map<std::string, std::set<std::string>> by_dir;
  for (const std::string& p : paths) {
    const size_t slash = p.rfind('/');
    if (slash == std::string::npos || slash + 1 == p.size())
      return Status::InvalidArgument("inotify: not an absolute file path: '" + p + "'");
    by_dir[slash == 0 ? "/" : p.substr(0, slash)].insert(p.substr(slash + 1));
  }
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Unavailable(std::string("inotify_init1: ") + std::strerror(errno));
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    const int err = errno;
    close(fd);
    return Status::Unavailable(std::string("eventfd: ") + std::strerror(err));
  }
  std::map<int, std::set<std::string>> names;
  for (auto& [dir, files] : by_dir) {
    const int wd = inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
    if (wd < 0) {
      const int err = errno;
      close(fd);
      close(wake);
      return Status::Unavailable("inotify_add_watch " + dir + ": " + std::strerror(err));
    }
    names[wd].insert(files.begin(), files.end());
  }
  return std::unique_ptr<ChangeWatch>(std::make_unique<InotifyWatch>(fd, wake, std::move(names)));
}

}  // namespace vigil::local_users
