#include "agent/collectors/posture/posture.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "agent/collectors/common/periodic_thread.h"
#include "agent/posture/builtin.h"

namespace vigil::posture {
namespace {

constexpr SettingSpec kSettings[] = {
    {.key = "policy",
     .type = SettingType::kString,
     .default_value = "auto",
     .help = "The policy: auto (the BusyBox/OpenWrt profile on such systems, else the Linux baseline), "
             "builtin:linux-baseline, builtin:openwrt-busybox, or the path of a policy file (docs/posture.md)."},
    {.key = "interval",
     .type = SettingType::kDuration,
     .default_value = "6h",
     .help = "Time between two scans.",
     .min = 60'000,
     .max = 7 * 86'400'000LL},
    {.key = "first_scan_delay",
     .type = SettingType::kDuration,
     .default_value = "30s",
     .help = "Time from the agent's start to the first scan, so that the scan does not add to the start's work.",
     .min = 0,
     .max = 86'400'000},
    {.key = "disabled_checks",
     .type = SettingType::kList,
     .default_value = "",
     .help = "Ids of checks left out of every scan (e.g. ssh-banner)."},
    {.key = "disabled_groups",
     .type = SettingType::kList,
     .default_value = "",
     .help = "Ids of policy groups whose checks are left out (e.g. pam)."},
};

std::string Cut(std::string s, size_t max) {
  if (s.size() > max) s.resize(max);
  return s;
}

class PostureCollector final : public Collector {
 public:
  PostureCollector(CollectorContext& ctx, std::unique_ptr<CommandRunner> runner)
      : ctx_(ctx), runner_(std::move(runner)) {}
  ~PostureCollector() override { Stop(); }

  Status Start() override {
    if (thread_.running()) return Status::Ok();
    spec_ = ctx_.config.GetString("posture.policy");
    auto policy = ResolvePolicy(spec_, ctx_.env);
    if (!policy.ok()) return policy.status();
    const std::shared_ptr<const Policy>& loaded = *policy;
    const auto& checks = ctx_.config.GetList("posture.disabled_checks");
    const auto& groups = ctx_.config.GetList("posture.disabled_groups");
    std::set<std::string> off_checks(checks.begin(), checks.end()), off_groups(groups.begin(), groups.end());
    for (const std::string& id : off_checks) {
      if (!loaded->FindCheck(id)) spdlog::warn("posture: disabled_checks names no check of {}: {}", loaded->id, id);
    }
    for (const std::string& g : off_groups) {
      bool known = std::any_of(loaded->groups.begin(), loaded->groups.end(), [&](const auto& x) { return x.id == g; });
      if (!known) spdlog::warn("posture: disabled_groups names no group of {}: {}", loaded->id, g);
    }
    for (const Check& c : loaded->checks) {
      if (off_checks.count(c.id) || off_groups.count(c.group)) {
        ++disabled_;
      } else {
        only_.push_back(c.id);
      }
    }
    ctx_.stats.SetSource(loaded->id);
    // The policy is dropped here and loaded again for each scan: between scans (hours) its few
    // hundred KB would only sit in memory.
    thread_.Start(ctx_.config.GetInt("posture.first_scan_delay"), ctx_.config.GetInt("posture.interval"),
                  [this] { Scan(); });
    return Status::Ok();
  }

  void Stop() override { thread_.Stop(); }

 private:
  void Scan() {
    ScanTarget target;
    target.env = &ctx_.env;
    target.root = "/";
    target.runner = runner_.get();
    ScanOptions options;
    options.only = only_;
    if (only_.empty()) {
      ctx_.stats.Count("scans_empty");  // every check disabled: nothing to send
      return;
    }
    auto policy = ResolvePolicy(spec_, ctx_.env);  // valid at Start; its file may have changed since
    if (!policy.ok()) {
      spdlog::warn("posture: scan skipped: {}", policy.status().message());
      ctx_.stats.Count("policy_errors");
      return;
    }
    ScanReport report = RunScan(*policy, target, options);
    Event e;
    e.type = "posture";
    e.action = "scan";
    e.ts_ms = ctx_.env.clock().NowMs();
    e.data = PostureEventData(report, disabled_);
    ctx_.stats.Count("scans");
    ctx_.stats.Count("checks_failed", report.summary.fail);
    ctx_.stats.Count("checks_error", report.summary.error);
    ctx_.Emit(std::move(e));
  }

  CollectorContext& ctx_;
  std::unique_ptr<CommandRunner> runner_;
  std::string spec_;  // posture.policy
  std::vector<std::string> only_;
  size_t disabled_ = 0;
  common::PeriodicThread thread_;
};

std::unique_ptr<Collector> Create(CollectorContext& ctx) {
  return std::make_unique<PostureCollector>(ctx, NewPlatformCommandRunner());
}

}  // namespace

Result<std::shared_ptr<const Policy>> ResolvePolicy(const std::string& spec, Env& env) {
  auto source = ReadPolicySource(spec, env);
  if (!source.ok()) return Status::InvalidArgument("posture.policy: " + std::string(source.status().message()));
  const std::string& name = source->name;
  LoadedPolicy loaded = LoadPolicy(source->text, name);
  if (!loaded.ok()) {
    std::string msg = "posture.policy: " + name + ": " + std::to_string(loaded.issues.size()) + " error(s)";
    for (const PolicyIssue& i : loaded.issues) msg += "\n  " + i.ToString();
    return Status::InvalidArgument(msg);
  }
  return loaded.policy;
}

Json PostureEventData(const ScanReport& report, size_t disabled) {
  Json checks = Json::array();
  for (const CheckResult& r : report.results) {
    const Check& c = *r.check;
    Json j = {{"id", c.id},
              {"title", c.title},
              {"group", c.group},
              {"severity", std::string(SeverityName(c.severity))},
              {"result", std::string(OutcomeName(r.outcome))}};
    if (!c.references.empty()) j["references"] = c.references;
    if (!r.evidence.empty()) j["evidence"] = Cut(r.evidence, kMaxCheckEvidenceBytes);
    if (r.outcome == Outcome::kFail && !c.remediation.empty()) j["remediation"] = c.remediation;
    checks.push_back(std::move(j));
  }
  Json summary = {{"pass", report.summary.pass},
                  {"fail", report.summary.fail},
                  {"not_applicable", report.summary.not_applicable},
                  {"error", report.summary.error}};
  if (auto score = report.summary.Score()) summary["score"] = *score;
  return Json{{"policy", {{"id", report.policy->id}, {"name", report.policy->name}, {"version", report.policy->version}}},
              {"summary", std::move(summary)},
              {"duration_ms", report.duration_ms},
              {"disabled", disabled},
              {"checks", std::move(checks)}};
}

std::unique_ptr<Collector> NewPostureCollector(CollectorContext& ctx, std::unique_ptr<CommandRunner> runner) {
  return std::make_unique<PostureCollector>(ctx, std::move(runner));
}

extern const CollectorDescriptor kDescriptor = {
    .name = "posture",
    .help = "The device checked against a posture policy (CIS-based baseline) at start and periodically.",
    .default_priority = Priority::kLow,
    .settings = kSettings,
    .factory = &Create,
};

}  // namespace vigil::posture
