#include <filesystem>

#include "agent/posture/builtin.h"
#include "agent/posture/policy.h"

namespace vigil::posture {

std::span<const BuiltinPolicy> BuiltinPolicies() { return BuiltinPolicyBundle().files; }

const BuiltinPolicy* FindBuiltinPolicy(std::string_view name) {
  for (const BuiltinPolicy& p : BuiltinPolicies()) {
    std::string_view base = p.name.substr(p.name.rfind('/') + 1);
    if (base == name || base.substr(0, base.rfind('.')) == name) return &p;
  }
  return nullptr;
}

const BuiltinPolicy* DefaultBuiltinPolicy() { return FindBuiltinPolicy("linux-baseline.yml"); }

std::string BuiltinPolicyText(const BuiltinPolicy& policy) { return EmbeddedText(BuiltinPolicyBundle(), policy); }

Result<PolicySource> ReadPolicySource(std::string_view spec, Env& env) {
  constexpr std::string_view kBuiltin = "builtin:";
  if (spec.empty() || spec == "auto" || spec.starts_with(kBuiltin)) {
    std::string want = spec.starts_with(kBuiltin) ? std::string(spec.substr(kBuiltin.size())) : "";
    if (spec == "auto") {
      bool small = env.Stat("/etc/openwrt_release").ok() ||
                   (env.Stat("/bin/busybox").ok() && !env.Stat("/var/lib/dpkg/status").ok());
      want = small ? "openwrt-busybox" : "linux-baseline";
    }
    const BuiltinPolicy* b = want.empty() ? DefaultBuiltinPolicy() : FindBuiltinPolicy(want);
    if (b == nullptr) {
      std::string names;
      for (const BuiltinPolicy& p : BuiltinPolicies()) {
        std::string_view base = p.name.substr(p.name.rfind('/') + 1);
        names += (names.empty() ? "" : ", ") + std::string(base.substr(0, base.rfind('.')));
      }
      return Status::InvalidArgument("no built-in policy '" + want + "' (there are: " + names + ")");
    }
    return PolicySource{std::string(b->name), BuiltinPolicyText(*b)};
  }
  std::string path(spec);
  if (!path.starts_with('/')) path = std::filesystem::absolute(path).lexically_normal().string();
  VIGIL_ASSIGN_OR_RETURN(std::string text, env.ReadFile(path, kMaxPolicyBytes + 1));
  return PolicySource{std::string(spec), std::move(text)};
}

}  // namespace vigil::posture
