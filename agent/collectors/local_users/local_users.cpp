#include "agent/collectors/local_users/local_users.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/local_users/accounts_tracker.h"

namespace vigil::local_users {
namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "interval",
     .type = SettingType::kDuration,
     .default_value = "1h",
     .help = "Time between two snapshots of every user and group; the first is sent at start. Changes are sent as "
             "they happen.",
     .min = 60'000,
     .max = 7 * 86'400'000LL},
    {.key = "passwd_path",
     .type = SettingType::kString,
     .default_value = "/etc/passwd",
     .help = "The passwd file read (users); an absolute path."},
    {.key = "group_path",
     .type = SettingType::kString,
     .default_value = "/etc/group",
     .help = "The group file read (groups and their members); an absolute path."},
    {.key = "shadow_path",
     .type = SettingType::kString,
     .default_value = "/etc/shadow",
     .help = "The shadow file read for password states (empty, locked); hashes are never kept or sent."},
};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

AccountPaths PathsFrom(const Config& config) {
  return AccountPaths{config.GetString("local_users.passwd_path"), config.GetString("local_users.group_path"),
                      config.GetString("local_users.shadow_path")};
}

class LocalUsersCollector final : public Collector {
 public:
  LocalUsersCollector(CollectorContext& ctx, std::unique_ptr<ChangeWatch> given)
      : ctx_(ctx),
        interval_ms_(ctx.config.GetInt("local_users.interval")),
        tracker_(ctx.env, ctx.stats, PathsFrom(ctx.config)),
        given_(std::move(given)) {}

  ~LocalUsersCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    for (const std::string* p : {&tracker_.paths().passwd, &tracker_.paths().group, &tracker_.paths().shadow}) {
      if (p->empty() || (*p)[0] != '/')
        return Status::InvalidArgument("local_users: not an absolute path: '" + *p + "'");
    }
    if (Status st = tracker_.Load(); !st.ok())
      return Status::Unavailable("local_users: cannot read the users: " + st.ToString());
    std::unique_ptr<ChangeWatch> watch = std::move(given_);
    if (!watch) {
      auto inotify = OpenInotifyWatch(Paths());
      if (inotify.ok()) {
        watch = std::move(*inotify);
      } else {
        spdlog::warn("local_users: {}; polling the files every {} ms instead", inotify.status().ToString(),
                     kPollFallbackMs);
        watch = std::make_unique<StatPollWatch>(ctx_.env, Paths(), kPollFallbackMs);
      }
    }
    ctx_.stats.SetSource(std::string(watch->name()));
    {
      std::lock_guard lock(mu_);
      watch_ = std::move(watch);
    }
    ctx_.Emit(tracker_.Snapshot());
    next_snapshot_ms_ = ctx_.env.clock().MonotonicMs() + interval_ms_;
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    stop_.store(true);
    {
      std::lock_guard lock(mu_);
      if (watch_) watch_->Interrupt();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::vector<std::string> Paths() const {
    return {tracker_.paths().passwd, tracker_.paths().group, tracker_.paths().shadow};
  }

  void EmitChanges() {
    for (Event& e : tracker_.Reload()) ctx_.Emit(std::move(e));
  }

  // Waits until the files have been quiet for kQuietMs, or kMaxDebounceMs have passed.
  Status Debounce(ChangeWatch& watch) {
    const int64_t give_up = SteadyMs() + kMaxDebounceMs;
    while (!stop_.load()) {
      const int64_t left = give_up - SteadyMs();
      if (left <= 0) return Status::Ok();
      Result<bool> more = watch.Wait(std::min(kQuietMs, left));
      if (!more.ok()) return more.status();
      if (!*more) return Status::Ok();
    }
    return Status::Ok();
  }

  // Re-reads after a change. When the files look half-written (accounts_tracker.h), waits for
  // the next change, at most kMaxSettleMs, and then takes them as they are.
  void ReadChanges(ChangeWatch* watch) {
    std::optional<std::vector<Event>> events = tracker_.TryReload();
    const int64_t give_up = SteadyMs() + kMaxSettleMs;
    while (!events && !stop_.load()) {
      const int64_t left = give_up - SteadyMs();
      if (left <= 0) break;
      Result<bool> more = watch->Wait(left);
      Status st = more.ok() ? Status::Ok() : more.status();
      if (st.ok() && !*more) continue;  // the deadline or Stop, checked above
      if (st.ok()) st = Debounce(*watch);
      if (!st.ok()) {
        FallBack(st);  // `watch` is gone
        break;
      }
      events = tracker_.TryReload();
    }
    if (stop_.load()) return;
    if (!events) events = tracker_.Reload();
    for (Event& e : *events) ctx_.Emit(std::move(e));
  }

  // Replaces a broken watch by polling (once; a broken poll watch cannot happen: it only
  // stats files).
  void FallBack(const Status& why) {
    spdlog::warn("local_users: {}; polling the files every {} ms instead", why.ToString(), kPollFallbackMs);
    std::lock_guard lock(mu_);
    watch_ = std::make_unique<StatPollWatch>(ctx_.env, Paths(), kPollFallbackMs);
    if (stop_.load()) watch_->Interrupt();
    ctx_.stats.SetSource("poll");
  }

  void Run() {
    while (!stop_.load()) {
      ChangeWatch* watch = nullptr;
      {
        std::lock_guard lock(mu_);
        watch = watch_.get();
      }
      const int64_t wait_ms = std::max<int64_t>(0, next_snapshot_ms_ - ctx_.env.clock().MonotonicMs());
      Result<bool> changed = watch->Wait(wait_ms);
      if (stop_.load()) break;
      if (!changed.ok()) {
        FallBack(changed.status());
        EmitChanges();  // whatever happened while the watch broke
        continue;
      }
      if (*changed) {
        if (Status st = Debounce(*watch); !st.ok()) {
          FallBack(st);
          EmitChanges();
        } else {
          ReadChanges(watch);
        }
        if (stop_.load()) break;
      }
      if (ctx_.env.clock().MonotonicMs() >= next_snapshot_ms_) {
        EmitChanges();
        ctx_.Emit(tracker_.Snapshot());
        next_snapshot_ms_ = ctx_.env.clock().MonotonicMs() + interval_ms_;
      }
    }
  }

  CollectorContext ctx_;
  const int64_t interval_ms_;
  AccountsTracker tracker_;
  std::unique_ptr<ChangeWatch> given_;
  std::mutex mu_;  // guards watch_ (replaced on fallback, interrupted by Stop)
  std::unique_ptr<ChangeWatch> watch_;
  int64_t next_snapshot_ms_ = 0;  // monotonic, by ctx.env.clock()
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<LocalUsersCollector>(ctx, nullptr); }

}  // namespace

std::unique_ptr<Collector> NewLocalUsersCollector(CollectorContext& ctx, std::unique_ptr<ChangeWatch> watch) {
  return std::make_unique<LocalUsersCollector>(ctx, std::move(watch));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "local_users",
    .help = "Local users and groups (passwd, group, shadow): a snapshot, and an event per change.",
    .default_priority = Priority::kHigh,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::local_users
