#include "agent/collectors/network/network.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/common/passwd.h"
#include "agent/collectors/network/dns_names.h"
#include "agent/collectors/network/raw_sockets.h"
#include "agent/collectors/network/sock_diag_source.h"
#include "agent/collectors/network/tracker.h"
#include "agent/core/config_tables.h"
#include "agent/platform/dns_responses.h"
#include "agent/platform/ebpf.h"
#include "agent/platform/raw_socket_table.h"
#include "agent/platform/socket_table.h"

namespace vigil::network {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

constexpr SettingSpec kSettings[] = {
    {"mode", SettingType::kEnum, "auto",
     "Event source: ebpf (kernel tracepoints, every connection), sock_diag (socket table diffed every "
     "poll_interval), or auto (ebpf, else sock_diag)",
     0, 0, "auto|ebpf|sock_diag"},
    {"poll_interval", SettingType::kDuration, "1s",
     "How often the socket table is dumped in sock_diag mode; connections shorter than this are missed", 100, 60'000},
    {"include_loopback", SettingType::kBool, "true",
     "Report connections to and from loopback addresses (127.0.0.0/8, ::1) and listens on them"},
    {"table_entries", SettingType::kInt, "4096",
     "Open connections remembered, so that a close knows its direction and process; when full the oldest is "
     "forgotten",
     64, 1 << 20},
    {"ebpf_buffer", SettingType::kSize, "256KB",
     "Ring buffer the eBPF programs write into (rounded up to a power of two); records beyond it are dropped and "
     "counted",
     4096, 64 * kMiB},
    {"host_names", SettingType::kBool, "true",
     "Name the peer of a connection (remote_host) by the host name a program on this device resolved to its "
     "address: DNS answers received over UDP are read from a packet socket filtered in the kernel to source port "
     "53 (answers over TCP, TLS or HTTPS are not seen); a name is kept for an hour after its last answer"},
    {"host_name_entries", SettingType::kInt, "1024",
     "Addresses whose host name is remembered; when full the least recently answered is forgotten", 16, 1 << 20},
    {"raw_socket_interval", SettingType::kDuration, "10s",
     "How often raw IP and packet sockets are listed (raw_socket events, each socket once), whichever source "
     "reports connections; 0 disables the listing",
     0, 3'600'000},
};

constexpr int kReadTimeoutMs = 500;
constexpr int64_t kHostNameMaxAgeMs = 3'600'000;

size_t RoundUpToPowerOfTwo(size_t v) {
  size_t p = 4096;
  while (p < v) p <<= 1;
  return p;
}

class NetworkCollector final : public Collector {
 public:
  NetworkCollector(CollectorContext& ctx, const std::string& proc_root)
      : ctx_(ctx),
        mode_(ctx.config.GetString("network.mode")),
        poll_interval_ms_(ctx.config.GetInt("network.poll_interval")),
        raw_interval_ms_(ctx.config.GetInt("network.raw_socket_interval")),
        proc_root_(proc_root),
        users_(ctx.env, ctx.stats),
        host_names_(static_cast<size_t>(ctx.config.GetInt("network.host_name_entries")), kHostNameMaxAgeMs),
        tracker_(ctx.env, ctx.stats, users_, MakeOptions(ctx, proc_root, &host_names_),
                 [this](Event&& e) { EmitEvent(std::move(e)); },
                 ctx.observed() ? ConnectionTracker::Sink([this](Event&& e) { ctx_.Observe(std::move(e)); })
                                : ConnectionTracker::Sink()) {}

  NetworkCollector(CollectorContext& ctx, std::unique_ptr<ConnectionSource> given, const std::string& proc_root)
      : NetworkCollector(ctx, proc_root) {
    given_ = std::move(given);
    fixed_source_ = true;
  }

  ~NetworkCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    std::unique_ptr<ConnectionSource> source = std::move(given_);
    if (!source && mode_ != "sock_diag") {
      EbpfOptions options;
      options.ring_buffer_bytes = RoundUpToPowerOfTwo(static_cast<size_t>(ctx_.config.GetInt("network.ebpf_buffer")));
      auto ebpf = OpenEbpfConnectionSource(options);
      if (ebpf.ok()) {
        source = std::move(*ebpf);
      } else if (mode_ == "ebpf") {
        return Status::Unavailable("network: eBPF source: " + std::string(ebpf.status().message()));
      } else {
        spdlog::info("network: eBPF source: {}; falling back to sock_diag every {} ms", ebpf.status().message(),
                     poll_interval_ms_);
      }
    }
    if (!source) {
      auto polled = OpenSockDiag();
      if (!polled.ok()) return polled.status();
      source = std::move(*polled);
    }
    ctx_.stats.SetSource(std::string(source->name()));
    {
      std::lock_guard lock(mu_);
      source_ = std::move(source);
    }
    if (raw_interval_ms_ > 0 && !raw_) {
      // Not fatal: connections are still reported without it.
      auto table = OpenRawSocketTable(ctx_.env, proc_root_);
      if (table.ok()) {
        raw_ = std::make_unique<RawSocketWatcher>(std::move(*table), ctx_.env, ctx_.stats, users_, proc_root_);
        spdlog::info("network: raw and packet sockets listed every {} ms ({})", raw_interval_ms_, raw_->source());
      } else {
        spdlog::warn("network: raw and packet sockets will not be reported: {}", table.status().ToString());
        ctx_.stats.Count("raw_socket_unavailable");
      }
    }
    if (!fixed_source_ && ctx_.config.GetBool("network.host_names") && !dns_) {
      // Not fatal either: connections are reported without remote_host.
      auto dns = OpenDnsResponseSource();
      if (dns.ok()) {
        dns_ = std::move(*dns);
        dns_thread_ = std::thread([this] { ReadDnsAnswers(); });
      } else {
        spdlog::warn("network: peers will not be named (remote_host): {}", dns.status().ToString());
        ctx_.stats.Count("dns_unavailable");
      }
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    stop_.store(true);
    {
      std::lock_guard lock(mu_);
      if (source_) source_->Interrupt();
    }
    if (dns_) dns_->Interrupt();
    if (thread_.joinable()) thread_.join();
    if (dns_thread_.joinable()) dns_thread_.join();
  }

 private:
  static TrackerOptions MakeOptions(const CollectorContext& ctx, const std::string& proc_root,
                                    const DnsNames* host_names) {
    TrackerOptions o;
    const int p = static_cast<int>(ctx.priority);
    o.interval_ms = p < kPriorityCount ? PriorityIntervals(ctx.config)[static_cast<size_t>(p)] : 0;
    o.aggregate_entries = static_cast<size_t>(ctx.config.GetInt("network.cache_entries"));
    o.table_entries = static_cast<size_t>(ctx.config.GetInt("network.table_entries"));
    o.include_loopback = ctx.config.GetBool("network.include_loopback");
    o.proc_root = proc_root;
    o.host_names = host_names;
    return o;
  }

  // The socket table with its first dump taken, so that what opens from now on is new.
  Result<std::unique_ptr<ConnectionSource>> OpenSockDiag() {
    auto table = OpenSocketTable();
    if (!table.ok()) return Status::Unavailable("network: " + std::string(table.status().message()));
    auto source =
        std::make_unique<SockDiagConnectionSource>(std::move(*table), ctx_.env, poll_interval_ms_, proc_root_);
    if (Status st = source->Baseline(); !st.ok())
      return Status::Unavailable("network: cannot dump the socket table: " + st.ToString());
    return std::unique_ptr<ConnectionSource>(std::move(source));
  }

  static int64_t SteadyNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // One listing of raw and packet sockets; each new one is an event (never aggregated).
  void ListRawSockets() {
    raw_events_.clear();
    if (Status st = raw_->Poll(ctx_.env.clock().NowMs(), &raw_events_); !st.ok()) {
      ctx_.stats.Count("raw_socket_errors");
      spdlog::debug("network: listing raw sockets: {}", st.ToString());
    }
    for (Event& e : raw_events_) ctx_.Emit(std::move(e));
  }

  // The DNS answers' thread: every address answered is learnt with the name asked.
  void ReadDnsAnswers() {
    std::vector<std::string> messages;
    while (!stop_.load(std::memory_order_relaxed)) {
      messages.clear();
      uint64_t malformed = 0;
      if (Status st = dns_->Read(kReadTimeoutMs, &messages, &malformed); !st.ok()) {
        spdlog::error("network: reading DNS answers stopped, peers are no longer named: {}", st.ToString());
        ctx_.stats.Count("dns_errors");
        return;
      }
      if (malformed > 0) ctx_.stats.Count("dns_malformed", malformed);
      const int64_t now = ctx_.env.clock().MonotonicMs();
      for (const std::string& m : messages) {
        auto answer = ParseDnsAnswer(m);
        if (!answer.ok()) {
          ctx_.stats.Count("dns_malformed");
          continue;
        }
        ctx_.stats.Count("dns_answers");
        host_names_.Learn(*answer, now);
      }
    }
  }

  // An aggregate of n connections is n collected events of which n - 1 were merged. They are
  // counted before the event leaves, so that whoever sees it sees them counted.
  void EmitEvent(Event&& e) {
    const uint32_t merged = e.count > 1 ? e.count - 1 : 0;
    ctx_.stats.collected.fetch_add(merged, std::memory_order_relaxed);
    ctx_.stats.aggregated.fetch_add(merged, std::memory_order_relaxed);
    if (!ctx_.Emit(std::move(e)) && merged > 0) {
      ctx_.stats.aggregated.fetch_sub(merged, std::memory_order_relaxed);
      ctx_.stats.Drop("bus_full", merged);
    }
  }

  void Run() {
    std::vector<ConnectionRecord> batch;
    batch.reserve(256);
    ConnectionSource* source = nullptr;
    {
      std::lock_guard lock(mu_);
      source = source_.get();
    }
    int64_t next_raw_ms = SteadyNowMs();  // the first listing at once: sockets open already count
    while (!stop_.load(std::memory_order_relaxed)) {
      batch.clear();
      uint64_t lost = 0;
      const int64_t until_flush = tracker_.NextFlushMs() - ctx_.env.clock().MonotonicMs();
      int64_t wait = until_flush;
      if (raw_) wait = std::min(wait, next_raw_ms - SteadyNowMs());
      const int timeout = static_cast<int>(std::clamp<int64_t>(wait, 0, kReadTimeoutMs));
      Status st = source->Read(timeout, &batch, &lost);
      if (lost > 0) ctx_.stats.Drop("kernel_overrun", lost);
      for (const ConnectionRecord& r : batch) tracker_.Handle(r);
      tracker_.Tick();
      if (raw_ && SteadyNowMs() >= next_raw_ms) {
        ListRawSockets();
        next_raw_ms = SteadyNowMs() + raw_interval_ms_;
      }
      if (st.ok()) continue;
      if (stop_.load()) break;
      if (fixed_source_ || mode_ != "auto" || source->name() == "sock_diag") {
        spdlog::error("network: connection source {} failed, collector stopped: {}", source->name(), st.ToString());
        ctx_.stats.SetSource("");
        break;
      }
      spdlog::warn("network: connection source {} failed ({}); falling back to sock_diag", source->name(),
                   st.ToString());
      auto polled = OpenSockDiag();
      if (!polled.ok()) {
        spdlog::error("network: {}", polled.status().ToString());
        ctx_.stats.SetSource("");
        break;
      }
      ctx_.stats.Count("source_fallbacks");
      std::lock_guard lock(mu_);
      source_ = std::move(*polled);
      source = source_.get();
      ctx_.stats.SetSource("sock_diag");
      if (stop_.load()) break;
    }
    tracker_.FlushAll();
  }

  CollectorContext ctx_;
  const std::string mode_;
  const int64_t poll_interval_ms_;
  const int64_t raw_interval_ms_;
  const std::string proc_root_;
  common::UserNames users_;
  DnsNames host_names_;  // before tracker_, which looks names up in it
  ConnectionTracker tracker_;
  std::unique_ptr<RawSocketWatcher> raw_;  // null when raw_socket_interval is 0 or unavailable
  std::vector<Event> raw_events_;

  std::unique_ptr<ConnectionSource> given_;
  bool fixed_source_ = false;
  std::mutex mu_;  // guards source_ (replaced on fallback, interrupted by Stop)
  std::unique_ptr<ConnectionSource> source_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::unique_ptr<DnsResponseSource> dns_;  // null when host_names is off or unavailable
  std::thread dns_thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<NetworkCollector>(ctx, "/proc"); }

}  // namespace

std::unique_ptr<Collector> NewNetworkCollector(CollectorContext& ctx, std::unique_ptr<ConnectionSource> source,
                                               const std::string& proc_root) {
  return std::make_unique<NetworkCollector>(ctx, std::move(source), proc_root);
}

extern const CollectorDescriptor kDescriptor = {
    .name = "network",
    .help = "Connections made and accepted per process, with bytes where known.",
    .default_priority = Priority::kMedium,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::network
