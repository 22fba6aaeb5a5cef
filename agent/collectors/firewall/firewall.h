// The firewall collector: the nftables ruleset (and legacy iptables tables, where the kernel
// holds any) summarised per table and chain with a digest, as a `snapshot` event at start and
// a `changed` event whenever the digest changes.
//
// Change detection: nftables notifications (NETLINK_NETFILTER, group NFNLGRP_NFTABLES) wake
// the collector; it waits until they have been quiet for kQuietMs (at most kMaxDebounceMs,
// so one `nft -f` of many objects is read once), then reads every backend again. Legacy
// iptables has no notifications: every `firewall.interval` everything is read again, which
// also covers notifications lost or unavailable (source "poll" without netlink).
//
// Threads: one, started by Start (the first read happens there, not in Start) and joined by
// Stop, which interrupts a wait and cancels a read in progress.
// Fields of the events: README.md beside this file.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/collectors/firewall/firewall_source.h"
#include "agent/core/collector.h"

namespace vigil::firewall {

inline constexpr int64_t kQuietMs = 200;
inline constexpr int64_t kMaxDebounceMs = 2'000;

extern const CollectorDescriptor kDescriptor;

// The same collector over the given reader and notifier (fakes in tests). A null notifier
// means the netlink one (with the timer fallback).
std::unique_ptr<Collector> NewFirewallCollector(CollectorContext& ctx, std::unique_ptr<RulesetReader> reader,
                                                std::unique_ptr<ChangeNotifier> notifier);

}  // namespace vigil::firewall
