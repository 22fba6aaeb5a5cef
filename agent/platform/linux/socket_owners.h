// SocketOwners: which process holds a socket, found by reading the links of /proc/PID/fd over
// Env (so it runs on FakeEnv). A socket's link reads "socket:[INODE]" (proc(5)).
//
// Cost: one readlink per open file descriptor of every process, so callers look up only the
// inodes they have not resolved before, all of them in one pass. A socket shared by several
// processes (inherited over fork) is given to the lowest pid that holds it, usually the
// parent that created it. Threads are not listed in /proc, so every pid is a process.
//
// Threads: one instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/platform/env.h"

namespace vigil {

// The inode of a "socket:[INODE]" link target; 0 when the text is not one.
uint64_t ParseSocketLink(std::string_view target);

class SocketOwners {
 public:
  explicit SocketOwners(Env& env, std::string proc_root = "/proc");

  // Finds the owner of each inode in `inodes` (pid), or leaves it out of the result when no
  // process holds it (gone, a kernel socket, or /proc unreadable). One pass over /proc;
  // stops early once every inode is found.
  std::unordered_map<uint64_t, int32_t> Find(const std::vector<uint64_t>& inodes);

  uint64_t scans() const { return scans_; }  // passes over /proc so far

 private:
  Env& env_;
  const std::string proc_root_;
  uint64_t scans_ = 0;
};

}  // namespace vigil
