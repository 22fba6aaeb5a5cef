#include "agent/platform/fake/fake_env.h"

#include <algorithm>
#include <set>

namespace vigil {
namespace {

class FakeAppendFile : public AppendFile {
 public:
  FakeAppendFile(FakeEnv& env, std::string path, uint64_t size) : env_(env), path_(std::move(path)), size_(size) {}
  Status Append(std::string_view data) override {
    env_.AppendTo(path_, data);
    size_ += data.size();
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status Sync() override {
    env_.SyncFile(path_);
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }

 private:
  FakeEnv& env_;
  std::string path_;
  uint64_t size_;
};

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

void FakeEnv::SetFile(const std::string& path, std::string content, FileInfo info) {
  std::lock_guard l(mu_);
  if (info.inode == 0) info.inode = next_inode_++;
  if (info.mode == 0) info.mode = 0100644;
  info.size = content.size();
  nodes_[path] = Node{std::move(content), "", info};
}

void FakeEnv::SetLink(const std::string& path, std::string target) {
  std::lock_guard l(mu_);
  Node n;
  n.link_target = std::move(target);
  n.info.mode = 0120777;
  n.info.inode = next_inode_++;
  nodes_[path] = std::move(n);
}

void FakeEnv::RemovePath(const std::string& path) {
  std::lock_guard l(mu_);
  const std::string prefix = path + "/";
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (it->first == path || it->first.starts_with(prefix)) it = nodes_.erase(it);
    else ++it;
  }
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->first == path || it->first.starts_with(prefix)) it = dirs_.erase(it);
    else ++it;
  }
}

std::string FakeEnv::Content(const std::string& path) const {
  std::lock_guard l(mu_);
  auto it = nodes_.find(path);
  return it == nodes_.end() ? "" : it->second.content;
}

bool FakeEnv::Exists(const std::string& path) const {
  std::lock_guard l(mu_);
  return nodes_.count(path) > 0 || dirs_.count(path) > 0;
}

void FakeEnv::AppendTo(const std::string& path, std::string_view data) {
  std::lock_guard l(mu_);
  Node& n = nodes_[path];
  n.synced = std::min(n.synced, n.content.size());
  n.content.append(data);
  n.info.size = n.content.size();
}

bool FakeEnv::DeniedLocked(const std::string& path) const {
  return std::any_of(denied_.begin(), denied_.end(), [&](const std::string& p) { return path.starts_with(p); });
}

const FakeEnv::Node* FakeEnv::ResolveLocked(const std::string& path) const {
  std::string cur = path;
  for (int hops = 0; hops < 8; ++hops) {
    auto it = nodes_.find(cur);
    if (it == nodes_.end()) return nullptr;
    if (it->second.link_target.empty()) return &it->second;
    const std::string& t = it->second.link_target;
    cur = t.starts_with("/") ? t : Parent(cur) + "/" + t;
  }
  return nullptr;
}

Result<std::string> FakeEnv::ReadFile(const std::string& path, size_t max_bytes) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  const Node* n = ResolveLocked(path);
  if (!n) return Status::NotFound(path + ": no such file");
  return n->content.substr(0, max_bytes);
}

Result<std::string> FakeEnv::ReadFileAt(const std::string& path, uint64_t offset, size_t max_bytes) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  const Node* n = ResolveLocked(path);
  if (!n) return Status::NotFound(path + ": no such file");
  if (offset >= n->content.size()) return std::string();
  return n->content.substr(static_cast<size_t>(offset), max_bytes);
}

void FakeEnv::SyncFile(const std::string& path) {
  std::lock_guard l(mu_);
  ++sync_calls_;
  if (auto it = nodes_.find(path); it != nodes_.end()) it->second.synced = it->second.content.size();
}

void FakeEnv::DropUnsynced() {
  std::lock_guard l(mu_);
  for (auto& [_, n] : nodes_) {
    if (n.synced < n.content.size()) n.content.resize(n.synced);
    n.info.size = n.content.size();
  }
}

Status FakeEnv::WriteFileAtomic(const std::string& path, std::string_view data) {
  {
    std::lock_guard l(mu_);
    if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  }
  SetFile(path, std::string(data));
  return Status::Ok();
}

Result<std::vector<std::string>> FakeEnv::ListDir(const std::string& path) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  const std::string prefix = path == "/" ? "/" : path + "/";
  std::set<std::string> names;
  auto add = [&](const std::string& p) {
    if (!p.starts_with(prefix) || p.size() == prefix.size()) return;
    std::string rest = p.substr(prefix.size());
    names.insert(rest.substr(0, rest.find('/')));
  };
  for (const auto& [p, _] : nodes_) add(p);
  for (const auto& [p, _] : dirs_) add(p);
  if (names.empty() && dirs_.count(path) == 0) return Status::NotFound(path + ": no such directory");
  return std::vector<std::string>(names.begin(), names.end());
}

Result<std::string> FakeEnv::ReadLink(const std::string& path) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return Status::NotFound(path + ": no such file");
  if (it->second.link_target.empty()) return Status::InvalidArgument(path + ": not a symlink");
  return it->second.link_target;
}

Result<FileInfo> FakeEnv::Stat(const std::string& path) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  if (const Node* n = ResolveLocked(path)) return n->info;
  const std::string prefix = path + "/";
  bool is_dir = dirs_.count(path) > 0 ||
                std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& kv) { return kv.first.starts_with(prefix); });
  if (!is_dir) return Status::NotFound(path + ": no such file");
  FileInfo fi;
  fi.is_dir = true;
  fi.mode = 040755;
  return fi;
}

Status FakeEnv::MakeDirs(const std::string& path) {
  std::lock_guard l(mu_);
  if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
  dirs_[path] = true;
  return Status::Ok();
}

Status FakeEnv::Rename(const std::string& from, const std::string& to) {
  std::lock_guard l(mu_);
  auto it = nodes_.find(from);
  if (it == nodes_.end()) return Status::NotFound(from + ": no such file");
  Node n = std::move(it->second);
  nodes_.erase(it);
  nodes_[to] = std::move(n);
  return Status::Ok();
}

Status FakeEnv::Remove(const std::string& path) {
  std::lock_guard l(mu_);
  if (nodes_.erase(path) == 0) return Status::NotFound(path + ": no such file");
  return Status::Ok();
}

Result<std::unique_ptr<AppendFile>> FakeEnv::OpenAppend(const std::string& path) {
  uint64_t size = 0;
  {
    std::lock_guard l(mu_);
    if (DeniedLocked(path)) return Status::PermissionDenied(path + ": permission denied");
    Node& n = nodes_[path];
    size = n.content.size();
  }
  return std::unique_ptr<AppendFile>(new FakeAppendFile(*this, path, size));
}

Result<std::string> FakeEnv::Sha256File(const std::string& path, uint64_t max_bytes) {
  // Not a real digest: a stand-in that is stable per content, which is all tests compare.
  auto content = ReadFile(path, SIZE_MAX);
  if (!content.ok()) return content.status();
  if (content->size() > max_bytes) return Status::InvalidArgument(path + ": over the hashing limit");
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : *content) h = (h ^ c) * 1099511628211ull;
  char buf[65];
  snprintf(buf, sizeof(buf), "%016llx%048d", static_cast<unsigned long long>(h), 0);
  return std::string(buf);
}

}  // namespace vigil
