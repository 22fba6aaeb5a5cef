#include <signal.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "agent/platform/signals.h"

namespace vigil {
namespace {

sigset_t AgentSignalSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void BlockAgentSignals() {
  sigset_t set = AgentSignalSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

AgentSignal WaitForAgentSignal(int timeout_ms) {
  sigset_t set = AgentSignalSet();
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig == SIGHUP) return AgentSignal::kReload;
  if (sig == SIGTERM || sig == SIGINT) return AgentSignal::kStop;
  return AgentSignal::kNone;
}

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO) == 1; }
bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void TuneAllocatorForSmallFootprint() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

void ReturnFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace vigil
