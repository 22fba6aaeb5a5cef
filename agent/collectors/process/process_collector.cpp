#include "agent/collectors/process/process_collector.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/process/hash_cache.h"
#include "agent/collectors/process/hashing_emitter.h"
#include "agent/collectors/common/passwd.h"
#include "agent/collectors/process/poll_source.h"
#include "agent/collectors/process/tracker.h"
#include "agent/platform/ebpf.h"
#include "agent/platform/process_source.h"

namespace vigil::process {
namespace {

constexpr int64_t kGiB = int64_t{1} << 30;

constexpr SettingSpec kSettings[] = {
    {"mode", SettingType::kEnum, "auto",
     "Event source: ebpf (kernel tracepoints, argv read in the kernel; needs root and BTF), netlink (kernel proc "
     "connector, needs root), poll (/proc diff), or auto (the first of ebpf, netlink, poll that opens)",
     0, 0, "auto|ebpf|netlink|poll"},
    {"poll_interval", SettingType::kDuration, "100ms",
     "How often /proc is listed in poll mode; processes shorter than this may be missed", 10, 60'000},
    {"hash_max_size", SettingType::kSize, "64MB",
     "Executables larger than this are not hashed (no sha256 field); 0 disables hashing", 0, 4 * kGiB},
    {"hash_cache_entries", SettingType::kInt, "1024",
     "Executable digests remembered, keyed by device, inode, mtime and size", 1, 1 << 20},
    {"table_entries", SettingType::kInt, "4096",
     "Live processes remembered for parent fields and exit events; when full the oldest is forgotten", 64, 1 << 22},
    {"deleted_exe_interval", SettingType::kDuration, "30s",
     "How often the executables of the remembered live processes are checked for deletion (exe_deleted events); "
     "0 disables the check",
     0, 24 * 3'600'000},
};

constexpr int kReadTimeoutMs = 500;
constexpr int64_t kFlushMs = 20;      // longest an enriched event waits before the bus
constexpr size_t kFlushEvents = 256;  // or this many

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
constexpr size_t kHashQueueLimit = 1024;

class ProcessCollector final : public Collector {
 public:
  explicit ProcessCollector(CollectorContext& ctx)
      : ctx_(ctx),
        mode_(ctx.config.GetString("process.mode")),
        poll_interval_ms_(ctx.config.GetInt("process.poll_interval")),
        deleted_exe_interval_ms_(ctx.config.GetInt("process.deleted_exe_interval")),
        users_(ctx.env, ctx.stats),
        hashes_(static_cast<size_t>(ctx.config.GetInt("process.hash_cache_entries"))),
        emitter_(ctx.env, hashes_, ctx.stats, static_cast<uint64_t>(ctx.config.GetInt("process.hash_max_size")),
                 kHashQueueLimit, [this](Event&& e) { ctx_.Emit(std::move(e)); }),
        tracker_(ctx.env, ctx.stats, users_, hashes_, emitter_, MakeOptions(ctx.config)) {}

  ~ProcessCollector() override { Stop(); }

  // A collector that reads `given` instead of opening a source by process.mode.
  ProcessCollector(CollectorContext& ctx, std::unique_ptr<ProcessSource> given) : ProcessCollector(ctx) {
    given_ = std::move(given);
    fixed_source_ = true;
  }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    std::unique_ptr<ProcessSource> source = std::move(given_);
    if (!source) {
      auto opened = mode_ == "auto" ? OpenFrom(kEbpf) : OpenOnly(mode_);
      if (!opened.ok()) return opened.status();
      source = std::move(*opened);
    }
    ctx_.stats.SetSource(std::string(source->name()));
    {
      std::lock_guard lock(mu_);
      source_ = std::move(source);
    }
    emitter_.Start();
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    stop_.store(true);
    {
      std::lock_guard lock(mu_);
      if (source_) source_->Interrupt();
    }
    if (thread_.joinable()) thread_.join();
    emitter_.Stop();
  }

 private:
  static TrackerOptions MakeOptions(const Config& config) {
    TrackerOptions o;
    o.hash_max_size = static_cast<uint64_t>(config.GetInt("process.hash_max_size"));
    o.table_entries = static_cast<size_t>(config.GetInt("process.table_entries"));
    return o;
  }

  // The sources in the order auto mode tries them.
  static constexpr std::string_view kEbpf = "ebpf", kNetlink = "netlink", kPoll = "poll";

  // The named source, or why it cannot be opened.
  Result<std::unique_ptr<ProcessSource>> OpenOnly(std::string_view name) {
    if (name == kEbpf) return OpenEbpfProcessSource(EbpfOptions{});
    if (name == kNetlink) return OpenKernelProcessSource(KernelProcessSourceOptions{});
    return OpenPoll();
  }

  // The first source that opens, from `first` on in the order ebpf, netlink, poll.
  Result<std::unique_ptr<ProcessSource>> OpenFrom(std::string_view first) {
    bool tried = false;
    for (std::string_view name : {kEbpf, kNetlink}) {
      if (name != first && !tried) continue;
      tried = true;
      auto source = OpenOnly(name);
      if (source.ok()) return source;
      spdlog::info("process: {} source unavailable: {}", name, source.status().message());
    }
    spdlog::info("process: polling /proc every {} ms", poll_interval_ms_);
    return OpenPoll();
  }

  Result<std::unique_ptr<ProcessSource>> OpenPoll() {
    auto poll = std::make_unique<PollProcessSource>(ctx_.env, poll_interval_ms_);
    std::vector<ProcEvent> none;
    if (Status st = poll->Scan(&none); !st.ok())
      return Status::Unavailable("process: cannot poll /proc: " + st.ToString());
    return std::unique_ptr<ProcessSource>(std::move(poll));
  }

  void Run() {
    tracker_.Seed();
    std::vector<ProcEvent> batch;
    batch.reserve(256);
    ProcessSource* source = nullptr;
    {
      std::lock_guard lock(mu_);
      source = source_.get();
    }
    int64_t first_held_ms = 0;  // steady ms when the emitter's batch got its oldest event
    // Steady ms of the next scan for deleted executables; never when the interval is 0.
    int64_t next_scan_ms =
        deleted_exe_interval_ms_ > 0 ? SteadyMs() + deleted_exe_interval_ms_ : std::numeric_limits<int64_t>::max();
    while (!stop_.load(std::memory_order_relaxed)) {
      batch.clear();
      uint64_t overruns = 0;
      int timeout = kReadTimeoutMs;
      if (emitter_.batched() > 0)
        timeout = static_cast<int>(std::max<int64_t>(0, first_held_ms + kFlushMs - SteadyMs()));
      if (next_scan_ms - SteadyMs() < timeout) timeout = static_cast<int>(std::max<int64_t>(0, next_scan_ms - SteadyMs()));
      Status st = source->Read(timeout, &batch, &overruns);
      if (overruns > 0) {
        ctx_.stats.Drop("kernel_overrun", overruns);
        tracker_.OnOverrun();
      }
      if (!batch.empty()) {
        const bool was_empty = emitter_.batched() == 0;
        const int64_t now = ctx_.env.clock().NowMs();
        for (const ProcEvent& ev : batch) tracker_.Handle(ev, now);
        if (was_empty) first_held_ms = SteadyMs();
      }
      if (SteadyMs() >= next_scan_ms) {
        const bool was_empty = emitter_.batched() == 0;
        tracker_.ScanDeletedExes(ctx_.env.clock().NowMs());
        if (was_empty && emitter_.batched() > 0) first_held_ms = SteadyMs();
        next_scan_ms = SteadyMs() + deleted_exe_interval_ms_;
      }
      // Hand events on in bursts: when idle, every kFlushMs, or when many are held.
      if (emitter_.batched() > 0 &&
          (batch.empty() || emitter_.batched() >= kFlushEvents || SteadyMs() - first_held_ms >= kFlushMs)) {
        emitter_.Flush();
      }
      if (st.ok()) continue;
      emitter_.Flush();
      if (stop_.load()) break;
      if (fixed_source_ || mode_ != "auto" || source->name() == kPoll) {
        spdlog::error("process: event source failed, collector stopped: {}", st.ToString());
        ctx_.stats.SetSource("");
        break;
      }
      spdlog::warn("process: {} source failed: {}; falling back", source->name(), st.ToString());
      auto next = OpenFrom(source->name() == kEbpf ? kNetlink : kPoll);
      if (!next.ok()) {
        spdlog::error("process: {}", next.status().ToString());
        ctx_.stats.SetSource("");
        break;
      }
      std::lock_guard lock(mu_);
      source_ = std::move(*next);
      source = source_.get();
      ctx_.stats.SetSource(std::string(source->name()));
      if (stop_.load()) break;
    }
  }

  CollectorContext ctx_;
  const std::string mode_;
  const int64_t poll_interval_ms_;
  const int64_t deleted_exe_interval_ms_;
  common::UserNames users_;
  HashCache hashes_;
  HashingEmitter emitter_;
  ProcessTracker tracker_;

  std::unique_ptr<ProcessSource> given_;
  bool fixed_source_ = false;
  std::mutex mu_;  // guards source_ (replaced on fallback, interrupted by Stop)
  std::unique_ptr<ProcessSource> source_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<ProcessCollector>(ctx); }

}  // namespace

std::unique_ptr<Collector> NewProcessCollector(CollectorContext& ctx, std::unique_ptr<ProcessSource> source) {
  return std::make_unique<ProcessCollector>(ctx, std::move(source));
}

extern const CollectorDescriptor kDescriptor{
    "process",         "process exec and exit events, from the netlink proc connector or by polling /proc",
    Priority::kMedium, kSettings,
    &Create,
};

}  // namespace vigil::process
