#include "agent/collectors/process/poll_source.h"

#include <algorithm>
#include <chrono>

#include "agent/collectors/common/procfs.h"

namespace vigil::process {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

PollProcessSource::PollProcessSource(Env& env, int64_t interval_ms, std::string proc_root)
    : env_(env), interval_ms_(std::max<int64_t>(interval_ms, 1)), proc_root_(std::move(proc_root)) {}

Status PollProcessSource::Scan(std::vector<ProcEvent>* out) {
  last_scan_ms_ = SteadyMs();
  auto names = env_.ListDir(proc_root_);
  if (!names.ok()) return names.status();
  scratch_.clear();
  for (const std::string& n : *names) {
    int32_t pid = common::ParsePid(n);
    if (pid > 0) scratch_.push_back(pid);
  }
  std::sort(scratch_.begin(), scratch_.end());
  if (baseline_) {
    // Both lists are sorted: one merge pass finds the vanished and the new.
    std::vector<int32_t> appeared;
    size_t i = 0, j = 0;
    while (i < pids_.size() || j < scratch_.size()) {
      if (j == scratch_.size() || (i < pids_.size() && pids_[i] < scratch_[j])) {
        ProcEvent ev;
        ev.kind = ProcEvent::Kind::kExit;
        ev.pid = pids_[i++];
        out->push_back(ev);
      } else if (i == pids_.size() || scratch_[j] < pids_[i]) {
        appeared.push_back(scratch_[j++]);
      } else {
        ++i;
        ++j;
      }
    }
    // New at the last listing and still there (the same pid: a pid is not reused within one
    // interval in practice): an exec since, if the command line changed. Then this listing's new.
    std::vector<int32_t> execs;
    for (const auto& [pid, cmdline] : young_) {
      if (std::binary_search(scratch_.begin(), scratch_.end(), pid) && Cmdline(pid) != cmdline) execs.push_back(pid);
    }
    young_.clear();
    for (int32_t pid : appeared) {
      young_.emplace_back(pid, Cmdline(pid));
      execs.push_back(pid);
    }
    std::sort(execs.begin(), execs.end());
    for (int32_t pid : execs) {
      ProcEvent ev;
      ev.kind = ProcEvent::Kind::kExec;
      ev.pid = pid;
      out->push_back(ev);
    }
  }
  baseline_ = true;
  pids_.swap(scratch_);
  return Status::Ok();
}

std::string PollProcessSource::Cmdline(int32_t pid) {
  auto text = env_.ReadFile(proc_root_ + "/" + std::to_string(pid) + "/cmdline", 4096);
  return text.ok() ? std::move(*text) : std::string();
}

Status PollProcessSource::Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* /*overruns*/) {
  const int64_t now = SteadyMs();
  const int64_t due = baseline_ ? last_scan_ms_ + interval_ms_ : now;
  const int64_t wait_until = std::min(due, now + std::max(timeout_ms, 0));
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait_until - now, 0)), [&] { return interrupted_; });
    if (interrupted_) return Status::Ok();
  }
  if (SteadyMs() < due) return Status::Ok();  // the caller's timeout came first
  return Scan(out);
}

void PollProcessSource::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

}  // namespace vigil::process
