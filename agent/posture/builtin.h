// The built-in posture policies (policies/*.yml), embedded at build time (builtin.cpp.in), so
// that `vigil-agent scan posture` and the agent check a device without a policy installed.
#pragma once

#include <span>
#include <string_view>

namespace vigil::posture {

struct BuiltinPolicy {
  std::string_view name;  // "builtin:policies/linux-baseline.yml"
  std::string_view text;
};
std::span<const BuiltinPolicy> BuiltinPolicies();
// The policy `vigil-agent scan posture` runs without --policy (linux-baseline.yml).
const BuiltinPolicy* DefaultBuiltinPolicy();
// By file name ("openwrt-busybox.yml" or "openwrt-busybox"); null when there is none.
const BuiltinPolicy* FindBuiltinPolicy(std::string_view name);

}  // namespace vigil::posture
