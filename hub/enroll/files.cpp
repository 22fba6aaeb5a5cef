#include "hub/enroll/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vigil::hub::enroll_internal {
namespace {

std::string Errno() { return std::strerror(errno); }

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  ::unlink(tmp.c_str());  // a leftover of a crashed writer with the same pid
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + Errno());
  auto fail = [&](const std::string& what) {
    Status s = Status::IoError(what + " " + tmp + ": " + Errno());
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot chmod");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    Status s = Status::IoError("cannot close " + tmp + ": " + Errno());
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::IoError("cannot rename " + tmp + " to " + path + ": " + Errno());
    ::unlink(tmp.c_str());
    return s;
  }
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the rename is done either way
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IoError("cannot open " + path + ": " + Errno());
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IoError("cannot read " + path + ": " + Errno());
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDir(const std::string& dir, mode_t mode, bool force_mode) {
  std::error_code ec;
  bool existed = std::filesystem::is_directory(dir, ec);
  if (!existed) {
    std::filesystem::path parent = std::filesystem::path(dir).parent_path();
    if (!parent.empty()) {
      std::filesystem::create_directories(parent, ec);
      if (ec) return Status::IoError("cannot create directory " + parent.string() + ": " + ec.message());
    }
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
      return Status::IoError("cannot create directory " + dir + ": " + Errno());
    }
  }
  if ((!existed || force_mode) && ::chmod(dir.c_str(), mode) != 0) {
    return Status::IoError("cannot chmod directory " + dir + ": " + Errno());
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace vigil::hub::enroll_internal
