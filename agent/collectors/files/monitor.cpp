#include "agent/collectors/files/monitor.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <spdlog/spdlog.h>

namespace vigil::files {
namespace {

// st_mode file types (as in <sys/stat.h>, which this OS-independent code does not include).
constexpr uint32_t kTypeMask = 0170000;
constexpr uint32_t kTypeRegular = 0100000;
constexpr uint32_t kTypeDirectory = 0040000;

constexpr size_t kMaxRenameCookies = 256;
constexpr int64_t kMaxHoldFactor = 4;

constexpr uint32_t kStructural =
    WatchEvent::kCreate | WatchEvent::kDelete | WatchEvent::kMovedFrom | WatchEvent::kMovedTo;

std::string Parent(const std::string& path) {
  if (path == "/") return "";
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Join(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

std::string Prefix(const std::string& dir) { return dir == "/" ? "/" : dir + "/"; }

bool SameContentKey(const FileInfo& a, const FileInfo& b) {
  return a.dev == b.dev && a.inode == b.inode && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

}  // namespace

Result<std::string> NormalizeRoot(const std::string& path) {
  if (path.empty() || path[0] != '/') return Status::InvalidArgument("'" + path + "' is not an absolute path");
  std::string out;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string comp = path.substr(start, slash - start);
    start = slash + 1;
    if (comp.empty()) continue;
    if (comp == "." || comp == "..")
      return Status::InvalidArgument("'" + path + "' has a '" + comp + "' component; write the path without it");
    out += "/" + comp;
  }
  return out.empty() ? std::string("/") : out;
}

std::string ModeString(uint32_t mode) {
  std::string s(4, '0');
  const uint32_t bits = mode & 07777;
  for (int i = 3; i >= 0; --i) s[static_cast<size_t>(3 - i)] = static_cast<char>('0' + ((bits >> (3 * i)) & 7));
  return s;
}

FileMonitor::FileMonitor(Env& env, CollectorStats& stats, FileWatcher* watcher, MonitorOptions options, Sink sink)
    : env_(env), stats_(stats), watcher_(watcher), options_(std::move(options)), sink_(std::move(sink)) {}

std::optional<std::string> FileMonitor::CoveringRoot(const std::string& path) const {
  const std::string* best = nullptr;
  for (const std::string& root : options_.roots) {
    if (path == root) return root;
    const std::string prefix = Prefix(root);
    if (!path.starts_with(prefix) || path.size() == prefix.size()) continue;
    const int depth = 1 + static_cast<int>(std::count(path.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                                                      path.end(), '/'));
    if (depth <= options_.max_depth && (!best || root.size() > best->size())) best = &root;
  }
  if (!best) return std::nullopt;
  return *best;
}

bool FileMonitor::IsAncestorOfRoot(const std::string& path) const {
  const std::string prefix = Prefix(path);
  return std::any_of(options_.roots.begin(), options_.roots.end(),
                     [&](const std::string& root) { return root != path && root.starts_with(prefix); });
}

std::set<std::string> FileMonitor::WantedDirectories() const {
  std::set<std::string> wanted;
  auto is_dir = [&](const std::string& p) {
    auto info = env_.Stat(p);
    return info.ok() && info->is_dir;
  };
  for (const std::string& root : options_.roots) {
    std::string ancestor = Parent(root);
    while (!ancestor.empty() && !is_dir(ancestor)) ancestor = Parent(ancestor);
    if (!ancestor.empty()) wanted.insert(ancestor);
    if (!is_dir(root)) continue;
    // The root and its subdirectories that have entries within max_depth, not through links.
    std::vector<std::pair<std::string, int>> stack = {{root, 1}};
    while (!stack.empty() && wanted.size() < options_.max_entries) {
      auto [dir, depth] = stack.back();
      stack.pop_back();
      wanted.insert(dir);
      if (depth >= options_.max_depth) continue;
      auto names = env_.ListDir(dir);
      if (!names.ok()) continue;
      for (const std::string& name : *names) {
        const std::string p = Join(dir, name);
        if (!env_.ReadLink(p).ok() && is_dir(p)) stack.emplace_back(p, depth + 1);
      }
    }
  }
  return wanted;
}

void FileMonitor::Reconcile() {
  need_reconcile_ = false;
  if (!watcher_) return;
  const std::set<std::string> wanted = WantedDirectories();
  for (auto it = wd_by_dir_.begin(); it != wd_by_dir_.end();) {
    if (wanted.count(it->first) > 0) {
      ++it;
      continue;
    }
    const int wd = it->second;
    it = wd_by_dir_.erase(it);
    auto alias = std::find_if(wd_by_dir_.begin(), wd_by_dir_.end(), [&](const auto& kv) { return kv.second == wd; });
    if (alias == wd_by_dir_.end()) {
      watcher_->Remove(wd);
      dirs_by_wd_.erase(wd);
    } else {
      dirs_by_wd_[wd] = alias->first;  // the same directory, still wanted under another path
    }
  }
  for (const std::string& dir : wanted) {
    if (wd_by_dir_.count(dir) > 0) continue;
    auto wd = watcher_->AddDirectory(dir);
    if (!wd.ok()) {
      // Gone or replaced meanwhile: the next notification about it reconciles again.
      if (wd.status().code() == Status::Code::kNotFound || wd.status().code() == Status::Code::kInvalidArgument) continue;
      stats_.Count("watch_failed");
      spdlog::warn("files: cannot watch {}: {}", dir, wd.status().ToString());
      continue;
    }
    wd_by_dir_[dir] = *wd;
    dirs_by_wd_.emplace(*wd, dir);  // the same directory under two paths keeps its first
  }
}

void FileMonitor::Walk(const std::string& dir, int depth, size_t* budget, std::vector<std::string>* out) const {
  auto names = env_.ListDir(dir);
  if (!names.ok()) return;
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    if (*budget == 0) return;
    --*budget;
    const std::string p = Join(dir, name);
    out->push_back(p);
    if (depth >= options_.max_depth || env_.ReadLink(p).ok()) continue;
    auto info = env_.Stat(p);
    if (info.ok() && info->is_dir) Walk(p, depth + 1, budget, out);
  }
}

void FileMonitor::Discover(std::vector<std::string>* covered) {
  size_t budget = options_.max_entries;
  for (const std::string& root : options_.roots) {
    covered->push_back(root);
    auto info = env_.Stat(root);
    if (info.ok() && info->is_dir) Walk(root, 1, &budget, covered);
  }
  if (budget == 0) stats_.Count("entries_over_limit");
}

std::string FileMonitor::Hash(const std::string& path, const FileInfo& info) {
  if (options_.hash_max_size == 0) return "";
  if (info.size > options_.hash_max_size) {
    stats_.Count("sha256_skipped_size");
    return "";
  }
  auto digest = env_.Sha256File(path, options_.hash_max_size);
  if (!digest.ok()) {
    stats_.Count("sha256_failed");
    return "";
  }
  stats_.Count("sha256_computed");
  return *digest;
}

FileMonitor::State FileMonitor::Snapshot(const std::string& path, const State* old, bool rehash) {
  State s;
  auto link = env_.ReadLink(path);
  auto info = env_.Stat(path);  // follows a link
  if (link.ok()) {
    s.exists = true;
    s.type = "symlink";
    s.link_target = *link;
  } else if (!info.ok()) {
    return s;  // absent (or unreadable, which is reported the same way)
  } else {
    s.exists = true;
    const uint32_t type = info->mode & kTypeMask;
    s.type = info->is_dir || type == kTypeDirectory ? "directory" : type == kTypeRegular ? "file" : "other";
  }
  if (!info.ok()) return s;  // a dangling link
  s.info = *info;
  if (info->is_dir || (info->mode & kTypeMask) != kTypeRegular) return s;
  if (!rehash && old && old->exists && !old->sha256.empty() && old->type == s.type &&
      old->link_target == s.link_target && SameContentKey(old->info, s.info)) {
    s.sha256 = old->sha256;
  } else {
    s.sha256 = Hash(path, s.info);
  }
  return s;
}

void FileMonitor::Remember(const std::string& path, State s) {
  const bool is_root = std::find(options_.roots.begin(), options_.roots.end(), path) != options_.roots.end();
  if (!s.exists && !is_root) {
    state_.erase(path);
    return;
  }
  auto it = state_.find(path);
  if (it != state_.end()) {
    it->second = std::move(s);
  } else if (state_.size() < options_.max_entries + options_.roots.size() || is_root) {
    state_.emplace(path, std::move(s));
  } else {
    stats_.Count("entries_over_limit");
  }
}

void FileMonitor::MarkDirty(const std::string& path, uint32_t bits, int64_t now) {
  auto it = dirty_.find(path);
  if (it == dirty_.end()) {
    if (dirty_.size() >= options_.max_entries + options_.roots.size()) {
      stats_.Count("entries_over_limit");
      return;
    }
    it = dirty_.emplace(path, Dirty{}).first;
    it->second.first_ms = now;
  }
  it->second.last_ms = now;
  it->second.seen |= bits;
}

void FileMonitor::Start() {
  Reconcile();
  std::vector<std::string> covered;
  Discover(&covered);
  for (const std::string& p : covered) Remember(p, Snapshot(p, nullptr, true));
}

void FileMonitor::Handle(const std::vector<WatchEvent>& events) {
  const int64_t now = env_.clock().MonotonicMs();
  bool overflow = false;
  for (const WatchEvent& ev : events) {
    if (ev.mask & WatchEvent::kOverflow) {
      stats_.Drop("queue_overflow");
      overflow = true;
      continue;
    }
    auto it = dirs_by_wd_.find(ev.wd);
    if (it == dirs_by_wd_.end()) continue;
    const std::string dir = it->second;
    if (ev.mask & WatchEvent::kIgnored) {
      dirs_by_wd_.erase(it);
      std::erase_if(wd_by_dir_, [&](const auto& kv) { return kv.second == ev.wd; });
      need_reconcile_ = true;
      continue;
    }
    if (ev.mask & (WatchEvent::kDeleteSelf | WatchEvent::kMoveSelf)) {
      need_reconcile_ = true;
      continue;
    }
    if (ev.name.empty()) continue;
    const std::string path = Join(dir, ev.name);
    if ((ev.mask & kStructural) && ((ev.mask & WatchEvent::kIsDir) || IsAncestorOfRoot(path))) need_reconcile_ = true;
    const bool covered = CoveringRoot(path).has_value();

    if ((ev.mask & WatchEvent::kMovedFrom) && ev.cookie != 0) {
      if (moved_from_.size() >= kMaxRenameCookies) moved_from_.erase(moved_from_.begin());
      moved_from_[ev.cookie] = path;
    }
    std::string source;
    if ((ev.mask & WatchEvent::kMovedTo) && ev.cookie != 0) {
      if (auto c = moved_from_.find(ev.cookie); c != moved_from_.end()) {
        source = std::move(c->second);
        moved_from_.erase(c);
        if (auto d = dirty_.find(source); d != dirty_.end()) d->second.moved_to = path;
      }
    }
    if (!covered) continue;
    MarkDirty(path, ev.mask, now);
    if (!source.empty()) {
      if (auto d = dirty_.find(path); d != dirty_.end()) d->second.moved_from = source;
    }
  }
  if (overflow) {
    Rescan(/*rehash=*/true);
    return;
  }
  if (need_reconcile_) {
    Reconcile();
    std::vector<std::string> covered;
    Discover(&covered);
    for (const std::string& p : covered) {
      // Entries that appeared before their directory was watched (no notification for them).
      auto known = state_.find(p);
      if ((known == state_.end() || !known->second.exists) && dirty_.count(p) == 0) MarkDirty(p, 0, now);
    }
  }
}

void FileMonitor::Rescan(bool rehash) {
  stats_.Count("rescans");
  const int64_t now = env_.clock().MonotonicMs();
  Reconcile();
  std::vector<std::string> paths;
  Discover(&paths);
  for (const auto& [path, s] : state_) paths.push_back(path);
  for (const std::string& p : paths) {
    MarkDirty(p, 0, now);
    if (auto d = dirty_.find(p); d != dirty_.end()) {
      d->second.rescan = true;
      d->second.rehash = d->second.rehash || rehash;
    }
  }
  FlushDue();
}

void FileMonitor::ForgetWatcher() {
  watcher_ = nullptr;
  dirs_by_wd_.clear();
  wd_by_dir_.clear();
}

int64_t FileMonitor::NextDeadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [path, d] : dirty_) {
    if (d.rescan) return env_.clock().MonotonicMs();
    next = std::min({next, d.last_ms + options_.coalesce_ms, d.first_ms + kMaxHoldFactor * options_.coalesce_ms});
  }
  return next;
}

