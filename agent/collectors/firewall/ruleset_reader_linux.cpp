// The Linux RulesetReader (see firewall_source.h): libnftables through dlopen, and the legacy
// iptables save tools as child processes. Compiled into the firewall collector only.
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/collectors/firewall/firewall_source.h"
#include "agent/platform/linux/shared_library.h"

namespace vigil::firewall {
namespace {

constexpr size_t kMaxOutputBytes = 32 << 20;  // a ruleset listing larger than this is refused
constexpr int64_t kToolTimeoutMs = 10'000;
constexpr const char* kToolDirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"};

// The few libnftables functions used, resolved at run time: loaded for a read, unloaded after.
class LibNftables {
 public:
  LibNftables() {
    lib_.Bind(ctx_new_, "nft_ctx_new");
    lib_.Bind(ctx_free_, "nft_ctx_free");
    lib_.Bind(set_flags_, "nft_ctx_output_set_flags");
    lib_.Bind(buffer_output_, "nft_ctx_buffer_output");
    lib_.Bind(buffer_error_, "nft_ctx_buffer_error");
    lib_.Bind(output_, "nft_ctx_get_output_buffer");
    lib_.Bind(errors_, "nft_ctx_get_error_buffer");
    lib_.Bind(run_, "nft_run_cmd_from_buffer");
  }

  Result<std::string> ListRuleset() {
    if (Status st = lib_.status(); !st.ok()) return st;
    nft_ctx* ctx = ctx_new_(NFT_CTX_DEFAULT);
    if (ctx == nullptr) return Status::Unavailable("libnftables: nft_ctx_new failed");
    set_flags_(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_STATELESS);
    buffer_output_(ctx);
    buffer_error_(ctx);
    const int rc = run_(ctx, "list ruleset");
    Result<std::string> out = Status::Internal("unset");
    if (rc == 0) {
      const char* text = output_(ctx);
      std::string s = text != nullptr ? text : "";
      if (s.size() > kMaxOutputBytes)
        out = Status::IoError("nft ruleset listing larger than 32 MB, not read");
      else
        out = std::move(s);
    } else {
      const char* err = errors_(ctx);
      std::string msg = err != nullptr ? err : "";
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      if (msg.empty()) msg = "failed";
      msg = "nft list ruleset: " + msg.substr(0, 512);
      if (msg.find("Operation not permitted") != std::string::npos)
        out = Status::PermissionDenied(msg);
      else if (msg.find("Protocol not supported") != std::string::npos)
        out = Status::Unavailable(msg);
      else
        out = Status::IoError(msg);
    }
    ctx_free_(ctx);
    return out;
  }

