// LoginFileTail: one file of the login source (auth log, wtmp, btmp or utmp) followed by
// inode, as platform/login_source.h describes. Part of the Linux LoginSource; compiled only
// into the login collector.
//
// The tail does not wait by itself: its owner calls Poll when inotify reports something about
// the file or its directory, and at every safety check. Poll then
//   1. reads the retired file (the one the path named before a rotation) to its end;
//      it is closed once it has not grown for `grace_ms`;
//   2. reads the current file from the last offset (a file shorter than the offset was
//      truncated: reading starts again at 0);
//   3. stats the path: a different inode there means a rotation (the current file, read to
//      its end, is retired and the new one read from its start); a file where there was none
//      is opened and read from its start.
// Each file in use has an inotify watch (IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF |
// IN_DELETE_SELF) on its inode, added through /proc/self/fd so it is the very file read.
// The directory watch (for IN_CREATE and IN_MOVED_TO of the name) is the owner's.
//
// Kinds: kLines delivers one input per line (the line end and a trailing CR dropped; a line
// longer than max_line_bytes is cut there and the rest of it skipped, counted lines_truncated;
// a last line without its end is held until the end comes, or delivered when its file is
// closed); kRecords one input per complete 384-byte record (a file whose size is not a multiple
// starts at the last whole record); kSnapshot the whole content (at most 1 MB) whenever it
// differs from the last delivered, `initial` on the first read at Open.
//
// Poll reads at most about 1 MB per call; has_more() then says another call should follow at
// once. Not thread-safe: the owner's thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/core/stats.h"
#include "agent/platform/login_source.h"

namespace vigil {

class LoginFileTail {
 public:
  enum class Kind { kLines, kRecords, kSnapshot };

  // `inotify_fd` may be -1 (no watches: the owner polls). `stats` may be null.
  LoginFileTail(LoginOrigin origin, std::string path, Kind kind, size_t max_line_bytes, int64_t grace_ms,
                int inotify_fd, CollectorStats* stats);
  ~LoginFileTail();
  LoginFileTail(const LoginFileTail&) = delete;
  LoginFileTail& operator=(const LoginFileTail&) = delete;

  // Opens the file if it is there: at its end (kLines, kRecords) or read whole (kSnapshot,
  // delivered as initial). A file that is not there is opened from its start when Poll finds it.
  void Open(int64_t now_mono_ms, std::vector<LoginInput>* out);
  void Poll(int64_t now_mono_ms, std::vector<LoginInput>* out);

  bool in_use() const { return current_.fd >= 0; }
  bool has_more() const { return more_; }
  // True when inotify watch `wd` is one of this tail's files.
  bool Owns(int wd) const { return wd >= 0 && (wd == current_.wd || wd == retired_.wd); }
  LoginOrigin origin() const { return origin_; }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  const std::string& name() const { return name_; }

 private:
  struct File {
    int fd = -1;
    int wd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t offset = 0;
    std::string partial;    // kLines: the start of a line whose end has not come
    bool skipping = false;  // kLines: inside a too long line, dropping until its end
    int64_t last_growth_ms = 0;
  };

  bool OpenFile(File* f, bool at_end, int64_t now_mono_ms);
  void Close(File* f, std::vector<LoginInput>* out);
  // Reads new bytes of f within the budget; returns false when the budget ran out first.
  bool ReadNew(File* f, int64_t now_mono_ms, size_t* budget, std::vector<LoginInput>* out);
  void ReadSnapshot(bool initial, std::vector<LoginInput>* out);
  void Deliver(File* f, std::string_view bytes, std::vector<LoginInput>* out);
  void Count(const char* name, uint64_t n = 1);

  const LoginOrigin origin_;
  const std::string path_;
  std::string dir_;
  std::string name_;
  const Kind kind_;
  const size_t max_line_;
  const int64_t grace_ms_;
  const int inotify_fd_;
  CollectorStats* stats_;
  File current_;
  File retired_;
  bool more_ = false;
  std::string snapshot_;  // kSnapshot: the content last delivered
  bool snapshot_read_ = false;
};

}  // namespace vigil