void FileMonitor::FlushDue() {
  const int64_t now = env_.clock().MonotonicMs();
  std::vector<std::pair<std::string, Dirty>> due;
  for (auto it = dirty_.begin(); it != dirty_.end();) {
    const Dirty& d = it->second;
    if (d.rescan || now >= d.last_ms + options_.coalesce_ms ||
        now >= d.first_ms + kMaxHoldFactor * options_.coalesce_ms) {
      due.emplace_back(it->first, std::move(it->second));
      it = dirty_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [path, d] : due) Examine(path, d);
}

void FileMonitor::Examine(const std::string& path, const Dirty& dirty) {
  const auto root = CoveringRoot(path);
  if (!root) return;
  State old;
  if (auto it = state_.find(path); it != state_.end()) old = it->second;
  // Notifications mean the content may have changed even when size and mtime did not.
  const bool rehash = dirty.rehash || !dirty.rescan;
  State now = Snapshot(path, &old, rehash);

  std::string action;
  bool replaced = false;
  if (!old.exists && now.exists) {
    action = "created";
  } else if (old.exists && !now.exists) {
    action = ((dirty.seen & WatchEvent::kMovedFrom) || !dirty.moved_to.empty()) ? "moved" : "deleted";
    if (old.type == "directory") {
      // What was below it is gone with it (a rename away sends nothing for the entries).
      const int64_t t = env_.clock().MonotonicMs();
      const std::string prefix = Prefix(path);
      for (const auto& [p, s] : state_) {
        if (p.starts_with(prefix)) MarkDirty(p, dirty.seen & WatchEvent::kMovedFrom, t);
      }
    }
  } else if (old.exists && now.exists) {
    replaced = old.info.inode != now.info.inode || old.info.dev != now.info.dev;
    const bool hashed = !old.sha256.empty() && !now.sha256.empty();
    const bool content = old.type != now.type || old.link_target != now.link_target ||
                         (hashed ? old.sha256 != now.sha256
                                 : old.info.size != now.info.size || old.info.mtime_ns != now.info.mtime_ns);
    const bool attrs = old.info.mode != now.info.mode || old.info.uid != now.info.uid || old.info.gid != now.info.gid;
    if (content || replaced || (dirty.seen & WatchEvent::kModify)) {
      action = "modified";
    } else if (attrs || (dirty.seen & WatchEvent::kAttrib)) {
      action = "attributes";
    }
  } else if (dirty.seen & (WatchEvent::kCreate | WatchEvent::kMovedTo)) {
    stats_.Count("transient");
  }

  if (!action.empty()) {
    Json d = Json::object();
    d["path"] = path;
    d["root"] = *root;
    if (now.exists) {
      d["type"] = now.type;
      if (!now.link_target.empty()) d["link_target"] = now.link_target;
      if (now.info.mode != 0 || now.type != "symlink") {
        d["mode"] = ModeString(now.info.mode);
        d["uid"] = now.info.uid;
        d["gid"] = now.info.gid;
        d["mtime"] = now.info.mtime_ns / 1'000'000;
        if (now.type != "directory") d["size"] = now.info.size;
      }
      if (!now.sha256.empty()) d["sha256"] = now.sha256;
    } else if (!old.type.empty()) {
      d["type"] = old.type;
    }
    if (action != "created" && action != "attributes" && !old.sha256.empty()) d["previous_sha256"] = old.sha256;
    if (action == "modified" || action == "attributes") {
      if (old.info.mode != now.info.mode) d["previous_mode"] = ModeString(old.info.mode);
      if (old.info.uid != now.info.uid) d["previous_uid"] = old.info.uid;
      if (old.info.gid != now.info.gid) d["previous_gid"] = old.info.gid;
    }
    if (action == "modified" && replaced) d["replaced"] = true;
    if ((action == "created" || action == "modified") && !dirty.moved_from.empty()) d["moved_from"] = dirty.moved_from;
    if (action == "moved" && !dirty.moved_to.empty()) d["moved_to"] = dirty.moved_to;
    Event e;
    e.type = "file";
    e.action = action;
    e.ts_ms = env_.clock().NowMs();
    e.data = std::move(d);
    sink_(std::move(e));
  }
  Remember(path, std::move(now));
}

}  // namespace vigil::files