 private:
  SharedLibrary lib_{{"libnftables.so.1", "libnftables.so"}, "install the package libnftables1"};
  nft_ctx* (*ctx_new_)(uint32_t) = nullptr;
  void (*ctx_free_)(nft_ctx*) = nullptr;
  void (*set_flags_)(nft_ctx*, unsigned int) = nullptr;
  int (*buffer_output_)(nft_ctx*) = nullptr;
  int (*buffer_error_)(nft_ctx*) = nullptr;
  const char* (*output_)(nft_ctx*) = nullptr;
  const char* (*errors_)(nft_ctx*) = nullptr;
  int (*run_)(nft_ctx*, const char*) = nullptr;
};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs `path` without arguments, stdin from /dev/null; returns its stdout. Fails when it
// exits non-zero (with the start of its stderr), prints more than kMaxOutputBytes, runs
// longer than kToolTimeoutMs, or `cancel` is set (checked every 100 ms).
Result<std::string> RunTool(const std::string& path, const std::atomic<bool>& cancel) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close(out[0]);
    close(out[1]);
    return Status::IoError(std::string("pipe: ") + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char env_lang[] = "LC_ALL=C";
  char* envp[] = {env_path, env_lang, nullptr};
  // The agent blocks its stop signals in every thread and ignores SIGPIPE; the tool gets the
  // defaults back.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return Status::IoError(path + ": cannot start: " + std::strerror(rc));
  }
  std::string stdout_text, stderr_text;
  std::string failure;
  const int64_t deadline = SteadyMs() + kToolTimeoutMs;
  bool out_open = true, err_open = true;
  char buf[64 * 1024];
  while (out_open || err_open) {
    if (cancel.load()) {
      failure = "cancelled";
      break;
    }
    if (SteadyMs() >= deadline) {
      failure = "no answer within " + std::to_string(kToolTimeoutMs / 1000) + " s";
      break;
    }
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, 100) < 0 && errno != EINTR) {
      failure = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (out_open && fds[0].revents != 0) {
      const ssize_t n = read(out[0], buf, sizeof(buf));
      if (n > 0)
        stdout_text.append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        out_open = false;
      if (stdout_text.size() > kMaxOutputBytes) {
        failure = "output larger than 32 MB";
        break;
      }
    }
    if (err_open && fds[1].revents != 0) {
      const ssize_t n = read(err[0], buf, sizeof(buf));
      if (n > 0 && stderr_text.size() < 4096)
        stderr_text.append(buf, static_cast<size_t>(n));
      else if (n == 0 || (n < 0 && errno != EINTR))
        err_open = false;
    }
  }
  close(out[0]);
  close(err[0]);
  if (!failure.empty()) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failure.empty()) return Status::IoError(path + ": " + failure);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first = stderr_text.substr(0, stderr_text.find('\n'));
    return Status::IoError(path + ": exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                           (first.empty() ? "" : ": " + first.substr(0, 300)));
  }
  return stdout_text;
}

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// The legacy save tool for `family`: "<prefix>tables-legacy-save", else "<prefix>tables-save"
// unless it resolves to the nft variant (xtables-nft-multi), whose tables nftables shows.
std::string FindLegacySave(std::string_view family) {
  const std::string prefix = family == "ip6" ? "ip6" : "ip";
  for (const char* dir : kToolDirs) {
    const std::string p = std::string(dir) + "/" + prefix + "tables-legacy-save";
    if (IsExecutable(p)) return p;
  }
  for (const char* dir : kToolDirs) {
    const std::string p = std::string(dir) + "/" + prefix + "tables-save";
    if (!IsExecutable(p)) continue;
    char resolved[PATH_MAX];
    if (realpath(p.c_str(), resolved) == nullptr) continue;
    const std::string_view real(resolved);
    const std::string_view base = real.substr(real.rfind('/') + 1);
    if (base.find("nft") != std::string_view::npos) return "";  // the nft variant
    return p;
  }
  return "";
}

class LinuxRulesetReader final : public RulesetReader {
 public:
  explicit LinuxRulesetReader(Env& env) : env_(env) {}

  // The library (about 1.5 MB resident with its dependencies) is loaded for each read and
  // unloaded after it: reads are rare, and a few milliseconds each.
  Result<std::string> ReadNftables() override {
    if (cancel_.load()) return Status::Unavailable("cancelled");
    LibNftables nft;
    return nft.ListRuleset();
  }

  Result<std::string> ReadIptablesLegacy(std::string_view family) override {
    if (cancel_.load()) return Status::Unavailable("cancelled");
    const std::string names_path = family == "ip6" ? "/proc/net/ip6_tables_names" : "/proc/net/ip_tables_names";
    Result<std::string> names = env_.ReadFile(names_path, 4096);
    if (!names.ok() || names->find_first_not_of(" \n") == std::string::npos)
      return Status::NotFound("no legacy " + std::string(family) + " tables");
    const std::string tool = FindLegacySave(family);
    if (tool.empty()) {
      std::string list = *names;
      for (char& c : list)
        if (c == '\n') c = ' ';
      while (!list.empty() && list.back() == ' ') list.pop_back();
      return Status::Unavailable("legacy " + std::string(family) + " tables exist (" + list +
                                 ") but no legacy save tool (" + (family == "ip6" ? "ip6" : "ip") +
                                 "tables-legacy-save) is installed");
    }
    return RunTool(tool, cancel_);
  }

  void Cancel() override { cancel_.store(true); }

 private:
  Env& env_;
  std::atomic<bool> cancel_{false};
};

}  // namespace

std::unique_ptr<RulesetReader> NewLinuxRulesetReader(Env& env) { return std::make_unique<LinuxRulesetReader>(env); }

}  // namespace vigil::firewall
