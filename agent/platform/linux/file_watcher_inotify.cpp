// FileWatcher over inotify(7) (see agent/platform/file_watcher.h).
//
// One inotify instance (IN_NONBLOCK, IN_CLOEXEC); each directory is added with the mask
// below and IN_ONLYDIR, so a path that is not a directory is refused by the kernel itself.
// Read polls the instance and a Waker (Interrupt wakes it), then reads whole
// inotify_event records, bounds-checked, translating the kernel's bits to WatchEvent's.
#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "agent/platform/file_watcher.h"
#include "agent/platform/linux/fd.h"
#include "agent/platform/linux/waker.h"

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
  InotifyWatcher(Fd fd, Fd wake, size_t max_events) : fd_(std::move(fd)), waker_(std::move(wake)), max_(max_events) {}

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
    VIGIL_ASSIGN_OR_RETURN(const bool readable, waker_.WaitReadable(fd_.get(), timeout_ms, "inotify descriptor"));
    if (!readable) return Status::Ok();
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

  void Interrupt() override { waker_.Interrupt(); }

 private:
  Fd fd_;
  Waker waker_;
  const size_t max_;
  // Not zeroed: read(2) writes what it returns, and pages never written stay out of memory.
  alignas(inotify_event) std::array<char, 64 * 1024> buf_;
};

}  // namespace

Result<std::unique_ptr<FileWatcher>> OpenPlatformFileWatcher(const PlatformFileWatcherOptions& options) {
  Fd fd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (fd.get() < 0) return Status::Unavailable(Errno("inotify_init1", errno));
  VIGIL_ASSIGN_OR_RETURN(Fd wake, Waker::OpenEventFd());
  return std::unique_ptr<FileWatcher>(new InotifyWatcher(std::move(fd), std::move(wake), options.max_events_per_read));
}

}  // namespace vigil
