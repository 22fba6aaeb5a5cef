// The peripheral collector: "peripheral" events when a device is added or removed (USB
// devices, network interfaces, removable disks, USB serial ports, ...), and the devices
// present at start (action `present`).
//
// Source, by the setting peripheral.mode:
//   netlink  the kernel's uevents (platform/uevent_source.h); Start fails with Unavailable
//            when they cannot be subscribed to
//   poll     sysfs listed every peripheral.poll_interval and compared with the last listing
//   auto     netlink when it opens, else poll; also falls back to poll if the socket breaks
// agent_stats reports the source in use ("netlink" or "poll"). Lost uevents (the socket's
// buffer overflowed) are counted as dropped `kernel_overrun` and followed by a sysfs rescan,
// so devices added or removed meanwhile are still reported.
//
// Threads: one receive thread (inventory, uevents, rescans), joined by Stop.
//
// Fields of the events: README.md beside this file; parsing: uevent.h; sysfs: device_info.h.
#pragma once

#include <memory>

#include "agent/core/collector.h"
#include "agent/platform/uevent_source.h"

namespace vigil::peripheral {

extern const CollectorDescriptor kDescriptor;

// The same collector reading the given source instead of choosing one by peripheral.mode (a
// scripted source in tests). If the source fails, the collector stops (no fallback).
std::unique_ptr<Collector> NewPeripheralCollector(CollectorContext& ctx, std::unique_ptr<UeventSource> source);

}  // namespace vigil::peripheral
