#include "hub/vuln/service.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace vigil::hub::vuln {
namespace {

Package FromPackageRow(const VulnPackageRow& r) {
  Package p;
  p.name = r.name;
  p.version = r.version;
  p.source = r.source == r.name ? "" : r.source;
  p.source_version = r.source_version == r.version ? "" : r.source_version;
  p.ecosystem = r.ecosystem;
  return p;
}

VulnPackageRow ToPackageRow(const std::string& device, const Package& p) {
  return VulnPackageRow{device, p.name, p.version, p.SourceName(), p.SourceVersion(), p.ecosystem};
}

std::vector<VulnKey> KeysOf(std::span<const Package> packages) {
  std::vector<VulnKey> keys;
  for (const Package& p : packages) {
    if (!p.ecosystem.empty()) keys.push_back(VulnKey{p.ecosystem, p.SourceName()});
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

Json AdvisoryToJson(const Advisory& a) {
  Json affected = Json::array();
  for (const Affected& entry : a.affected) {
    Json j = entry.ToJson();
    j["ecosystem"] = entry.ecosystem;
    j["package"] = entry.package;
    affected.push_back(std::move(j));
  }
  return Json{{"id", a.id},           {"source", a.source},     {"modified", a.modified}, {"aliases", a.aliases},
              {"summary", a.summary}, {"severity", a.severity}, {"score", a.score},       {"affected", affected}};
}

AdvisoryRow ToRow(const Advisory& a) {
  AdvisoryRow row;
  row.id = a.id;
  row.source = a.source;
  row.modified = a.modified;
  row.body = AdvisoryToJson(a).dump(-1, ' ', false, Json::error_handler_t::replace);
  for (const Affected& entry : a.affected) row.keys.push_back(VulnKey{entry.ecosystem, entry.package});
  std::sort(row.keys.begin(), row.keys.end());
  row.keys.erase(std::unique(row.keys.begin(), row.keys.end()), row.keys.end());
  return row;
}

Result<Advisory> FromRow(const AdvisoryRow& row) {
  Json j = Json::parse(row.body, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) { return Status::Corruption("stored advisory " + row.id + ": " + std::string(why)); };
  if (!j.is_object()) return bad("body is not a JSON object");
  Advisory a;
  a.id = row.id;
  a.source = row.source;
  a.modified = row.modified;
  try {
    a.aliases = j.value("aliases", std::vector<std::string>{});
    a.summary = j.value("summary", "");
    a.severity = j.value("severity", "unknown");
    a.score = j.value("score", -1.0);
    for (const Json& e : j.value("affected", Json::array())) {
      auto entry = Affected::FromJson(e.value("ecosystem", ""), e.value("package", ""), e);
      if (!entry.ok()) return bad(entry.status().message());
      a.affected.push_back(std::move(*entry));
    }
  } catch (const Json::exception& e) {
    return bad(e.what());
  }
  return a;
}

VulnFindingRow ToFindingRow(const std::string& device, const Finding& f, int64_t now_ms) {
  VulnFindingRow r;
  r.device = device;
  r.package = f.package;
  r.version = f.version;
  r.source = f.source;
  r.source_version = f.source_version;
  r.ecosystem = f.ecosystem;
  r.advisory = f.advisory;
  r.status = std::string(MatchStatusName(f.status));
  r.fixed_version = f.fixed_version;
  r.severity = f.severity;
  r.score = f.score;
  r.matched_ms = now_ms;
  return r;
}

Result<std::vector<Finding>> VulnService::MatchStored(std::span<const Package> packages) {
  std::vector<VulnKey> keys = KeysOf(packages);
  if (keys.empty()) return std::vector<Finding>();
  auto rows = store_.AdvisoriesFor(keys);
  if (!rows.ok()) return rows.status();
  AdvisoryIndex index;
  for (const AdvisoryRow& row : *rows) {
    auto adv = FromRow(row);
    if (!adv.ok()) return adv.status();
    index.Add(std::move(*adv));
  }
  return index.Match(packages, /*include_not_affected=*/false);
}

Result<ImportCounts> VulnService::Import(std::span<const Advisory> advisories) {
  std::vector<AdvisoryRow> rows;
  rows.reserve(advisories.size());
  for (const Advisory& a : advisories) rows.push_back(ToRow(a));
  auto put = store_.PutAdvisories(rows);
  if (!put.ok()) return put.status();
  ImportCounts counts{put->inserted, put->updated, put->unchanged, put->older, 0, 0};
  if (put->changed_keys.empty()) return counts;
  auto stored = store_.VulnPackages("", put->changed_keys);
  if (!stored.ok()) return stored.status();
  // Per device, in the order VulnPackages gives (by device).
  std::map<std::string, std::vector<Package>> by_device;
  for (const VulnPackageRow& r : *stored) by_device[r.device].push_back(FromPackageRow(r));
  int64_t now = now_ms_();
  for (const auto& [device, packages] : by_device) {
    auto findings = MatchStored(packages);
    if (!findings.ok()) return findings.status();
    VulnUpdate update;
    update.device = device;
    for (const Package& p : packages) update.rematched.push_back(p.name);
    for (const Finding& f : *findings) update.findings.push_back(ToFindingRow(device, f, now));
    VIGIL_RETURN_IF_ERROR(store_.UpdateVulns(update));
    counts.packages_matched += packages.size();
    ++counts.devices;
  }
  return counts;
}

Result<DeviceCounts> VulnService::UpdateDevice(const std::string& device, std::span<const Package> packages) {
  auto old_rows = store_.VulnPackages(device, {});
  if (!old_rows.ok()) return old_rows.status();
  auto identity = [](const VulnPackageRow& r) {
    return std::tie(r.name, r.version, r.source, r.source_version, r.ecosystem);
  };
  std::vector<VulnPackageRow> new_rows;
  new_rows.reserve(packages.size());
  for (const Package& p : packages) new_rows.push_back(ToPackageRow(device, p));
  auto less = [&](const VulnPackageRow& a, const VulnPackageRow& b) { return identity(a) < identity(b); };
  std::sort(new_rows.begin(), new_rows.end(), less);
  new_rows.erase(std::unique(new_rows.begin(), new_rows.end()), new_rows.end());
  std::vector<VulnPackageRow> old_sorted = *old_rows;
  std::sort(old_sorted.begin(), old_sorted.end(), less);
  std::vector<VulnPackageRow> added, gone;
  std::set_difference(new_rows.begin(), new_rows.end(), old_sorted.begin(), old_sorted.end(),
                      std::back_inserter(added), less);
  std::set_difference(old_sorted.begin(), old_sorted.end(), new_rows.begin(), new_rows.end(),
                      std::back_inserter(gone), less);
  // Findings are replaced per package name: every package sharing a name with a change is
  // matched again (two architectures of one package may be at different versions).
  std::set<std::string> names;
  for (const auto& r : added) names.insert(r.name);
  for (const auto& r : gone) names.insert(r.name);
  std::vector<Package> to_match;
  for (const VulnPackageRow& r : new_rows) {
    if (names.contains(r.name)) to_match.push_back(FromPackageRow(r));
  }
  auto findings = MatchStored(to_match);
  if (!findings.ok()) return findings.status();
  VulnUpdate update;
  update.device = device;
  update.replace_packages = !added.empty() || !gone.empty();
  update.packages = new_rows;
  update.rematched.assign(names.begin(), names.end());
  int64_t now = now_ms_();
  for (const Finding& f : *findings) update.findings.push_back(ToFindingRow(device, f, now));
  if (update.replace_packages) VIGIL_RETURN_IF_ERROR(store_.UpdateVulns(update));
  return DeviceCounts{new_rows.size(), to_match.size(), gone.size(), findings->size()};
}

}  // namespace vigil::hub::vuln
