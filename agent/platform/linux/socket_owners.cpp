#include "agent/platform/linux/socket_owners.h"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

namespace vigil {
namespace {

// A /proc directory name: a pid of 1..2^31-1, digits only; -1 otherwise.
int32_t ParsePidName(std::string_view name) {
  if (name.empty() || name.size() > 10) return -1;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v >= 1 && v <= INT32_MAX ? static_cast<int32_t>(v) : -1;
}

}  // namespace

uint64_t ParseSocketLink(std::string_view target) {
  constexpr std::string_view kPrefix = "socket:[";
  if (target.size() < kPrefix.size() + 2 || target.substr(0, kPrefix.size()) != kPrefix || target.back() != ']')
    return 0;
  const std::string_view digits = target.substr(kPrefix.size(), target.size() - kPrefix.size() - 1);
  if (digits.size() > 20) return 0;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    const uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return 0;  // overflow
    v = next;
  }
  return v;
}

SocketOwners::SocketOwners(Env& env, std::string proc_root) : env_(env), proc_root_(std::move(proc_root)) {}

std::unordered_map<uint64_t, int32_t> SocketOwners::Find(const std::vector<uint64_t>& inodes) {
  std::unordered_map<uint64_t, int32_t> found;
  std::unordered_set<uint64_t> wanted(inodes.begin(), inodes.end());
  wanted.erase(0);
  if (wanted.empty()) return found;
  ++scans_;
  auto names = env_.ListDir(proc_root_);
  if (!names.ok()) return found;
  std::vector<int32_t> pids;
  pids.reserve(names->size());
  for (const std::string& n : *names) {
    const int32_t pid = ParsePidName(n);
    if (pid > 0) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());  // lowest pid first: it wins a shared socket
  std::string path;
  for (int32_t pid : pids) {
    const std::string fd_dir = proc_root_ + "/" + std::to_string(pid) + "/fd";
    auto fds = env_.ListDir(fd_dir);
    if (!fds.ok()) continue;  // gone, or not ours to read
    for (const std::string& fd : *fds) {
      path.assign(fd_dir).append("/").append(fd);
      auto target = env_.ReadLink(path);
      if (!target.ok()) continue;
      const uint64_t inode = ParseSocketLink(*target);
      if (inode == 0 || wanted.erase(inode) == 0) continue;
      found.emplace(inode, pid);
      if (wanted.empty()) return found;
    }
  }
  return found;
}

}  // namespace vigil
