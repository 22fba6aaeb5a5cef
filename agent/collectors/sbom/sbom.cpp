#include "agent/collectors/sbom/sbom.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/sbom/sbom_events.h"
#include "agent/sbom/diff.h"
#include "agent/sbom/inventory.h"

namespace vigil::sbom {
namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "dpkg_status",
     .type = SettingType::kString,
     .default_value = "/var/lib/dpkg/status",
     .help = "The dpkg status database (Debian, Ubuntu, Raspberry Pi OS); an absolute path, empty to skip."},
    {.key = "opkg_status",
     .type = SettingType::kString,
     .default_value = "/usr/lib/opkg/status",
     .help = "The opkg status database (OpenWrt); an absolute path, empty to skip."},
    {.key = "apk_installed",
     .type = SettingType::kString,
     .default_value = "/lib/apk/db/installed",
     .help = "The apk installed database (Alpine); an absolute path, empty to skip."},
    {.key = "rpmdb",
     .type = SettingType::kString,
     .default_value = "/var/lib/rpm/rpmdb.sqlite",
     .help = "The rpm database in SQLite form (rpm 4.16 and later); an absolute path, empty to skip."},
    {.key = "os_release",
     .type = SettingType::kString,
     .default_value = "/etc/os-release",
     .help = "The os-release file naming the distribution (purl namespace and distro); /usr/lib/os-release "
             "when absent."},
    {.key = "poll_interval",
     .type = SettingType::kDuration,
     .default_value = "30s",
     .help = "Time between two looks at the databases' size and mtime when inotify cannot be used.",
     .min = 1'000,
     .max = 3'600'000},
};

int64_t SbomSteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

InventoryPaths SbomPathsFrom(const Config& config) {
  InventoryPaths p;
  p.dpkg_status = config.GetString("sbom.dpkg_status");
  p.opkg_status = config.GetString("sbom.opkg_status");
  p.apk_installed = config.GetString("sbom.apk_installed");
  p.rpmdb = config.GetString("sbom.rpmdb");
  p.os_release = config.GetString("sbom.os_release");
  return p;
}

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

