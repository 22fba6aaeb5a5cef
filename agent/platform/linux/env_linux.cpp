// The real Env on Linux (glibc or musl, any architecture).
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <sha2.h>  // libmd: small message-digest library (47 KB), no OpenSSL needed on a device

#include "agent/platform/env.h"
#include "agent/platform/linux/fd.h"

namespace vigil {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = path + ": " + what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH: return Status::NotFound(std::move(msg));
    case EACCES:
    case EPERM: return Status::PermissionDenied(std::move(msg));
    default: return Status::IoError(std::move(msg));
  }
}

class RealClock : public Clock {
 public:
  int64_t NowMs() override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
  }
  int64_t MonotonicMs() override {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
  }
};

class PosixAppendFile : public AppendFile {
 public:
  PosixAppendFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixAppendFile() override { close(fd_); }
  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }  // writes go straight to the kernel
  Status Sync() override {
    if (fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

FileInfo ToFileInfo(const struct stat& st) {
  FileInfo fi;
  fi.dev = st.st_dev;
  fi.inode = st.st_ino;
  fi.size = static_cast<uint64_t>(st.st_size);
  fi.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  fi.mode = st.st_mode;
  fi.uid = st.st_uid;
  fi.gid = st.st_gid;
  fi.is_dir = S_ISDIR(st.st_mode);
  return fi;
}

class LinuxEnv : public Env {
 public:
  Clock& clock() override { return clock_; }

  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus("open", path, errno);
    std::string out;
    char buf[4096];
    while (out.size() < max_bytes) {
      size_t want = std::min(sizeof(buf), max_bytes - out.size());
      ssize_t n = read(fd.get(), buf, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path, errno);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  Result<std::string> ReadFileAt(const std::string& path, uint64_t offset, size_t max_bytes) override {
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus("open", path, errno);
    std::string out(max_bytes, '\0');
    size_t got = 0;
    while (got < max_bytes) {
      ssize_t n = pread(fd.get(), out.data() + got, max_bytes - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", path, errno);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

  Status SyncDir(const std::string& path) override {
    Fd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus("open", path, errno);
    if (fsync(fd.get()) != 0) return ErrnoStatus("fsync", path, errno);
    return Status::Ok();
  }

  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    {
      Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (fd.get() < 0) return ErrnoStatus("open", tmp, errno);
      std::string_view rest = data;
      while (!rest.empty()) {
        ssize_t n = write(fd.get(), rest.data(), rest.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoStatus("write", tmp, errno);
        }
        rest.remove_prefix(static_cast<size_t>(n));
      }
      if (fsync(fd.get()) != 0) return ErrnoStatus("fsync", tmp, errno);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", path, errno);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = opendir(path.c_str());
    if (!d) return ErrnoStatus("opendir", path, errno);
    std::vector<std::string> names;
    while (dirent* ent = readdir(d)) {
      if (std::strcmp(ent->d_name, ".") == 0 || std::strcmp(ent->d_name, "..") == 0) continue;
      names.emplace_back(ent->d_name);
    }
    closedir(d);
    return names;
  }

  Result<std::string> ReadLink(const std::string& path) override {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
    if (n < 0) return ErrnoStatus("readlink", path, errno);
    return std::string(buf, static_cast<size_t>(n));
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    return ToFileInfo(st);
  }

  Status MakeDirs(const std::string& path) override {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      cur = path.substr(0, pos);
      if (cur.empty()) continue;
      if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", cur, errno);
    }
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    if (!S_ISDIR(st.st_mode)) return Status::IoError(path + ": exists and is not a directory");
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
    return Status::Ok();
  }

  Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) override {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st {};
    fstat(fd, &st);
    return std::unique_ptr<AppendFile>(new PosixAppendFile(path, fd, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::string> Sha256File(const std::string& path, uint64_t max_bytes) override {
    Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus("open", path, errno);
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      return Status::InvalidArgument(path + ": " + std::to_string(st.st_size) + " bytes, over the hashing limit");
    SHA2_CTX ctx;
    SHA256Init(&ctx);
    unsigned char buf[65536];
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path, errno);
      }
      if (n == 0) break;
      SHA256Update(&ctx, buf, static_cast<size_t>(n));
    }
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256Final(md, &ctx);
    const unsigned int len = SHA256_DIGEST_LENGTH;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
      hex += kHex[md[i] >> 4];
      hex += kHex[md[i] & 15];
    }
    return hex;
  }

  uint64_t SelfRssBytes() override {
    // statm: size resident shared ... in pages.
    auto text = ReadFile("/proc/self/statm", 256);
    if (!text.ok()) return 0;
    unsigned long size = 0, resident = 0;
    if (sscanf(text->c_str(), "%lu %lu", &size, &resident) != 2) return 0;
    return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  }

  uint64_t SelfCpuMs() override {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ms = [](const timeval& tv) { return static_cast<uint64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000; };
    return ms(ru.ru_utime) + ms(ru.ru_stime);
  }

  std::string Hostname() override {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
    return buf;
  }

  std::vector<std::string> Uname() override {
    utsname u{};
    if (uname(&u) != 0) return {};
    return {u.sysname, u.release, u.version, u.machine};
  }

  int64_t ClockTicksPerSecond() override {
    static const long ticks = sysconf(_SC_CLK_TCK);
    return ticks > 0 ? ticks : 100;
  }

 private:
  RealClock clock_;
};

}  // namespace

std::unique_ptr<Env> NewPlatformEnv() { return std::make_unique<LinuxEnv>(); }

}  // namespace vigil
