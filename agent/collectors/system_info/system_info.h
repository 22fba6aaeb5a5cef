// system_info collector: one "system_info"/"snapshot" event describing this host (OS, kernel,
// architecture, hostname, hardware, CPU, memory, network interfaces, boot time, agent
// version), at start and then every `system_info.interval`. Fields: README.md beside this file.
//
// Everything is read through Env (files under /etc, /usr/lib, /proc, /sys) and an
// InterfaceAddressSource (IP addresses). A part that cannot be read is left out of the event;
// nothing that is missing stops the event.
//
// Threads: Start and Stop on the main thread; the snapshot is taken by a Scheduler task on
// the pipeline thread, which Stop removes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "agent/core/collector.h"
#include "agent/core/event.h"
#include "agent/platform/env.h"
#include "agent/platform/interface_addresses.h"

namespace vigil::system_info {

struct SnapshotOptions {
  size_t max_nics = 64;       // interfaces listed, by name order; the rest are counted
  size_t max_addresses = 32;  // per interface and family
  std::string agent_version;  // empty: left out
};

// Reads the host's facts and returns the event's `data`. `addrs` may be null (no IP
// addresses then). Never fails; see README.md for the fields and where each comes from.
Json CollectSnapshot(Env& env, InterfaceAddressSource* addrs, const SnapshotOptions& opts);

// The version this agent was built as ("unknown" when the build did not say).
std::string_view AgentVersion();

class SystemInfoCollector : public Collector {
 public:
  // `addrs` may be null.
  SystemInfoCollector(CollectorContext& ctx, std::unique_ptr<InterfaceAddressSource> addrs);
  ~SystemInfoCollector() override;

  // Registers the periodic task (first run at the next Scheduler pass). Reads
  // system_info.interval and system_info.max_nics. Calling it twice registers once.
  Status Start() override;
  // Removes the task; when it returns no snapshot is being taken. Idempotent.
  void Stop() override;

 private:
  void Snapshot();

  CollectorContext& ctx_;
  std::unique_ptr<InterfaceAddressSource> addrs_;
  SnapshotOptions opts_;
  Scheduler::TaskId task_ = 0;
};

extern const CollectorDescriptor kDescriptor;

}  // namespace vigil::system_info
