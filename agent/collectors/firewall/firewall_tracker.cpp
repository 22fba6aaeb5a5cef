#include "agent/collectors/firewall/firewall_tracker.h"

#include <spdlog/spdlog.h>

namespace vigil::firewall {
namespace {

constexpr size_t kMaxLogged = 256;

}  // namespace

FirewallTracker::FirewallTracker(RulesetReader& reader, CollectorStats& stats) : reader_(reader), stats_(stats) {}

void FirewallTracker::LogOnce(const std::string& message) {
  if (logged_.count(message) > 0) return;
  if (logged_.size() >= kMaxLogged) logged_.clear();
  logged_.insert(message);
  spdlog::warn("firewall: {}", message);
}

void FirewallTracker::ReportProblems(const Backend& b) {
  if (b.problem_count == 0) return;
  stats_.Count("parse_problems", b.problem_count);
  for (const std::string& p : b.problems) LogOnce(b.name + ": skipped " + p);
  if (b.problem_count > b.problems.size())
    LogOnce(b.name + ": " + std::to_string(b.problem_count - b.problems.size()) + " more problems not shown");
}

BackendState FirewallTracker::Failed(const std::string& name, const std::string& error) {
  for (const BackendState& old : view_.backends) {
    if (old.name == name && old.ruleset) {
      stats_.Count("read_errors");
      LogOnce(name + ": " + error + " (keeping the last ruleset read)");
      return old;
    }
  }
  return BackendState{name, std::nullopt, error};
}

BackendState FirewallTracker::ReadNftables() {
  const std::string name(kNftables);
  stats_.Count("reads");
  Result<std::string> text = reader_.ReadNftables();
  if (!text.ok()) return Failed(name, std::string(text.status().message()));
  Result<Backend> parsed = ParseNftJson(*text);
  if (!parsed.ok()) return Failed(name, std::string(parsed.status().message()));
  ReportProblems(*parsed);
  return BackendState{name, std::move(parsed).value(), ""};
}

std::optional<BackendState> FirewallTracker::ReadLegacy() {
  const std::string name(kIptablesLegacy);
  std::vector<Backend> parts;
  std::string error;
  for (const char* family : {"ip", "ip6"}) {
    Result<std::string> text = reader_.ReadIptablesLegacy(family);
    if (!text.ok() && text.status().code() == Status::Code::kNotFound) continue;
    legacy_seen_ = true;
    stats_.Count("reads");
    if (!text.ok()) {
      error = std::string(text.status().message());
      break;
    }
    Result<Backend> parsed = ParseIptablesSave(*text, family);
    if (!parsed.ok()) {
      error = std::string(parsed.status().message());
      break;
    }
    ReportProblems(*parsed);
    parts.push_back(std::move(parsed).value());
  }
  if (!legacy_seen_) return std::nullopt;
  if (!error.empty()) return Failed(name, error);
  return BackendState{name, MergeBackends(name, parts), ""};
}

FirewallView FirewallTracker::Read() {
  FirewallView v;
  v.backends.push_back(ReadNftables());
  if (std::optional<BackendState> legacy = ReadLegacy()) v.backends.push_back(std::move(*legacy));
  ComputeDigest(v);
  return v;
}

void FirewallTracker::ReadInitial() { view_ = Read(); }

Event FirewallTracker::Snapshot() const {
  Event e;
  e.type = "firewall";
  e.action = "snapshot";
  e.data = SummaryData(view_);
  return e;
}

std::optional<Event> FirewallTracker::Check() {
  FirewallView next = Read();
  if (next.digest == view_.digest) {
    view_ = std::move(next);
    return std::nullopt;
  }
  Event e;
  e.type = "firewall";
  e.action = "changed";
  e.data = SummaryData(next);
  e.data["previous_digest"] = view_.digest;
  e.data["changes"] = ChangesData(view_, next);
  view_ = std::move(next);
  return e;
}

}  // namespace vigil::firewall
