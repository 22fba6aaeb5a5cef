// FileWatcher over inotify(7) (see agent/platform/file_watcher.h).
//
// One inotify instance (IN_NONBLOCK, IN_CLOEXEC); each directory is added with the mask
// below and IN_ONLYDIR, so a path that is not a directory is refused by the kernel itself.
// Read polls the instance and an eventfd (Interrupt writes it), then reads whole
// inotify_event records, bounds-checked, translating the kernel's bits to WatchEvent's.
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/file_watcher.h"
#include "agent/platform/linux/fd.h"

namespace vigil {
namespace {

constexpr uint32_t kDirMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string Errno(const std::string& what, int err) { return what + ": " + std::strerror(err); }

uint32_t Translate(uint32_t m) {
  uint32_t out = 0;
  if (m & IN_MODIFY) out |= WatchEvent::kModify;
  if (m & IN_ATTRIB) out |= WatchEvent::kAttrib;
  if (m & IN_CLOSE_WRITE) out |= WatchEvent::kCloseWrite;
  if (m & IN_CREATE) out |= WatchEvent::kCreate;
  if (m & IN_DELETE) out |= WatchEvent::kDelete;
  if (m & IN_MOVED_FROM) out |= WatchEvent::kMovedFrom;
  if (m & IN_MOVED_TO) out |= WatchEvent::kMovedTo;
  if (m & IN_DELETE_SELF) out |= WatchEvent::kDeleteSelf;
  if (m & IN_MOVE_SELF) out |= WatchEvent::kMoveSelf;
  if (m & IN_IGNORED) out |= WatchEvent::kIgnored;
  if (m & IN_Q_OVERFLOW) out |= WatchEvent::kOverflow;
  if (m & IN_ISDIR) out |= WatchEvent::kIsDir;
  return out;
}

class InotifyWatcher final : public FileWatcher {
 public:
  InotifyWatcher(Fd fd, Fd wake, size_t max_events) : fd_(std::move(fd)), wake_(std::move(wake)), max_(max_events) {}

  std::string_view name() const override { return "inotify"; }

  Result<int> AddDirectory(const std::string& path) override {
    const int wd = inotify_add_watch(fd_.get(), path.c_str(), kDirMask);
    if (wd >= 0) return wd;
    const int err = errno;
    const std::string what = Errno("inotify_add_watch " + path, err);
    switch (err) {
      case ENOENT: return Status::NotFound(what);
      case ENOTDIR: return Status::InvalidArgument(what);
      case ENOSPC: return Status::Unavailable(what + " (fs.inotify.max_user_watches reached)");
      case EACCES:
      case EPERM: return Status::PermissionDenied(what);
      default: return Status::IoError(what);
    }
  }

  void Remove(int wd) override { (void)inotify_rm_watch(fd_.get(), wd); }

  Status Read(int timeout_ms, std::vector<WatchEvent>* out) override {
    if (interrupted_.load(std::memory_order_acquire)) return Status::Ok();
    std::array<pollfd, 2> fds{{{fd_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}}};
    const int n = poll(fds.data(), fds.size(), timeout_ms < 0 ? 0 : timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return Status::Ok();
      return Status::IoError(Errno("inotify poll", errno));
    }
    if (n == 0 || fds[1].revents != 0 || interrupted_.load(std::memory_order_acquire)) return Status::Ok();
    if (fds[0].revents & POLLNVAL) return Status::IoError("inotify descriptor closed");
    size_t taken = 0;
    while (taken < max_) {
      const ssize_t len = read(fd_.get(), buf_.data(), buf_.size());
      if (len < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return Status::IoError(Errno("inotify read", errno));
      }
      if (len == 0) break;
      size_t off = 0;
      const size_t size = static_cast<size_t>(len);
      while (size - off >= sizeof(inotify_event)) {
        inotify_event ev;
        std::memcpy(&ev, buf_.data() + off, sizeof(ev));
        const size_t rec = sizeof(inotify_event) + ev.len;
        if (rec > size - off) break;  // cannot happen with whole records; never read past
        WatchEvent w;
        w.wd = ev.wd;
        w.mask = Translate(ev.mask);
        w.cookie = ev.cookie;
        if (ev.len > 0) {
          const char* name = buf_.data() + off + sizeof(inotify_event);
          w.name.assign(name, strnlen(name, ev.len));
        }
        out->push_back(std::move(w));
        ++taken;
        off += rec;
      }
    }
    return Status::Ok();
  }

  void Interrupt() override {
    interrupted_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    ssize_t r = write(wake_.get(), &one, sizeof(one));
    (void)r;  // a full eventfd is already readable
  }

 private:
  Fd fd_;
  Fd wake_;
  const size_t max_;
  std::atomic<bool> interrupted_{false};
  alignas(inotify_event) std::array<char, 64 * 1024> buf_{};
};

}  // namespace

Result<std::unique_ptr<FileWatcher>> OpenPlatformFileWatcher(const PlatformFileWatcherOptions& options) {
  Fd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (fd.get() < 0) return Status::Unavailable(Errno("inotify_init1", errno));
  Fd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wake.get() < 0) return Status::IoError(Errno("eventfd", errno));
  return std::unique_ptr<FileWatcher>(new InotifyWatcher(std::move(fd), std::move(wake), options.max_events_per_read));
}

}  // namespace vigil
