#include "agent/collectors/peripheral/peripheral.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/peripheral/device_info.h"
#include "agent/collectors/peripheral/tracker.h"
#include "agent/collectors/peripheral/uevent.h"

namespace vigil::peripheral {
namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "subsystems",
     .type = SettingType::kList,
     .default_value = "usb,net,block,tty",
     .help = "Kernel subsystems whose devices are reported: usb (whole devices), net (interfaces), block "
             "(removable or USB disks), tty (USB serial ports), input (input devices), or any other subsystem name "
             "(every device of it)"},
    {.key = "mode",
     .type = SettingType::kEnum,
     .default_value = "auto",
     .help = "Event source: netlink (kernel uevents), poll (sysfs listed every poll_interval), or auto (netlink, "
             "else poll)",
     .choices = "auto|netlink|poll"},
    {.key = "poll_interval",
     .type = SettingType::kDuration,
     .default_value = "10s",
     .help = "How often sysfs is listed in poll mode; a device plugged in and out within it is missed",
     .min = 1'000,
     .max = 3'600'000},
    {.key = "usb_settle",
     .type = SettingType::kDuration,
     .default_value = "2s",
     .help = "Longest a new USB device's event waits for its interfaces (the kernel's bind of the device ends "
             "the wait sooner); 0 reports at once, without interfaces",
     .min = 0,
     .max = 30'000},
};

constexpr int kReadTimeoutMs = 1000;

bool IsSubsystemName(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

class PeripheralCollector final : public Collector {
 public:
  explicit PeripheralCollector(CollectorContext& ctx)
      : ctx_(ctx),
        mode_(ctx.config.GetString("peripheral.mode")),
        poll_interval_ms_(ctx.config.GetInt("peripheral.poll_interval")) {}

  PeripheralCollector(CollectorContext& ctx, std::unique_ptr<UeventSource> given) : PeripheralCollector(ctx) {
    given_ = std::move(given);
    fixed_source_ = true;
  }

  ~PeripheralCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    std::set<std::string, std::less<>> subsystems;
    for (const std::string& s : ctx_.config.GetList("peripheral.subsystems")) {
      if (!IsSubsystemName(s))
        return Status::InvalidArgument("peripheral.subsystems: '" + s +
                                       "' is not a subsystem name (lower-case letters, digits, _ and -)");
      subsystems.insert(s);
    }
    describer_ = std::make_unique<DeviceDescriber>(ctx_.env, std::move(subsystems));
    TrackerOptions options;
    options.usb_settle_ms = ctx_.config.GetInt("peripheral.usb_settle");
    tracker_ = std::make_unique<PeripheralTracker>(ctx_.env, ctx_.stats, *describer_, options,
                                                   [this](Event&& e) { ctx_.Emit(std::move(e)); });

    std::unique_ptr<UeventSource> source = std::move(given_);
    if (!source && mode_ != "poll") {
      auto kernel = OpenKernelUeventSource(KernelUeventSourceOptions{});
      if (kernel.ok()) {
        source = std::move(*kernel);
      } else if (mode_ == "netlink") {
        return Status::Unavailable(std::string(kernel.status().message()));
      } else {
        spdlog::info("peripheral: {}; falling back to listing sysfs every {} ms", kernel.status().message(),
                     poll_interval_ms_);
      }
    }
    ctx_.stats.SetSource(source ? std::string(source->name()) : "poll");
    {
      std::lock_guard lock(mu_);
      source_ = std::move(source);
    }
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      if (source_) source_->Interrupt();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool Stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // Milliseconds until the tracker's next held USB device is due, at most `cap`.
  int TimeoutMs(int64_t cap) const {
    const int64_t next = tracker_->NextDeadline();
    if (next == std::numeric_limits<int64_t>::max()) return static_cast<int>(cap);
    return static_cast<int>(std::clamp<int64_t>(next - ctx_.env.clock().MonotonicMs(), 0, cap));
  }

  void Run() {
    tracker_->Inventory();
    UeventSource* source = nullptr;
    {
      std::lock_guard lock(mu_);
      source = source_.get();
    }
    if (source) ReadUevents(source);
    if (!Stopping() && !source_failed_for_good_) Poll();
  }

  // Reads uevents until Stop, or until the source fails (then returns so Run falls back).
  void ReadUevents(UeventSource* source) {
    std::vector<std::string> messages;
    while (!Stopping()) {
      messages.clear();
      uint64_t overruns = 0;
      Status st = source->Read(TimeoutMs(kReadTimeoutMs), &messages, &overruns);
      for (const std::string& m : messages) {
        ctx_.stats.Count("uevents");
        auto ev = ParseUevent(m);
        if (!ev.ok()) {
          ctx_.stats.Count("uevents_malformed");
          spdlog::debug("peripheral: {}", ev.status().message());
          continue;
        }
        tracker_->Handle(*ev);
      }
      if (overruns > 0) {
        ctx_.stats.Drop("kernel_overrun", overruns);
        tracker_->Rescan();
      }
      tracker_->Tick();
      if (st.ok()) continue;
      if (Stopping()) return;
      if (fixed_source_ || mode_ != "auto") {
        spdlog::error("peripheral: event source failed, collector stopped: {}", st.ToString());
        ctx_.stats.SetSource("");
        source_failed_for_good_ = true;
        return;
      }
      spdlog::warn("peripheral: {}; falling back to listing sysfs every {} ms", st.ToString(), poll_interval_ms_);
      ctx_.stats.SetSource("poll");
      tracker_->Rescan();
      return;
    }
  }

  void Poll() {
    int64_t next_scan = ctx_.env.clock().MonotonicMs() + poll_interval_ms_;
    std::unique_lock lock(mu_);
    while (!stop_) {
      const int64_t now = ctx_.env.clock().MonotonicMs();
      const int64_t wait = std::max<int64_t>(0, next_scan - now);
      wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_; });
      if (stop_) break;
      if (ctx_.env.clock().MonotonicMs() < next_scan) continue;
      lock.unlock();
      tracker_->Rescan();
      lock.lock();
      next_scan = ctx_.env.clock().MonotonicMs() + poll_interval_ms_;
    }
  }

  CollectorContext ctx_;
  const std::string mode_;
  const int64_t poll_interval_ms_;
  std::unique_ptr<DeviceDescriber> describer_;
  std::unique_ptr<PeripheralTracker> tracker_;  // receive thread only, once started

  std::unique_ptr<UeventSource> given_;
  bool fixed_source_ = false;
  bool source_failed_for_good_ = false;  // receive thread only
  std::mutex mu_;                        // guards source_ and stop_
  std::condition_variable wake_;
  std::unique_ptr<UeventSource> source_;
  bool stop_ = false;
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<PeripheralCollector>(ctx); }

}  // namespace

std::unique_ptr<Collector> NewPeripheralCollector(CollectorContext& ctx, std::unique_ptr<UeventSource> source) {
  return std::make_unique<PeripheralCollector>(ctx, std::move(source));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "peripheral",
    .help = "Devices added and removed (USB devices with their interfaces, network interfaces, removable disks, USB "
            "serial ports), from kernel uevents or by listing sysfs, and the devices present at start.",
    .default_priority = Priority::kMedium,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::peripheral
