// The Linux LoginSource (see agent/platform/login_source.h): one poll(2) over an eventfd (for
// Interrupt), one inotify descriptor (every file tail and its directory), the syslog socket and
// the journal's descriptor. No polling loop: the thread sleeps until one of them is ready, or
// until the safety check (every check_interval_ms: each path is stat'ed, for events inotify
// lost or could not give, such as a directory that did not exist yet).
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "agent/platform/linux/login_file_tail.h"
#include "agent/platform/linux/login_journal.h"
#include "agent/platform/login_source.h"

namespace vigil {
namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;
constexpr size_t kMaxDatagramsPerRead = 256;
constexpr size_t kMaxJournalEntriesPerRead = 512;

int64_t MonotonicMs() {
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// A unix datagram socket bound at a path, as /dev/log is.
class SyslogSocket {
 public:
  ~SyslogSocket() { Close(); }

  Status Open(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
      return Status::InvalidArgument("syslog socket path '" + path + "' is empty or too long");
    std::memcpy(addr.sun_path, path.data(), path.size());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return Status::IoError(std::string("syslog socket: socket: ") + std::strerror(errno));
    const auto* sa = reinterpret_cast<const sockaddr*>(&addr);
    if (bind(fd_, sa, sizeof addr) != 0) {
      if (errno != EADDRINUSE) return Fail("cannot bind " + path);
      // A socket file is there: in use when something accepts datagrams on it, else stale.
      struct stat st {};
      if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return Fail(path + " exists and is not a socket");
      const int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const bool live = probe >= 0 && connect(probe, sa, sizeof addr) == 0;
      if (probe >= 0) close(probe);
      if (live) {
        Close();
        return Status::Unavailable("syslog socket " + path + " is in use by another process");
      }
      unlink(path.c_str());
      if (bind(fd_, sa, sizeof addr) != 0) return Fail("cannot bind " + path);
    }
    chmod(path.c_str(), 0666);  // every program may log, as with /dev/log
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    path_ = path;
    return Status::Ok();
  }

  int fd() const { return fd_; }

  // Receives what is queued, at most `max` datagrams.
  void Receive(size_t max_bytes, size_t max, CollectorStats* stats, std::vector<LoginInput>* out) {
    buf_.resize(max_bytes + 1);
    for (size_t i = 0; i < max; ++i) {
      const ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && stats) stats->Count("input_read_errors");
        return;
      }
      size_t len = static_cast<size_t>(n);
      if (len > max_bytes) {
        len = max_bytes;
        if (stats) stats->Count("lines_truncated");
      }
      LoginInput in;
      in.origin = LoginOrigin::kSyslog;
      in.data.assign(buf_.data(), len);
      out->push_back(std::move(in));
    }
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    // Remove the socket file only if it is still ours.
    struct stat st {};
    if (!path_.empty() && stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
      unlink(path_.c_str());
    path_.clear();
  }

 private:
  Status Fail(const std::string& what) {
    const int e = errno;
    Close();
    return Status::Unavailable("syslog socket: " + what + (e ? std::string(": ") + std::strerror(e) : ""));
  }

  int fd_ = -1;
  std::string buf_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

class LinuxLoginSource final : public LoginSource {
 public:
  explicit LinuxLoginSource(const LoginSourceOptions& o) : options_(o) {}

  ~LinuxLoginSource() override {
    tails_.clear();
    socket_.reset();
    journal_.reset();
    if (inotify_fd_ >= 0) close(inotify_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  Status Open() {
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
    inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inotify_fd_ < 0)
      spdlog::warn("login: inotify unavailable ({}); files are checked every {} ms", std::strerror(errno),
                   options_.check_interval_ms);
    const int64_t now = MonotonicMs();
    const int64_t grace = std::max(options_.check_interval_ms, 1000);
    auto add = [&](LoginOrigin origin, const std::string& path, LoginFileTail::Kind kind) {
      if (path.empty()) return;
      tails_.push_back(std::make_unique<LoginFileTail>(origin, path, kind, options_.max_line_bytes, grace, inotify_fd_,
                                                       options_.stats));
      WatchDir(*tails_.back());
      tails_.back()->Open(now, &pending_);
    };
    add(LoginOrigin::kAuthLog, options_.auth_log, LoginFileTail::Kind::kLines);
    add(LoginOrigin::kUtmp, options_.utmp, LoginFileTail::Kind::kSnapshot);
    add(LoginOrigin::kWtmp, options_.wtmp, LoginFileTail::Kind::kRecords);
    add(LoginOrigin::kBtmp, options_.btmp, LoginFileTail::Kind::kRecords);

    if (!options_.syslog_socket.empty()) {
      auto sock = std::make_unique<SyslogSocket>();
      Status st = sock->Open(options_.syslog_socket);
      if (st.ok()) {
        socket_ = std::move(sock);
      } else {
        spdlog::warn("login: {}", st.message());
      }
    }

    const bool auth_file_in_use =
        !tails_.empty() && tails_.front()->origin() == LoginOrigin::kAuthLog && tails_.front()->in_use();
    if (options_.journal == JournalMode::kOn || (options_.journal == JournalMode::kAuto && !auth_file_in_use)) {
      auto j = OpenLoginJournal(options_.journal_identifiers, options_.journal_directory,
                                options_.journal == JournalMode::kAuto);
      if (j.ok()) {
        journal_ = std::move(*j);
        if (auth_file_in_use)
          spdlog::warn("login: reading both {} and the journal; lines in both are counted twice", options_.auth_log);
      } else if (options_.journal == JournalMode::kOn) {
        spdlog::warn("login: journal not read: {}", j.status().message());
      } else {
        spdlog::info("login: journal not read: {}", j.status().message());
      }
    } else if (options_.journal == JournalMode::kAuto) {
      spdlog::info("login: journal not read: {} is read instead", options_.auth_log);
    }

    next_check_ms_ = now + options_.check_interval_ms;
    UpdateInUse();
    bool watching = socket_ || journal_;
    for (const auto& t : tails_)
      if (t->in_use() || dir_of_.count(t.get()) > 0) watching = true;
    if (!watching)
      return Status::Unavailable(
          "no login input here: no configured file or directory exists, "
          "no journal, no syslog socket");
    return Status::Ok();
  }

  uint32_t InUse() const override { return in_use_.load(std::memory_order_relaxed); }

  Status Read(int timeout_ms, std::vector<LoginInput>* out) override {
    if (!pending_.empty()) {
      out->insert(out->end(), std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
      pending_.clear();
      return Status::Ok();
    }
    if (interrupted_.load()) return Status::Ok();
    int64_t now = MonotonicMs();
    bool more = false;
    for (const auto& t : tails_) more = more || t->has_more();
    more = more || journal_more_;
    int timeout = more ? 0 : std::max<int>(0, static_cast<int>(std::min<int64_t>(timeout_ms, next_check_ms_ - now)));
    bool journal_wants_time = false;  // the journal asked to be processed by a deadline
    if (journal_) {
      const int jt = journal_->TimeoutMs();
      if (jt >= 0 && jt <= timeout) {
        timeout = jt;
        journal_wants_time = true;
      }
    }
    pollfd fds[4];
    int n = 0;
    fds[n++] = {wake_fd_, POLLIN, 0};
    const int inotify_at = inotify_fd_ >= 0 ? n : -1;
    if (inotify_fd_ >= 0) fds[n++] = {inotify_fd_, POLLIN, 0};
    const int socket_at = socket_ ? n : -1;
    if (socket_) fds[n++] = {socket_->fd(), POLLIN, 0};
    const int journal_at = journal_ ? n : -1;
    if (journal_) fds[n++] = {journal_->fd(), journal_->events(), 0};
    const int r = poll(fds, static_cast<nfds_t>(n), timeout);
    if (r < 0 && errno != EINTR) return Status::IoError(std::string("login source: poll: ") + std::strerror(errno));
    if (r > 0 && (fds[0].revents & POLLIN)) {
      uint64_t v = 0;
      (void)!read(wake_fd_, &v, sizeof v);
      return Status::Ok();
    }
    now = MonotonicMs();

    std::set<LoginFileTail*> due;
    for (const auto& t : tails_)
      if (t->has_more()) due.insert(t.get());
    if (r > 0 && inotify_at >= 0 && (fds[inotify_at].revents & POLLIN)) ReadInotify(&due);
    if (now >= next_check_ms_) {
      next_check_ms_ = now + options_.check_interval_ms;
      for (const auto& t : tails_) {
        if (dir_of_.count(t.get()) == 0) WatchDir(*t);
        due.insert(t.get());
      }
    }
    for (const auto& t : tails_)  // in a fixed order
      if (due.count(t.get()) > 0) t->Poll(now, out);

    if (r > 0 && socket_at >= 0 && (fds[socket_at].revents & POLLIN))
      socket_->Receive(options_.max_line_bytes, kMaxDatagramsPerRead, options_.stats, out);

    if (journal_ &&
        (journal_more_ || (r > 0 && journal_at >= 0 && fds[journal_at].revents) || (r == 0 && journal_wants_time))) {
      Status st = journal_->Read(kMaxJournalEntriesPerRead, options_.max_line_bytes, out, &journal_more_);
      if (!st.ok()) {
        spdlog::error("login: {}; the journal is no longer read", st.message());
        journal_.reset();
        journal_more_ = false;
      }
    }
    UpdateInUse();
    return Status::Ok();
  }

  void Interrupt() override {
    interrupted_.store(true);
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }

 private:
  void WatchDir(LoginFileTail& t) {
    if (inotify_fd_ < 0) return;
    const int wd = inotify_add_watch(inotify_fd_, t.dir().c_str(), kDirMask);
    if (wd < 0) return;  // tried again at the next safety check
    dirs_[wd] = t.dir();
    dir_of_[&t] = wd;
  }

  void ReadInotify(std::set<LoginFileTail*>* due) {
    alignas(inotify_event) char buf[16 << 10];
    while (true) {
      const ssize_t len = read(inotify_fd_, buf, sizeof buf);
      if (len <= 0) return;
      for (ssize_t at = 0; at < len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {
          if (options_.stats) options_.stats->Count("inotify_overflows");
          for (const auto& t : tails_) due->insert(t.get());
          continue;
        }
        const std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view();
        for (const auto& t : tails_) {
          const auto d = dir_of_.find(t.get());
          const bool its_name = d != dir_of_.end() && d->second == ev->wd && name == t->name();
          if (t->Owns(ev->wd) || its_name) due->insert(t.get());
        }
        if (ev->mask & IN_IGNORED) {
          // A directory watch went away (the directory was removed): set it up again later.
          if (dirs_.erase(ev->wd) > 0) {
            for (auto it = dir_of_.begin(); it != dir_of_.end();) it = it->second == ev->wd ? dir_of_.erase(it) : ++it;
          }
        }
      }
    }
  }

  void UpdateInUse() {
    uint32_t bits = 0;
    for (const auto& t : tails_)
      if (t->in_use()) bits |= LoginOriginBit(t->origin());
    if (socket_) bits |= LoginOriginBit(LoginOrigin::kSyslog);
    if (journal_) bits |= LoginOriginBit(LoginOrigin::kJournal);
    in_use_.store(bits, std::memory_order_relaxed);
  }

  const LoginSourceOptions options_;
  int wake_fd_ = -1;
  int inotify_fd_ = -1;
  std::vector<std::unique_ptr<LoginFileTail>> tails_;
  std::map<int, std::string> dirs_;             // directory watches
  std::map<const LoginFileTail*, int> dir_of_;  // each tail's directory watch
  std::unique_ptr<SyslogSocket> socket_;
  std::unique_ptr<LoginJournal> journal_;
  bool journal_more_ = false;
  std::vector<LoginInput> pending_;  // what Open read (utmp's initial content)
  int64_t next_check_ms_ = 0;
  std::atomic<uint32_t> in_use_{0};
  std::atomic<bool> interrupted_{false};
};

}  // namespace

Result<std::unique_ptr<LoginSource>> OpenLoginSource(const LoginSourceOptions& options) {
  auto source = std::make_unique<LinuxLoginSource>(options);
  Status st = source->Open();
  if (!st.ok()) return st;
  return std::unique_ptr<LoginSource>(std::move(source));
}

}  // namespace vigil
