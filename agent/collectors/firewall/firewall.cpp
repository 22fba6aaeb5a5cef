#include "agent/collectors/firewall/firewall.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/collectors/firewall/firewall_tracker.h"

namespace vigil::firewall {
namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "interval",
     .type = SettingType::kDuration,
     .default_value = "5m",
     .help = "How often every ruleset is read again: the only way legacy iptables changes are seen, and a catch-up "
             "for nftables notifications that were lost or are unavailable.",
     .min = 1'000,
     .max = 86'400'000},
};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class FirewallCollector final : public Collector {
 public:
  FirewallCollector(CollectorContext& ctx, std::unique_ptr<RulesetReader> reader,
                    std::unique_ptr<ChangeNotifier> notifier)
      : ctx_(ctx),
        interval_ms_(ctx.config.GetInt("firewall.interval")),
        reader_(reader ? std::move(reader) : NewLinuxRulesetReader(ctx.env)),
        tracker_(*reader_, ctx.stats),
        given_notifier_(std::move(notifier)) {}

  ~FirewallCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    // Subscribe before the first read, so a change made while it runs is not missed.
    std::unique_ptr<ChangeNotifier> notifier = std::move(given_notifier_);
    if (!notifier) {
      auto nft = OpenNftNotifier(ctx_.stats);
      if (nft.ok()) {
        notifier = std::move(*nft);
      } else {
        spdlog::info("firewall: {}; reading the rulesets every {} ms instead", nft.status().message(), interval_ms_);
        notifier = std::make_unique<TimerNotifier>();
      }
    }
    ctx_.stats.SetSource(std::string(notifier->name()));
    {
      std::lock_guard lock(mu_);
      notifier_ = std::move(notifier);
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    stop_.store(true);
    reader_->Cancel();
    {
      std::lock_guard lock(mu_);
      if (notifier_) notifier_->Interrupt();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void CheckAndEmit() {
    if (std::optional<Event> e = tracker_.Check()) ctx_.Emit(std::move(*e));
  }

  // Replaces a broken notifier by the timer.
  void FallBack(const Status& why) {
    spdlog::warn("firewall: {}; reading the rulesets every {} ms instead", why.ToString(), interval_ms_);
    std::lock_guard lock(mu_);
    notifier_ = std::make_unique<TimerNotifier>();
    if (stop_.load()) notifier_->Interrupt();
    ctx_.stats.SetSource("poll");
  }

  // Waits until notifications have been quiet for kQuietMs, or kMaxDebounceMs have passed.
  Status Debounce(ChangeNotifier& notifier) {
    const int64_t give_up = SteadyMs() + kMaxDebounceMs;
    while (!stop_.load()) {
      const int64_t left = give_up - SteadyMs();
      if (left <= 0) break;
      Result<bool> more = notifier.Wait(std::min(kQuietMs, left));
      if (!more.ok()) return more.status();
      if (!*more) break;
    }
    return Status::Ok();
  }

  void Run() {
    int64_t next_check = ctx_.env.clock().MonotonicMs() + interval_ms_;
    tracker_.ReadInitial();
    if (stop_.load()) return;
    ctx_.Emit(tracker_.Snapshot());
    while (!stop_.load()) {
      ChangeNotifier* notifier = nullptr;
      {
        std::lock_guard lock(mu_);
        notifier = notifier_.get();
      }
      Result<bool> changed = notifier->Wait(std::max<int64_t>(0, next_check - ctx_.env.clock().MonotonicMs()));
      if (stop_.load()) break;
      if (!changed.ok()) {
        FallBack(changed.status());
        continue;
      }
      if (*changed) {
        if (Status st = Debounce(*notifier); !st.ok()) FallBack(st);
        if (stop_.load()) break;
        CheckAndEmit();
      }
      if (ctx_.env.clock().MonotonicMs() >= next_check) {
        CheckAndEmit();
        next_check = ctx_.env.clock().MonotonicMs() + interval_ms_;
      }
    }
  }

  CollectorContext ctx_;
  const int64_t interval_ms_;
  std::unique_ptr<RulesetReader> reader_;
  FirewallTracker tracker_;
  std::unique_ptr<ChangeNotifier> given_notifier_;
  std::mutex mu_;  // guards notifier_ (replaced on fallback, interrupted by Stop)
  std::unique_ptr<ChangeNotifier> notifier_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) {
  return std::make_unique<FirewallCollector>(ctx, nullptr, nullptr);
}

}  // namespace

std::unique_ptr<Collector> NewFirewallCollector(CollectorContext& ctx, std::unique_ptr<RulesetReader> reader,
                                                std::unique_ptr<ChangeNotifier> notifier) {
  return std::make_unique<FirewallCollector>(ctx, std::move(reader), std::move(notifier));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "firewall",
    .help = "nftables and legacy iptables rulesets summarised per chain with a digest, and changes to them.",
    .default_priority = Priority::kHigh,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::firewall
