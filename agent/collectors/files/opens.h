// OpenReporter: `file` / `opened` events: a process opened one of the files listed in
// files.watch_opens (by default the hardware watchdog, /dev/watchdog and /dev/watchdog0:
// procd or systemd open it at boot, before the agent, so an open seen later is news; Mirai
// opens it to keep the device from rebooting out of the infection).
//
// The notices come from an OpenWatcher (platform/open_watcher.h, fanotify); the opener is read
// from /proc at once: exe, comm and the real uid (status). A process gone by then gives an
// event with its pid alone. The agent's own opens are not reported.
//
// Fields: path, root (the path as listed), type (what the path is now: `other` for a device
// node), pid, exe, comm, uid, user (README.md beside this file). Identical opens (path, program,
// user) share an aggregation key, so a program that opens the file again and again makes one
// aggregated event per interval.
//
// Threads: one instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/collectors/common/passwd.h"
#include "agent/core/event.h"
#include "agent/platform/env.h"
#include "agent/platform/open_watcher.h"

namespace vigil::files {

class OpenReporter {
 public:
  // `env` and `users` outlive the reporter. `self_pid`: the agent's own pid.
  OpenReporter(Env& env, common::UserNames& users, int32_t self_pid, std::string proc_root = "/proc");

  // The event for one notice (ts `ts_ms`); none for the agent's own opens.
  std::optional<Event> Build(const OpenNotice& notice, int64_t ts_ms);

 private:
  Env& env_;
  common::UserNames& users_;
  const int32_t self_pid_;
  const std::string proc_root_;
};

}  // namespace vigil::files
