#include "agent/collectors/listening_ports/listening_ports.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/common/passwd.h"
#include "agent/collectors/common/periodic_thread.h"
#include "agent/collectors/listening_ports/port_watcher.h"

namespace vigil::listening_ports {
namespace {

constexpr SettingSpec kSettings[] = {
    {"interval", SettingType::kDuration, "5s",
     "How often the socket table is compared with the last one; a port open for less than this may be missed", 1'000,
     3'600'000},
    {"max_ports", SettingType::kInt, "512", "Ports listed in a snapshot at most; the rest are counted in ports_omitted",
     1, 65536},
    {"include_loopback", SettingType::kBool, "true",
     "Report ports bound to loopback addresses only (127.0.0.0/8, ::1), reachable from this device alone"},
};

class ListeningPortsCollector final : public Collector {
 public:
  ListeningPortsCollector(CollectorContext& ctx, std::unique_ptr<SocketTable> table, std::string proc_root)
      : ctx_(ctx),
        interval_ms_(ctx.config.GetInt("listening_ports.interval")),
        table_(std::move(table)),
        users_(ctx.env, ctx.stats),
        watcher_(ctx.env, ctx.stats, users_, static_cast<size_t>(ctx.config.GetInt("listening_ports.max_ports")),
                 ctx.config.GetBool("listening_ports.include_loopback"), std::move(proc_root)) {}

  ~ListeningPortsCollector() override { Stop(); }

  Status Start() override {
    if (thread_.running()) return Status::Ok();
    if (!table_) {
      auto opened = OpenSocketTable();
      if (!opened.ok()) return Status::Unavailable("listening_ports: " + std::string(opened.status().message()));
      table_ = std::move(*opened);
    }
    if (Status st = table_->Dump(ListeningQuery(), &sockets_); !st.ok())
      return Status::Unavailable("listening_ports: cannot dump the socket table: " + st.ToString());
    ctx_.stats.SetSource("sock_diag");
    ctx_.Emit(watcher_.Snapshot(sockets_));
    thread_.Start(interval_ms_, interval_ms_, [this] { Poll(); });
    return Status::Ok();
  }

  void Stop() override { thread_.Stop(); }

 private:
  void Poll() {
    if (Status st = table_->Dump(ListeningQuery(), &sockets_); !st.ok()) {
      // Keep the last state: a port is not reported closed because one dump failed.
      ctx_.stats.Count("dump_errors");
      spdlog::warn("listening_ports: {}", st.ToString());
      return;
    }
    events_.clear();
    watcher_.Update(sockets_, &events_);
    for (Event& e : events_) ctx_.Emit(std::move(e));
  }

  CollectorContext ctx_;
  const int64_t interval_ms_;
  std::unique_ptr<SocketTable> table_;
  common::UserNames users_;
  PortWatcher watcher_;
  std::vector<SocketInfo> sockets_;
  std::vector<Event> events_;
  common::PeriodicThread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) {
  return std::make_unique<ListeningPortsCollector>(ctx, nullptr, "/proc");
}

}  // namespace

std::unique_ptr<Collector> NewListeningPortsCollector(CollectorContext& ctx, std::unique_ptr<SocketTable> table,
                                                      std::string proc_root) {
  return std::make_unique<ListeningPortsCollector>(ctx, std::move(table), std::move(proc_root));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "listening_ports",
    .help = "Listening TCP and bound UDP sockets with the owning process, at start and on change.",
    .default_priority = Priority::kMedium,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::listening_ports
