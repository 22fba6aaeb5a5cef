#include "agent/platform/linux/login_file_tail.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace vigil {
namespace {

constexpr size_t kRecordSize = 384;       // glibc's struct utmp
constexpr size_t kPollBudget = 1 << 20;   // bytes read per Poll
constexpr size_t kMaxSnapshot = 1 << 20;  // utmp read at most
constexpr size_t kChunk = 64 << 10;
constexpr uint32_t kFileMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;

}  // namespace

LoginFileTail::LoginFileTail(LoginOrigin origin, std::string path, Kind kind, size_t max_line_bytes, int64_t grace_ms,
                             int inotify_fd, CollectorStats* stats)
    : origin_(origin),
      path_(std::move(path)),
      kind_(kind),
      max_line_(std::max<size_t>(max_line_bytes, 64)),
      grace_ms_(grace_ms),
      inotify_fd_(inotify_fd),
      stats_(stats) {
  const size_t slash = path_.rfind('/');
  dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  name_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
}

LoginFileTail::~LoginFileTail() {
  std::vector<LoginInput> dropped;
  Close(&retired_, &dropped);
  Close(&current_, &dropped);
}

void LoginFileTail::Count(const char* name, uint64_t n) {
  if (stats_) stats_->Count(name, n);
}

bool LoginFileTail::OpenFile(File* f, bool at_end, int64_t now_mono_ms) {
  const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT && errno != ENOTDIR) {
      spdlog::warn("login: cannot open {}: {}", path_, std::strerror(errno));
      Count("input_read_errors");
    }
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    spdlog::warn("login: {} is not a regular file; not read", path_);
    close(fd);
    return false;
  }
  f->fd = fd;
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  f->offset = 0;
  if (at_end) {
    const auto size = static_cast<uint64_t>(st.st_size);
    f->offset = kind_ == Kind::kRecords ? size - size % kRecordSize : size;
  }
  f->partial.clear();
  f->skipping = false;
  f->last_growth_ms = now_mono_ms;
  f->wd = -1;
  if (inotify_fd_ >= 0) {
    // Through the descriptor, so the watch is on the very file opened even if the path has
    // been replaced meanwhile; the path when /proc is not mounted.
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    f->wd = inotify_add_watch(inotify_fd_, self.c_str(), kFileMask);
    if (f->wd < 0) f->wd = inotify_add_watch(inotify_fd_, path_.c_str(), kFileMask);
    if (f->wd < 0) spdlog::warn("login: cannot watch {}: {}", path_, std::strerror(errno));
  }
  return true;
}

void LoginFileTail::Close(File* f, std::vector<LoginInput>* out) {
  if (f->fd < 0) return;
  if (kind_ == Kind::kLines && !f->partial.empty() && !f->skipping) {
    // The file ends without a line end: its last line is complete now.
    LoginInput in;
    in.origin = origin_;
    in.data = std::move(f->partial);
    if (!in.data.empty() && in.data.back() == '\r') in.data.pop_back();
    if (!in.data.empty()) out->push_back(std::move(in));
  }
  // Watches are per inode: never remove one the other file still uses.
  const File& other = f == &current_ ? retired_ : current_;
  if (f->wd >= 0 && inotify_fd_ >= 0 && f->wd != other.wd) inotify_rm_watch(inotify_fd_, f->wd);
  close(f->fd);
  *f = File{};
}

void LoginFileTail::Deliver(File* f, std::string_view bytes, std::vector<LoginInput>* out) {
  auto emit = [&](std::string&& data) {
    if (!data.empty() && data.back() == '\r') data.pop_back();
    if (data.empty()) return;
    LoginInput in;
    in.origin = origin_;
    in.data = std::move(data);
    out->push_back(std::move(in));
  };
  if (kind_ == Kind::kRecords) {
    f->partial.append(bytes);
    size_t whole = f->partial.size() - f->partial.size() % kRecordSize;
    for (size_t at = 0; at < whole; at += kRecordSize) {
      LoginInput in;
      in.origin = origin_;
      in.data = f->partial.substr(at, kRecordSize);
      out->push_back(std::move(in));
    }
    f->partial.erase(0, whole);
    return;
  }
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t nl = bytes.find('\n', pos);
    const std::string_view piece = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    const size_t next = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (f->skipping) {
      if (nl != std::string_view::npos) f->skipping = false;
      pos = next;
      continue;
    }
    if (f->partial.size() + piece.size() > max_line_) {
      f->partial.append(piece.substr(0, max_line_ - f->partial.size()));
      emit(std::move(f->partial));
      f->partial.clear();
      Count("lines_truncated");
      f->skipping = nl == std::string_view::npos;
      pos = next;
      continue;
    }
    f->partial.append(piece);
    if (nl == std::string_view::npos) break;
    emit(std::move(f->partial));
    f->partial.clear();
    pos = next;
  }
}

