// Env: every file-system access of the agent goes through this interface, so the logic
// above it (collectors, identity, outputs) runs against an in-memory fake in unit tests.
//
// Implementations: platform/linux/env_linux.cpp (the real one, chosen by CMake) and
// platform/fake/fake_env.h (in-memory files, manual clock). All methods are thread-safe.
// Paths are absolute. Errors: NotFound when the path is absent, PermissionDenied, IoError
// otherwise; messages name the path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/status.h"

namespace vigil {

struct FileInfo {
  uint64_t dev = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;  // permission bits and type, as st_mode
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool is_dir = false;
};

// A file opened for appending (JSON Lines output, spool segments). Not thread-safe: one
// owner, except that Sync may run on another thread while the owner appends.
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Flush() = 0;  // to the kernel
  virtual Status Sync() = 0;   // to the storage
  virtual uint64_t size() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  virtual Clock& clock() = 0;

  // Reads at most max_bytes (more is cut, not an error). /proc files report size 0, so
  // implementations read until EOF.
  virtual Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 1 << 20) = 0;
  // Reads at most max_bytes starting at byte `offset` (past the end: empty).
  virtual Result<std::string> ReadFileAt(const std::string& path, uint64_t offset, size_t max_bytes) = 0;
  // Writes via a temporary file, fsync and rename: readers see the old or the new content.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;  // names, no . ..
  virtual Result<std::string> ReadLink(const std::string& path) = 0;
  virtual Result<FileInfo> Stat(const std::string& path) = 0;  // follows symlinks
  virtual Status MakeDirs(const std::string& path) = 0;        // mkdir -p, mode 0700
  // Makes the directory's entries (files created, renamed, removed in it) durable.
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Result<std::unique_ptr<AppendFile>> OpenAppend(const std::string& path) = 0;

  // SHA-256 of a file's content as 64 lowercase hex digits; files over max_bytes are refused
  // with InvalidArgument (hashing a huge file would stall the collector).
  virtual Result<std::string> Sha256File(const std::string& path, uint64_t max_bytes) = 0;

  // Own process: resident set size in bytes and CPU time (user + system) in ms.
  virtual uint64_t SelfRssBytes() = 0;
  virtual uint64_t SelfCpuMs() = 0;

  // Host facts that are not files.
  virtual std::string Hostname() = 0;
  // uname: {sysname, release, version, machine}
  virtual std::vector<std::string> Uname() = 0;
  // clock ticks per second (USER_HZ) for /proc/<pid>/stat times.
  virtual int64_t ClockTicksPerSecond() = 0;
};

// The real environment of this platform (Linux: platform/linux/env_linux.cpp).
std::unique_ptr<Env> NewPlatformEnv();

}  // namespace vigil
