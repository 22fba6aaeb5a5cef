// The built-in posture policies (policies/*.yml), compiled in compressed (cmake/VigilEmbed.cmake),
// so that `vigil-agent scan posture` and the agent check a device without a policy installed.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "agent/core/embedded.h"
#include "agent/core/status.h"
#include "agent/platform/env.h"

namespace vigil::posture {

// The policy files, named "builtin:policies/linux-baseline.yml".
const EmbeddedBundle& BuiltinPolicyBundle();
using BuiltinPolicy = EmbeddedFile;
std::span<const BuiltinPolicy> BuiltinPolicies();
// The policy `vigil-agent scan posture` runs without --policy (linux-baseline.yml).
const BuiltinPolicy* DefaultBuiltinPolicy();
// By file name ("openwrt-busybox.yml" or "openwrt-busybox"); null when there is none.
const BuiltinPolicy* FindBuiltinPolicy(std::string_view name);
// A built-in policy's text.
std::string BuiltinPolicyText(const BuiltinPolicy& policy);

// The text of the policy `spec` names, and the name its issues are reported under:
//   ""               the default built-in policy (linux-baseline);
//   "auto"           the BusyBox/OpenWrt profile on a system with /etc/openwrt_release, or
//                    with /bin/busybox and no dpkg database; the Linux baseline elsewhere;
//   "builtin:NAME"   a built-in policy by file name, with or without ".yml";
//   anything else    a policy file (a relative path is taken from the working directory).
// InvalidArgument for an unknown built-in (listing those there are); the read's error, naming
// the file, for one that cannot be read.
struct PolicySource {
  std::string name;
  std::string text;
};
Result<PolicySource> ReadPolicySource(std::string_view spec, Env& env);

}  // namespace vigil::posture
