// The login collector: "login" events (success, failure, logout) from the auth log (a file
// tailed across rotation, the systemd journal, or a syslog socket the agent listens on) and
// from utmp, wtmp and btmp. Which input reports what, so that one login counts once:
// login_tracker.h. Formats understood: login_parse.h. Fields, settings and counters: README.md
// beside this file.
//
// Threads: one reader thread (LoginSource::Read -> LoginTracker -> ctx.Emit), started by
// Start and joined by Stop. Start and Stop are called from the main thread.
#pragma once

#include <memory>

#include "agent/core/collector.h"
#include "agent/platform/login_source.h"

namespace vigil::login {

extern const CollectorDescriptor kDescriptor;

// The source options the collector's settings ("login.*") describe. InvalidArgument, naming
// the key, for a path that is not absolute.
Result<LoginSourceOptions> SourceOptionsFromConfig(const Config& config);

// The collector reading `source` instead of opening one from the settings (a scripted source
// in tests). When the source fails, the collector stops reading.
std::unique_ptr<Collector> NewLoginCollector(CollectorContext& ctx, std::unique_ptr<LoginSource> source);

}  // namespace vigil::login
