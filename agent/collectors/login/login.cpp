#include "agent/collectors/login/login.h"

#include <atomic>
#include <iterator>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/collectors/login/login_tracker.h"

namespace vigil::login {
namespace {

constexpr SettingSpec kSettings[] = {
    {"auth_log", SettingType::kString, "/var/log/auth.log",
     "Text log of sshd, dropbear, login, su and sudo (e.g. /var/log/secure, or /var/log/messages on BusyBox), "
     "followed from its end across rotation; empty: not read"},
    {"utmp", SettingType::kString, "/var/run/utmp",
     "utmp file (open sessions): names the user of a logout; reports logins and logouts when neither an auth log "
     "nor wtmp is read; empty: not read"},
    {"wtmp", SettingType::kString, "/var/log/wtmp",
     "wtmp file (login history), followed from its end: reports logins and logouts when no auth log is read; empty: "
     "not read"},
    {"btmp", SettingType::kString, "/var/log/btmp",
     "btmp file (failed logins), followed from its end: reports failures when no auth log is read; empty: not read"},
    {"journal", SettingType::kEnum, "auto",
     "systemd journal: auto reads it when journald runs here and the auth_log file is not there; on reads it "
     "whenever it opens; off never",
     0, 0, "auto|on|off"},
    {"journal_directory", SettingType::kString, "",
     "Read the journal files of this directory instead of the system journal (no check that journald runs)"},
    {"syslog_socket", SettingType::kString, "",
     "Unix datagram socket the agent binds and reads syslog messages from (e.g. /dev/log where no syslog daemon "
     "runs, or a path a relay writes to); empty: none"},
    {"max_repeat", SettingType::kInt, "1000",
     "Events one log message may stand for (message repeated N times, N incorrect passwords); the rest are counted "
     "as dropped repeat_limit",
     1, 1'000'000},
    {"session_entries", SettingType::kInt, "1024",
     "Open sessions remembered to name the user and duration of a logout; when full the oldest is forgotten", 16,
     1 << 20},
};

// The programs whose journal entries are read.
constexpr std::string_view kJournalIdentifiers[] = {"sshd",  "sshd-session", "sshd-auth", "dropbear",
                                                    "login", "su",           "sudo"};

// Stop interrupts a Read at once: the timeout only bounds how long the thread sleeps when
// nothing happens (the source wakes earlier for its own safety check).
constexpr int kReadTimeoutMs = 10'000;

std::string SourceNames(uint32_t in_use) {
  std::string names;
  for (int i = 0; i < kLoginOriginCount; ++i) {
    const auto origin = static_cast<LoginOrigin>(i);
    if (!(in_use & LoginOriginBit(origin))) continue;
    if (!names.empty()) names += ",";
    names += LoginOriginName(origin);
  }
  return names.empty() ? "none" : names;
}

class LoginCollector final : public Collector {
 public:
  LoginCollector(CollectorContext& ctx, std::unique_ptr<LoginSource> given)
      : ctx_(ctx),
        given_(std::move(given)),
        tracker_(
            ctx.stats, [this](Event&& e) { ctx_.Emit(std::move(e)); },
            TrackerOptions{static_cast<uint64_t>(ctx.config.GetInt("login.max_repeat")),
                           static_cast<size_t>(ctx.config.GetInt("login.session_entries"))}) {}

  ~LoginCollector() override { Stop(); }

  Status Start() override {
    if (thread_.joinable()) return Status::Ok();
    std::unique_ptr<LoginSource> source = std::move(given_);
    if (!source) {
      auto options = SourceOptionsFromConfig(ctx_.config);
      if (!options.ok()) return options.status();
      options->stats = &ctx_.stats;
      auto opened = OpenLoginSource(*options);
      if (!opened.ok()) return Status::Unavailable(std::string(opened.status().message()));
      source = std::move(*opened);
    }
    in_use_ = source->InUse();
    tracker_.SetInUse(in_use_);
    ctx_.stats.SetSource(SourceNames(in_use_));
    {
      std::lock_guard lock(mu_);
      source_ = std::move(source);
    }
    stop_.store(false);
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
    std::lock_guard lock(mu_);
    source_.reset();  // closes files, removes the syslog socket
  }

 private:
  void Run() {
    LoginSource* source = nullptr;
    {
      std::lock_guard lock(mu_);
      source = source_.get();
    }
    std::vector<LoginInput> inputs;
    while (!stop_.load(std::memory_order_relaxed)) {
      inputs.clear();
      Status st = source->Read(kReadTimeoutMs, &inputs);
      // Who reports what depends on the inputs in use, which change when a file appears.
      if (const uint32_t now_in_use = source->InUse(); now_in_use != in_use_) {
        in_use_ = now_in_use;
        tracker_.SetInUse(in_use_);
        ctx_.stats.SetSource(SourceNames(in_use_));
        spdlog::info("login: reading {}", SourceNames(in_use_));
      }
      const int64_t now = ctx_.env.clock().NowMs();
      for (const LoginInput& in : inputs) tracker_.Handle(in, now);
      if (!st.ok()) {
        if (stop_.load()) break;
        spdlog::error("login: input failed, collector stopped: {}", st.ToString());
        ctx_.stats.SetSource("");
        break;
      }
    }
  }

  CollectorContext ctx_;
  std::unique_ptr<LoginSource> given_;
  LoginTracker tracker_;
  uint32_t in_use_ = 0;
  std::mutex mu_;  // guards source_ (interrupted by Stop)
  std::unique_ptr<LoginSource> source_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) { return std::make_unique<LoginCollector>(ctx, nullptr); }

}  // namespace

Result<LoginSourceOptions> SourceOptionsFromConfig(const Config& config) {
  LoginSourceOptions o;
  struct PathKey {
    const char* key;
    std::string* value;
  };
  for (const PathKey& p :
       {PathKey{"login.auth_log", &o.auth_log}, PathKey{"login.utmp", &o.utmp}, PathKey{"login.wtmp", &o.wtmp},
        PathKey{"login.btmp", &o.btmp}, PathKey{"login.journal_directory", &o.journal_directory},
        PathKey{"login.syslog_socket", &o.syslog_socket}}) {
    *p.value = config.GetString(p.key);
    if (!p.value->empty() && p.value->front() != '/')
      return Status::InvalidArgument(std::string("key '") + p.key + "': '" + *p.value +
                                     "' is not an absolute path (empty turns it off)");
  }
  const std::string& journal = config.GetString("login.journal");
  o.journal = journal == "on" ? JournalMode::kOn : journal == "off" ? JournalMode::kOff : JournalMode::kAuto;
  o.journal_identifiers.assign(std::begin(kJournalIdentifiers), std::end(kJournalIdentifiers));
  return o;
}

std::unique_ptr<Collector> NewLoginCollector(CollectorContext& ctx, std::unique_ptr<LoginSource> source) {
  return std::make_unique<LoginCollector>(ctx, std::move(source));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "login",
    .help =
        "Logins: success, failure and logout, from the auth log (file, journal or syslog socket) and "
        "utmp/wtmp/btmp.",
    .default_priority = Priority::kHigh,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::login