bool LoginFileTail::ReadNew(File* f, int64_t now_mono_ms, size_t* budget, std::vector<LoginInput>* out) {
  struct stat st {};
  if (fstat(f->fd, &st) != 0) {
    Count("input_read_errors");
    return true;
  }
  if (static_cast<uint64_t>(st.st_size) < f->offset) {
    // Truncated in place (copytruncate): what is there now was written since.
    Count("log_truncations");
    f->offset = 0;
    f->partial.clear();
    f->skipping = false;
  }
  char buf[kChunk];
  while (true) {
    if (*budget == 0) return false;
    const ssize_t n = pread(f->fd, buf, std::min(sizeof buf, *budget), static_cast<off_t>(f->offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::warn("login: reading {}: {}", path_, std::strerror(errno));
      Count("input_read_errors");
      return true;
    }
    if (n == 0) return true;
    f->offset += static_cast<uint64_t>(n);
    *budget -= static_cast<size_t>(n);
    f->last_growth_ms = now_mono_ms;
    Deliver(f, std::string_view(buf, static_cast<size_t>(n)), out);
  }
}

void LoginFileTail::ReadSnapshot(bool initial, std::vector<LoginInput>* out) {
  if (current_.fd < 0) return;
  std::string content;
  char buf[kChunk];
  while (content.size() < kMaxSnapshot) {
    const ssize_t n = pread(current_.fd, buf, std::min(sizeof buf, kMaxSnapshot - content.size()),
                            static_cast<off_t>(content.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      Count("input_read_errors");
      return;
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  if (snapshot_read_ && content == snapshot_) return;
  snapshot_ = content;
  snapshot_read_ = true;
  LoginInput in;
  in.origin = origin_;
  in.data = std::move(content);
  in.initial = initial;
  out->push_back(std::move(in));
}

void LoginFileTail::Open(int64_t now_mono_ms, std::vector<LoginInput>* out) {
  if (current_.fd >= 0) return;
  if (kind_ == Kind::kSnapshot) {
    if (OpenFile(&current_, false, now_mono_ms)) ReadSnapshot(true, out);
    return;
  }
  OpenFile(&current_, true, now_mono_ms);
}

void LoginFileTail::Poll(int64_t now_mono_ms, std::vector<LoginInput>* out) {
  more_ = false;
  struct stat st {};
  const bool exists = stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  const bool replaced = exists && current_.fd >= 0 && (st.st_ino != current_.ino || st.st_dev != current_.dev);

  if (kind_ == Kind::kSnapshot) {
    if (replaced) Close(&current_, out);
    if (current_.fd < 0 && exists) OpenFile(&current_, false, now_mono_ms);
    ReadSnapshot(false, out);
    return;
  }

  size_t budget = kPollBudget;
  if (retired_.fd >= 0) {
    if (!ReadNew(&retired_, now_mono_ms, &budget, out)) {
      more_ = true;
      return;
    }
    if (now_mono_ms - retired_.last_growth_ms >= grace_ms_) Close(&retired_, out);
  }
  if (current_.fd >= 0 && !ReadNew(&current_, now_mono_ms, &budget, out)) {
    more_ = true;
    return;
  }
  if (!exists) return;  // renamed or removed: keep reading it until another file takes the name
  if (current_.fd < 0) {
    // A file where there was none: everything in it is new.
    if (OpenFile(&current_, false, now_mono_ms) && !ReadNew(&current_, now_mono_ms, &budget, out)) more_ = true;
    return;
  }
  if (!replaced) return;
  File old;
  std::swap(old, current_);
  if (!OpenFile(&current_, false, now_mono_ms)) {
    std::swap(old, current_);  // gone again meanwhile: keep the old one
    return;
  }
  // Rotation: the old file, read to its end above, is retired; writers that have not reopened
  // yet may still add to it for a while.
  Close(&retired_, out);
  retired_ = std::move(old);
  retired_.last_growth_ms = now_mono_ms;
  Count("log_rotations");
  spdlog::debug("login: {} was rotated; reading the new file", path_);
  if (!ReadNew(&current_, now_mono_ms, &budget, out)) more_ = true;
}

}  // namespace vigil
