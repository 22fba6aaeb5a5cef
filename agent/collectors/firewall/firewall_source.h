// Where the firewall collector gets rulesets and change notifications from: two small
// interfaces, their Linux implementations (ruleset_reader_linux.cpp, nft_netlink.cpp) and a
// timer stand-in for kernels or users without nftables notifications. Fakes live in the tests.
//
// Threads: every method but Interrupt/Cancel is called from the collector's one thread;
// Interrupt and Cancel may be called from any thread (Stop).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/core/stats.h"
#include "agent/core/status.h"
#include "agent/platform/env.h"

namespace vigil::firewall {

class RulesetReader {
 public:
  virtual ~RulesetReader() = default;

  // The nftables ruleset as libnftables prints `list ruleset` in JSON (ruleset.h).
  // Unavailable when nftables cannot be used here (no libnftables, no kernel support);
  // PermissionDenied without CAP_NET_ADMIN; IoError for other failures. Messages say why.
  virtual Result<std::string> ReadNftables() = 0;

  // The legacy iptables tables of `family` ("ip" or "ip6") as iptables-save prints them.
  // NotFound when the kernel holds no legacy table of that family (nothing to read; no tool
  // is run and no kernel module is loaded); Unavailable when it does but no legacy save tool
  // is installed; IoError when the tool fails or takes too long.
  virtual Result<std::string> ReadIptablesLegacy(std::string_view family) = 0;

  // Makes a read in progress give up soon (killing a tool it runs) and later reads fail.
  virtual void Cancel() = 0;
};

// The Linux reader: libnftables loaded at run time (dlopen "libnftables.so.1", so the agent
// runs where it is missing), and iptables-legacy-save / ip6tables-legacy-save (or a legacy
// iptables-save) run as a child process when /proc/net/ip{,6}_tables_names lists tables.
std::unique_ptr<RulesetReader> NewLinuxRulesetReader(Env& env);

class ChangeNotifier {
 public:
  virtual ~ChangeNotifier() = default;
  // Blocks up to `timeout_ms`. True when the ruleset may have changed; false on timeout or
  // after Interrupt. An error means the notifier is broken for good.
  virtual Result<bool> Wait(int64_t timeout_ms) = 0;
  virtual void Interrupt() = 0;
  virtual std::string_view name() const = 0;  // the source reported in agent_stats
};

// nftables change notifications: a NETLINK_NETFILTER socket in group NFNLGRP_NFTABLES. Every
// message is a change (the content is not needed: the whole ruleset is read again); a
// receive buffer overrun also counts as one (counter "netlink_overruns", nothing is lost).
// Counts datagrams as "notifications". Unavailable without CAP_NET_ADMIN or nfnetlink.
Result<std::unique_ptr<ChangeNotifier>> OpenNftNotifier(CollectorStats& stats);

// No notifications: Wait only times out (or is interrupted). Name "poll".
class TimerNotifier : public ChangeNotifier {
 public:
  Result<bool> Wait(int64_t timeout_ms) override;
  void Interrupt() override;
  std::string_view name() const override { return "poll"; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

}  // namespace vigil::firewall
