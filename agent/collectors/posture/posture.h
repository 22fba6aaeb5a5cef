// The posture collector: the device scanned against a posture policy (agent/posture,
// docs/posture.md) shortly after start and every `posture.interval` after, one `posture`
// event per scan (schema/events.yml), low priority by default.
//
// The policy: `posture.policy` names a built-in one (`builtin:linux-baseline`,
// `builtin:openwrt-busybox`), a file, or `auto`: the BusyBox/OpenWrt profile on a system with
// /etc/openwrt_release, or with /bin/busybox and no dpkg database; the Linux baseline
// elsewhere. A policy file with errors is refused at start, each error logged with its line
// (the agent runs without this collector rather than with half a policy). Checks and groups
// named in `posture.disabled_checks` / `posture.disabled_groups` are left out of every scan.
//
// Threads: one, started by Start and joined by Stop; a scan in progress finishes first (a scan
// takes well under a second; a command rule is bounded by its timeout).
#pragma once

#include <memory>
#include <string>

#include "agent/core/collector.h"
#include "agent/core/event.h"
#include "agent/platform/command_runner.h"
#include "agent/posture/scan.h"

namespace vigil::posture {

extern const CollectorDescriptor kDescriptor;

// The policy `spec` names (see above), loaded; InvalidArgument listing every issue.
Result<std::shared_ptr<const Policy>> ResolvePolicy(const std::string& spec, Env& env);

// The `posture` event data of a report (schema/events.yml): remediation only on failed
// checks, evidence cut at kMaxCheckEvidenceBytes.
Json PostureEventData(const ScanReport& report, size_t disabled);

// The collector with the command runner given (a fake in tests).
std::unique_ptr<Collector> NewPostureCollector(CollectorContext& ctx, std::unique_ptr<CommandRunner> runner);

}  // namespace vigil::posture
