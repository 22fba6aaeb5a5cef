#include "agent/collectors/files/files.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/files/monitor.h"

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
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
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