class SbomCollector final : public Collector {
 public:
  SbomCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> given, bool use_given)
      : ctx_(ctx),
        paths_(SbomPathsFrom(ctx.config)),
        poll_ms_(ctx.config.GetInt("sbom.poll_interval")),
        given_(std::move(given)),
        use_given_(use_given) {}

  ~SbomCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    for (const std::string& p : WatchedFiles())
      if (p[0] != '/') return Status::InvalidArgument("sbom: not an absolute path: '" + p + "'");
    if (!paths_.os_release.empty() && paths_.os_release[0] != '/')
      return Status::InvalidArgument("sbom: not an absolute path: '" + paths_.os_release + "'");
    Result<Inventory> inv = ReadInventory(ctx_.env, paths_);
    if (!inv.ok()) return Status::Unavailable("sbom: " + inv.status().ToString());
    ReportIssues(*inv);
    current_ = std::move(*inv);
    ctx_.stats.Count("reloads");
    SetUpWatch();
    for (Event& e : InventoryEvents(current_, NextInventoryId())) ctx_.Emit(std::move(e));
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (watcher_) watcher_->Interrupt();
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  // The files whose change means a re-read: the databases, and rpm's write-ahead log.
  std::vector<std::string> WatchedFiles() const {
    std::vector<std::string> out;
    for (const std::string& p : paths_.Databases())
      if (!p.empty()) out.push_back(p);
    if (!paths_.rpmdb.empty()) out.push_back(paths_.rpmdb + "-wal");
    return out;
  }

  std::string NextInventoryId() { return std::to_string(ctx_.env.clock().NowMs()) + "-" + std::to_string(++inventories_); }

  void ReportIssues(const Inventory& inv) {
    std::set<std::string> now;
    for (const ParseIssue& i : inv.issues) {
      std::string s = i.ToString();
      if (reported_.count(s) == 0) spdlog::warn("sbom: {}", s);
      now.insert(std::move(s));
    }
    reported_ = std::move(now);
    if (!inv.issues.empty()) ctx_.stats.Count("malformed", inv.issues.size());
  }

  void SetUpWatch() {
    std::unique_ptr<FileWatcher> w;
    if (use_given_) {
      w = std::move(given_);
    } else {
      auto opened = OpenPlatformFileWatcher(PlatformFileWatcherOptions{});
      if (opened.ok()) w = std::move(*opened);
      else spdlog::warn("sbom: {}; polling the package databases every {} ms", opened.status().ToString(), poll_ms_);
    }
    names_.clear();
    if (w) {
      for (const std::string& f : WatchedFiles()) {
        auto [dir, name] = SplitPath(f);
        Result<int> wd = w->AddDirectory(dir);
        if (wd.ok()) names_[*wd].insert(name);
        else if (wd.status().code() != Status::Code::kNotFound)
          spdlog::warn("sbom: cannot watch {}: {}", dir, wd.status().ToString());
      }
      if (names_.empty()) w.reset();  // no database directory to watch: poll for one to appear
    }
    std::lock_guard lock(mu_);
    watcher_ = std::move(w);
    if (stop_ && watcher_) watcher_->Interrupt();
    ctx_.stats.SetSource(watcher_ ? std::string(watcher_->name()) : "poll");
    seen_ = LookAll();
    next_poll_ms_ = SbomSteadyMs() + poll_ms_;
  }

  struct Seen {
    bool exists = false;
    uint64_t inode = 0, size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const Seen&) const = default;
  };
  std::vector<Seen> LookAll() {
    std::vector<Seen> out;
    for (const std::string& f : WatchedFiles()) {
      Result<FileInfo> info = ctx_.env.Stat(f);
      out.push_back(info.ok() ? Seen{true, info->inode, info->size, info->mtime_ns} : Seen{});
    }
    return out;
  }

  // Waits up to `timeout_ms` for a sign that a database changed.
  bool WaitForChange(int64_t timeout_ms) {
    FileWatcher* w = nullptr;
    {
      std::lock_guard lock(mu_);
      w = watcher_.get();
    }
    const int64_t deadline = SbomSteadyMs() + std::max<int64_t>(timeout_ms, 0);
    if (w != nullptr) {
      // Other files of the directories (dpkg's lock, apk's scripts) wake Read too: only the
      // databases' names count, and the wait goes on until the deadline.
      bool changed = false;
      bool lost = false;
      Status st;
      do {
        std::vector<WatchEvent> events;
        st = w->Read(static_cast<int>(std::clamp<int64_t>(deadline - SbomSteadyMs(), 0, 3'600'000)), &events);
        lost = !st.ok();
        for (const WatchEvent& e : events) {
          if (e.mask & WatchEvent::kOverflow) changed = true;
          if (e.mask & (WatchEvent::kIgnored | WatchEvent::kDeleteSelf | WatchEvent::kMoveSelf)) lost = true;
          auto it = names_.find(e.wd);
          if (it != names_.end() && it->second.count(e.name) > 0) changed = true;
        }
      } while (!changed && !lost && !Stopping() && SbomSteadyMs() < deadline);
      if (lost && !Stopping()) {
        spdlog::warn("sbom: the watch on the package databases ended ({}); polling every {} ms",
                     st.ok() ? "a directory went away" : st.ToString(), poll_ms_);
        std::lock_guard lock(mu_);
        watcher_.reset();
        ctx_.stats.SetSource("poll");
        seen_ = LookAll();
        next_poll_ms_ = SbomSteadyMs() + poll_ms_;
        return true;  // whatever happened meanwhile is read now
      }
      return changed;
    }
    std::unique_lock lock(mu_);
    while (!stop_) {
      const int64_t now = SbomSteadyMs();
      if (now >= next_poll_ms_) {
        next_poll_ms_ = now + poll_ms_;
        std::vector<Seen> seen = LookAll();
        const bool changed = seen != seen_;
        seen_ = std::move(seen);
        if (changed) return true;
        continue;
      }
      if (now >= deadline) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(std::min(deadline, next_poll_ms_) - now));
    }
    return false;
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  void Reload() {
    Result<Inventory> inv = ReadInventory(ctx_.env, paths_);
    if (!inv.ok()) {
      ctx_.stats.Count("read_errors");
      spdlog::warn("sbom: re-reading the package databases failed, the last inventory kept: {}",
                   inv.status().ToString());
      return;
    }
    ctx_.stats.Count("reloads");
    ReportIssues(*inv);
    InventoryDiff diff = DiffPackages(current_.packages, inv->packages);
    current_ = std::move(*inv);
    for (Event& e : ChangeEvents(diff, current_.os)) ctx_.Emit(std::move(e));
  }

  void Run() {
    while (!Stopping()) {
      if (!WaitForChange(1'000)) continue;
      // Quiet for kQuietMs, at most kMaxDebounceMs.
      const int64_t give_up = SbomSteadyMs() + kMaxDebounceMs;
      while (!Stopping() && SbomSteadyMs() < give_up && WaitForChange(std::min(kQuietMs, give_up - SbomSteadyMs()))) {
      }
      if (Stopping()) break;
      Reload();
    }
  }

  CollectorContext ctx_;
  const InventoryPaths paths_;
  const int64_t poll_ms_;
  std::unique_ptr<FileWatcher> given_;
  const bool use_given_;
  Inventory current_;
  std::set<std::string> reported_;       // issues logged, as "file:line: reason"
  std::map<int, std::set<std::string>> names_;  // watch id -> file names in that directory
  uint64_t inventories_ = 0;

  std::mutex mu_;  // guards watcher_ (replaced on fallback, interrupted by Stop), stop_, seen_
  std::condition_variable cv_;
  std::unique_ptr<FileWatcher> watcher_;
  bool stop_ = false;
  std::vector<Seen> seen_;
  int64_t next_poll_ms_ = 0;
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<SbomCollector>(ctx, nullptr, false); }

}  // namespace

std::unique_ptr<Collector> NewSbomCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> watcher) {
  return std::make_unique<SbomCollector>(ctx, std::move(watcher), true);
}

extern const CollectorDescriptor kDescriptor = {
    .name = "sbom",
    .help = "Installed packages (dpkg, opkg, apk, rpm) with OS release and kernel: a full inventory at start, then "
            "the packages added, removed and upgraded.",
    .default_priority = Priority::kLow,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::sbom
