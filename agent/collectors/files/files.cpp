#include "agent/collectors/files/files.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "agent/collectors/common/passwd.h"
#include "agent/collectors/files/monitor.h"
#include "agent/collectors/files/opens.h"
#include "agent/platform/open_watcher.h"

namespace vigil::files {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

constexpr SettingSpec kSettings[] = {
    {.key = "paths",
     .type = SettingType::kList,
     .default_value = "/etc/passwd,/etc/shadow,/etc/group,/etc/sudoers,/etc/ssh/sshd_config,/etc/crontab,"
                      "/root/.ssh/authorized_keys,/etc/init.d,/etc/systemd/system",
     .help = "Absolute paths watched: a file (also when missing: its creation is reported) or a directory with "
             "its entries down to max_depth levels"},
    {.key = "hash_max_size",
     .type = SettingType::kSize,
     .default_value = "16MB",
     .help = "Files larger than this are not hashed (no sha256; size and mtime tell changes); 0 disables hashing",
     .min = 0,
     .max = 4 * kGiB},
    {.key = "coalesce",
     .type = SettingType::kDuration,
     .default_value = "500ms",
     .help = "A path's changes are reported once it has been quiet this long (at most 4 times this after the "
             "first change): an editor's several writes give one event",
     .min = 10,
     .max = 60'000},
    {.key = "max_depth",
     .type = SettingType::kInt,
     .default_value = "2",
     .help = "Levels of entries watched below a watched directory: 1 its entries, 2 also its subdirectories' "
             "entries, ...",
     .min = 1,
     .max = 8},
    {.key = "max_entries",
     .type = SettingType::kInt,
     .default_value = "4096",
     .help = "Entries of watched directories remembered at most (the paths listed are always); beyond, their "
             "changes are not reported and are counted",
     .min = 16,
     .max = 1 << 20},
    {.key = "mode",
     .type = SettingType::kEnum,
     .default_value = "auto",
     .help = "Event source: inotify, poll (every path examined every poll_interval), or auto (inotify, else poll)",
     .choices = "auto|inotify|poll"},
    {.key = "poll_interval",
     .type = SettingType::kDuration,
     .default_value = "60s",
     .help = "How often every watched path is examined in poll mode",
     .min = 1'000,
     .max = 86'400'000},
    {.key = "watch_opens",
     .type = SettingType::kList,
     .default_value = "/dev/watchdog,/dev/watchdog0",
     .help = "Absolute paths (device nodes or files) whose every open is reported with the opening process "
             "(opened events, from fanotify; needs root); empty: none. Paths missing at start are not watched"},
};

constexpr int kReadTimeoutMs = 1000;

class FilesCollector final : public Collector {
 public:
  explicit FilesCollector(CollectorContext& ctx)
      : ctx_(ctx),
        mode_(ctx.config.GetString("files.mode")),
        poll_interval_ms_(ctx.config.GetInt("files.poll_interval")) {}

  FilesCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> given) : FilesCollector(ctx) {
    given_ = std::move(given);
    fixed_source_ = true;
  }

  ~FilesCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    MonitorOptions options;
    for (const std::string& p : ctx_.config.GetList("files.paths")) {
      auto root = NormalizeRoot(p);
      if (!root.ok()) return Status::InvalidArgument("files.paths: " + std::string(root.status().message()));
      if (std::find(options.roots.begin(), options.roots.end(), *root) == options.roots.end())
        options.roots.push_back(*root);
    }
    options.hash_max_size = static_cast<uint64_t>(ctx_.config.GetInt("files.hash_max_size"));
    options.coalesce_ms = ctx_.config.GetInt("files.coalesce");
    options.max_depth = static_cast<int>(ctx_.config.GetInt("files.max_depth"));
    options.max_entries = static_cast<size_t>(ctx_.config.GetInt("files.max_entries"));

    std::unique_ptr<FileWatcher> watcher = std::move(given_);
    if (!watcher && mode_ != "poll") {
      auto opened = OpenPlatformFileWatcher(PlatformFileWatcherOptions{});
      if (opened.ok()) {
        watcher = std::move(*opened);
      } else if (mode_ == "inotify") {
        return Status::Unavailable(std::string(opened.status().message()));
      } else {
        spdlog::info("files: {}; falling back to examining every path every {} ms", opened.status().message(),
                     poll_interval_ms_);
      }
    }
    VIGIL_RETURN_IF_ERROR(StartOpenWatch());
    ctx_.stats.SetSource(watcher ? std::string(watcher->name()) : "poll");
    {
      std::lock_guard lock(mu_);
      watcher_ = std::move(watcher);
      monitor_ = std::make_unique<FileMonitor>(ctx_.env, ctx_.stats, watcher_.get(), std::move(options),
                                               [this](Event&& e) { ctx_.Emit(std::move(e)); });
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (watcher_) watcher_->Interrupt();
      if (opens_) opens_->Interrupt();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (opens_thread_.joinable()) opens_thread_.join();
  }

 private:
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // files.watch_opens: fanotify marks on those paths and a thread reporting their opens. Not
  // having fanotify is not fatal (logged, counted as open_watch_unavailable); a path that
  // does not exist is skipped (most devices have no /dev/watchdog0).
  Status StartOpenWatch() {
    std::vector<std::string> paths;
    for (const std::string& p : ctx_.config.GetList("files.watch_opens")) {
      auto path = NormalizeRoot(p);
      if (!path.ok()) return Status::InvalidArgument("files.watch_opens: " + std::string(path.status().message()));
      paths.push_back(*path);
    }
    if (paths.empty() || opens_thread_.joinable()) return Status::Ok();
    auto opened = OpenPlatformOpenWatcher();
    if (!opened.ok()) {
      spdlog::warn("files: opens of {} will not be reported: {}", paths.front(), opened.status().message());
      ctx_.stats.Count("open_watch_unavailable");
      return Status::Ok();
    }
    size_t added = 0;
    for (const std::string& path : paths) {
      if (Status st = (*opened)->Add(path); st.ok()) {
        ++added;
      } else if (st.code() == Status::Code::kNotFound) {
        spdlog::debug("files: {} does not exist; its opens are not watched", path);
      } else {
        spdlog::warn("files: opens of {} will not be reported: {}", path, st.message());
        ctx_.stats.Count("open_watch_failed");
      }
    }
    if (added == 0) return Status::Ok();
    {
      std::lock_guard lock(mu_);
      opens_ = std::move(*opened);
    }
    opens_thread_ = std::thread([this] { WatchOpens(); });
    return Status::Ok();
  }

  void WatchOpens() {
    common::UserNames users(ctx_.env, ctx_.stats);
    OpenReporter reporter(ctx_.env, users, static_cast<int32_t>(getpid()));
    std::vector<OpenNotice> notices;
    while (!Stopping()) {
      notices.clear();
      uint64_t lost = 0;
      Status st = opens_->Read(kReadTimeoutMs, &notices, &lost);
      if (lost > 0) ctx_.stats.Drop("open_queue_overflow", lost);
      const int64_t now = ctx_.env.clock().NowMs();
      for (const OpenNotice& n : notices) {
        if (auto e = reporter.Build(n, now)) ctx_.Emit(std::move(*e));
      }
      if (!st.ok()) {
        spdlog::error("files: watching opens failed, stopped: {}", st.ToString());
        ctx_.stats.Count("open_watch_failed");
        return;
      }
    }
  }

  void Run() {
    monitor_->Start();
    if (watcher_ && Watch()) return;
    if (!Stopping()) Poll();
  }

  // Reads notifications until Stop (returns true) or until the watcher fails (false: poll).
  bool Watch() {
    std::vector<WatchEvent> events;
    while (!Stopping()) {
      events.clear();
      int timeout = kReadTimeoutMs;
      if (const int64_t next = monitor_->NextDeadline(); next != std::numeric_limits<int64_t>::max())
        timeout = static_cast<int>(std::clamp<int64_t>(next - ctx_.env.clock().MonotonicMs(), 0, kReadTimeoutMs));
      Status st = watcher_->Read(timeout, &events);
      if (!events.empty()) monitor_->Handle(events);
      monitor_->FlushDue();
      if (st.ok()) continue;
      if (Stopping()) return true;
      if (fixed_source_ || mode_ != "auto") {
        spdlog::error("files: inotify failed, collector stopped: {}", st.ToString());
        ctx_.stats.SetSource("");
        return true;
      }
      spdlog::warn("files: {}; falling back to examining every path every {} ms", st.ToString(), poll_interval_ms_);
      ctx_.stats.SetSource("poll");
      monitor_->ForgetWatcher();
      monitor_->Rescan(/*rehash=*/true);  // what changed while inotify was failing
      return false;
    }
    return true;
  }

  void Poll() {
    int64_t next_scan = ctx_.env.clock().MonotonicMs() + poll_interval_ms_;
    std::unique_lock lock(mu_);
    while (!stop_) {
      const int64_t wait = std::max<int64_t>(0, next_scan - ctx_.env.clock().MonotonicMs());
      wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_; });
      if (stop_) break;
      if (ctx_.env.clock().MonotonicMs() < next_scan) continue;
      lock.unlock();
      monitor_->Rescan(/*rehash=*/false);
      lock.lock();
      next_scan = ctx_.env.clock().MonotonicMs() + poll_interval_ms_;
    }
  }

  CollectorContext ctx_;
  const std::string mode_;
  const int64_t poll_interval_ms_;
  std::unique_ptr<FileWatcher> given_;
  bool fixed_source_ = false;

  std::mutex mu_;  // guards watcher_ (interrupted by Stop) and stop_
  std::condition_variable wake_;
  std::unique_ptr<FileWatcher> watcher_;
  std::unique_ptr<FileMonitor> monitor_;  // the thread's once started
  bool stop_ = false;
  std::thread thread_;
  std::unique_ptr<OpenWatcher> opens_;  // files.watch_opens (guarded by mu_ until opens_thread_ starts)
  std::thread opens_thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<FilesCollector>(ctx); }

}  // namespace

std::unique_ptr<Collector> NewFilesCollector(CollectorContext& ctx, std::unique_ptr<FileWatcher> watcher) {
  return std::make_unique<FilesCollector>(ctx, std::move(watcher));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "files",
    .help = "Changes to watched files and directories (created, modified, deleted, moved, attributes), with their "
            "new sha256, from inotify or by examining them periodically.",
    .default_priority = Priority::kMedium,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::files
