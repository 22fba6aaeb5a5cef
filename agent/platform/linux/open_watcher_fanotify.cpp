// OpenWatcher over fanotify(7) in FAN_REPORT_FID mode (see platform/open_watcher.h).
//
// Each event is struct fanotify_event_metadata {event_len u32, vers u8, reserved u8,
// metadata_len u16, mask u64, fd s32 (FAN_NOFD in FID mode), pid s32}, followed by info
// records; the one of type FAN_EVENT_INFO_TYPE_FID is {hdr {type u8, pad u8, len u16},
// fsid (2 x s32), struct file_handle {handle_bytes u32, handle_type s32, f_handle[]}}. The
// file is known by (fsid, handle), which Add records for each path with statfs(2) and
// name_to_handle_at(2).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "agent/platform/open_watcher.h"

namespace vigil {
namespace {

// A file as fanotify names it in FID mode: file system id, handle type and handle bytes.
std::string FileId(const void* fsid, int32_t handle_type, const unsigned char* handle, size_t handle_bytes) {
  std::string id(static_cast<const char*>(fsid), sizeof(__kernel_fsid_t));
  id.append(reinterpret_cast<const char*>(&handle_type), sizeof(handle_type));
  id.append(reinterpret_cast<const char*>(handle), handle_bytes);
  return id;
}

Status Errno(const std::string& what, int e) {
  const std::string msg = what + ": " + std::strerror(e);
  if (e == ENOENT || e == ENOTDIR) return Status::NotFound(msg);
  if (e == EPERM || e == EACCES) return Status::PermissionDenied(msg);
  if (e == EOPNOTSUPP || e == EXDEV || e == ENODEV || e == EINVAL) return Status::InvalidArgument(msg);
  return Status::IoError(msg);
}

class FanotifyOpenWatcher final : public OpenWatcher {
 public:
  FanotifyOpenWatcher(int fd, int wake) : fd_(fd), wake_(wake), buffer_(16 << 10) {}
  ~FanotifyOpenWatcher() override {
    close(fd_);
    close(wake_);
  }

  std::string_view name() const override { return "fanotify"; }

  Status Add(const std::string& path) override {
    struct statfs fs {};
    if (statfs(path.c_str(), &fs) != 0) return Errno("open watch: " + path, errno);
    alignas(file_handle) unsigned char buf[sizeof(file_handle) + MAX_HANDLE_SZ] = {};
    auto* fh = reinterpret_cast<file_handle*>(buf);
    fh->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (name_to_handle_at(AT_FDCWD, path.c_str(), fh, &mount_id, 0) != 0)
      return Errno("open watch: " + path + ": no file handle", errno);
    if (fanotify_mark(fd_, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, path.c_str()) != 0)
      return Errno("open watch: " + path, errno);
    files_.push_back({FileId(&fs.f_fsid, fh->handle_type, buf + sizeof(file_handle), fh->handle_bytes), path});
    return Status::Ok();
  }

  Status Read(int timeout_ms, std::vector<OpenNotice>* out, uint64_t* lost) override {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    const int n = poll(fds, 2, timeout_ms);
    if (n < 0) return errno == EINTR ? Status::Ok() : Errno("fanotify: poll", errno);
    if (fds[1].revents & POLLIN) {
      uint64_t v = 0;
      if (::read(wake_, &v, sizeof(v)) < 0) {
        // Already drained by an earlier wake-up: nothing to do.
      }
      return Status::Ok();
    }
    if (!(fds[0].revents & POLLIN)) return Status::Ok();
    const ssize_t len = ::read(fd_, buffer_.data(), buffer_.size());
    if (len < 0) {
      if (errno == EAGAIN || errno == EINTR) return Status::Ok();
      return Errno("fanotify: read", errno);
    }
    size_t off = 0;
    while (off + sizeof(fanotify_event_metadata) <= static_cast<size_t>(len)) {
      fanotify_event_metadata meta;
      std::memcpy(&meta, buffer_.data() + off, sizeof(meta));
      if (meta.event_len < sizeof(meta) || meta.event_len > static_cast<size_t>(len) - off ||
          meta.metadata_len < sizeof(meta) || meta.metadata_len > meta.event_len)
        break;
      if (meta.fd >= 0) close(meta.fd);  // not in FID mode; never kept open
      if (meta.mask & FAN_Q_OVERFLOW) {
        ++*lost;
      } else if (meta.mask & FAN_OPEN) {
        const unsigned char* info = buffer_.data() + off + meta.metadata_len;
        if (const std::string* path = PathOf(info, meta.event_len - meta.metadata_len))
          out->push_back(OpenNotice{*path, meta.pid});
      }
      off += meta.event_len;
    }
    return Status::Ok();
  }

  void Interrupt() override {
    const uint64_t one = 1;
    if (::write(wake_, &one, sizeof(one)) < 0) {
      // The counter is full: a wake-up is pending anyway.
    }
  }

 private:
  struct Marked {
    std::string id;
    std::string path;
  };

  // The path of the file an event's info records name, or null.
  const std::string* PathOf(const unsigned char* info, size_t len) const {
    size_t off = 0;
    while (off + sizeof(fanotify_event_info_header) <= len) {
      fanotify_event_info_header hdr;
      std::memcpy(&hdr, info + off, sizeof(hdr));
      if (hdr.len < sizeof(hdr) || hdr.len > len - off) return nullptr;
      constexpr size_t kFixed = sizeof(fanotify_event_info_header) + sizeof(__kernel_fsid_t) + sizeof(file_handle);
      if (hdr.info_type == FAN_EVENT_INFO_TYPE_FID && hdr.len >= kFixed) {
        const unsigned char* fsid = info + off + sizeof(hdr);
        file_handle fh;
        std::memcpy(&fh, fsid + sizeof(__kernel_fsid_t), sizeof(fh));
        if (fh.handle_bytes <= hdr.len - kFixed) {
          const std::string id = FileId(fsid, fh.handle_type, fsid + sizeof(__kernel_fsid_t) + sizeof(file_handle),
                                        fh.handle_bytes);
          for (const Marked& m : files_)
            if (m.id == id) return &m.path;
        }
      }
      off += hdr.len;
    }
    return nullptr;
  }

  const int fd_;
  const int wake_;
  std::vector<unsigned char> buffer_;
  std::vector<Marked> files_;
};

}  // namespace

Result<std::unique_ptr<OpenWatcher>> OpenPlatformOpenWatcher() {
  const int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_FID, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    std::string msg = std::string("fanotify: ") + std::strerror(e);
    if (e == EPERM) return Status::Unavailable(msg + " (needs CAP_SYS_ADMIN)");
    if (e == EINVAL) return Status::Unavailable(msg + " (kernel without FAN_REPORT_FID, before 5.1)");
    return Status::Unavailable(msg);
  }
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int e = errno;
    close(fd);
    return Status::IoError(std::string("fanotify: eventfd: ") + std::strerror(e));
  }
  return std::unique_ptr<OpenWatcher>(std::make_unique<FanotifyOpenWatcher>(fd, wake));
}

}  // namespace vigil
