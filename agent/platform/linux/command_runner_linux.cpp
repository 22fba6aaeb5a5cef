// CommandRunner on Linux: fork, execve without a shell, a pipe for standard output read with
// poll until EOF or the deadline, then waitpid.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/platform/command_runner.h"

namespace vigil {
namespace {

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits for the child to exit until the deadline (the program may close its output and go on
// running). True with *status set when it exited; false at the deadline.
bool WaitUntil(pid_t pid, int64_t deadline, int* status) {
  const pid_t done = waitpid(pid, status, WNOHANG);
  if (done == pid) return true;
#ifdef SYS_pidfd_open
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    for (;;) {
      const int64_t left = deadline - NowMs();
      if (left <= 0) break;
      pollfd pfd{pidfd, POLLIN, 0};
      const int pr = poll(&pfd, 1, static_cast<int>(left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr > 0) break;
    }
    close(pidfd);
  }
#endif
  // Without pidfd (kernels before 5.3) the deadline is checked every 10 ms.
  for (;;) {
    const pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid) return true;
    if (w < 0 && errno != EINTR) return true;  // not our child any more: nothing to wait for
    if (NowMs() >= deadline) return false;
    timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

class LinuxCommandRunner : public CommandRunner {
 public:
  Result<CommandOutput> Run(const std::vector<std::string>& argv, int timeout_ms, size_t max_output) override {
    if (argv.empty() || argv[0].empty()) return Status::InvalidArgument("empty command");
    if (argv[0][0] != '/') return Status::InvalidArgument(argv[0] + ": the program must be an absolute path");
    struct stat st{};
    if (stat(argv[0].c_str(), &st) != 0) {
      const int e = errno;
      if (e == ENOENT || e == ENOTDIR) return Status::NotFound(argv[0] + ": no such program");
      return Status::IoError(argv[0] + ": " + std::strerror(e));
    }
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    static char kPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    static char kLang[] = "LC_ALL=C";
    char* envp[] = {kPath, kLang, nullptr};

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) {
      const int e = errno;
      close(out[0]);
      close(out[1]);
      return Status::IoError(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
      setpgid(0, 0);
      const int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDERR_FILENO);
      }
      dup2(out[1], STDOUT_FILENO);
      execve(args[0], args.data(), envp);
      _exit(127);
    }
    setpgid(pid, pid);  // also from the parent, so that the kill below reaches the group either way
    close(out[1]);

    CommandOutput result;
    const int64_t deadline = NowMs() + (timeout_ms > 0 ? timeout_ms : 0);
    char buf[4096];
    for (;;) {
      const int64_t left = deadline - NowMs();
      if (left <= 0) {
        result.timed_out = true;
        break;
      }
      pollfd pfd{out[0], POLLIN, 0};
      const int pr = poll(&pfd, 1, static_cast<int>(left));
      if (pr < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (pr == 0) continue;  // the deadline check above ends the loop
      const ssize_t n = read(out[0], buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        break;
      }
      if (n == 0) break;  // EOF: the program (and whatever inherited the pipe) closed it
      const size_t room = max_output - std::min(max_output, result.out.size());
      const size_t take = std::min(room, static_cast<size_t>(n));
      result.out.append(buf, take);
      if (take < static_cast<size_t>(n)) result.truncated = true;
    }
    close(out[0]);
    int status = 0;
    if (!result.timed_out && !WaitUntil(pid, deadline, &status)) result.timed_out = true;
    if (result.timed_out) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
    return result;
  }
};

}  // namespace

std::unique_ptr<CommandRunner> NewPlatformCommandRunner() { return std::make_unique<LinuxCommandRunner>(); }

}  // namespace vigil
