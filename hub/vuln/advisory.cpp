#include "hub/vuln/advisory.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace vigil::hub::vuln {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// "3.19.1" -> "3.19"; "v3.19" -> "3.19"; "edge" stays.
std::string MajorMinor(std::string_view v) {
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.remove_prefix(1);
  size_t first = v.find('.');
  if (first == std::string_view::npos) return std::string(v);
  size_t second = v.find('.', first + 1);
  return std::string(v.substr(0, second));
}

// "12.5" -> "12"; "bookworm" -> "12"; "sid" stays.
std::string DebianRelease(std::string_view v) {
  std::string_view number = DebianReleaseNumber(Lower(v));
  if (!number.empty()) return std::string(number);
  size_t dot = v.find('.');
  return std::string(dot == std::string_view::npos ? v : v.substr(0, dot));
}

bool IsUnset(std::string_view introduced) { return introduced.empty() || introduced == "0"; }

}  // namespace

std::string_view DebianReleaseNumber(std::string_view codename) {
  static const std::map<std::string_view, std::string_view> kReleases = {
      {"jessie", "8"},  {"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"},
      {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},  {"duke", "15"}};
  auto it = kReleases.find(codename);
  return it == kReleases.end() ? std::string_view() : it->second;
}

std::optional<std::string> Ecosystem(std::string_view text) {
  size_t colon = text.find(':');
  std::string family = Lower(text.substr(0, colon));
  std::string_view release = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (family == "debian") {
    std::string r = DebianRelease(release);
    if (r.empty()) return std::nullopt;
    return "Debian:" + r;
  }
  if (family == "ubuntu") {
    // "22.04:LTS", "Pro:18.04:LTS": the release number is what matters.
    std::string_view r = release;
    if (r.starts_with("Pro:")) r.remove_prefix(4);
    r = r.substr(0, r.find(':'));
    if (r.empty()) return std::nullopt;
    return "Ubuntu:" + std::string(r);
  }
  if (family == "alpine") {
    std::string r = MajorMinor(release);
    if (r.empty()) return std::nullopt;
    return "Alpine:v" + r;
  }
  static constexpr std::string_view kRpmFamilies[] = {"red hat", "rocky linux", "almalinux", "opensuse", "suse",
                                                       "mageia"};
  for (std::string_view f : kRpmFamilies) {
    if (family == f) return std::string(text);
  }
  return std::nullopt;
}

std::optional<std::string> EcosystemFromDistro(std::string_view family, std::string_view distro) {
  std::string f = Lower(family);
  std::string d = Lower(distro);
  // "debian-12", "alpine-3.19.1", "ubuntu-22.04": the family may be spelled in the qualifier.
  for (std::string_view known : {"debian", "ubuntu", "alpine"}) {
    if (d.starts_with(std::string(known) + "-")) {
      f = known;
      d = d.substr(known.size() + 1);
    }
  }
  if (d.empty()) return std::nullopt;
  if (f == "debian" || f == "ubuntu" || f == "alpine") {
    std::string name = f == "debian" ? "Debian" : f == "ubuntu" ? "Ubuntu" : "Alpine";
    return Ecosystem(name + ":" + d);
  }
  if (!DebianReleaseNumber(d).empty()) return Ecosystem("Debian:" + d);
  return std::nullopt;
}

VersionScheme SchemeOf(std::string_view ecosystem) {
  if (ecosystem.starts_with("Debian") || ecosystem.starts_with("Ubuntu")) return VersionScheme::kDpkg;
  if (ecosystem.starts_with("Alpine")) return VersionScheme::kApk;
  return VersionScheme::kRpm;
}

std::string_view MatchStatusName(MatchStatus s) {
  switch (s) {
    case MatchStatus::kNotAffected:
      return "not_affected";
    case MatchStatus::kFixed:
      return "fixed";
    case MatchStatus::kUnfixed:
      return "unfixed";
  }
  return "not_affected";
}

Verdict Evaluate(const Affected& affected, std::string_view version) {
  Verdict v;
  if (affected.never_affected) return v;
  VersionScheme scheme = SchemeOf(affected.ecosystem);
  auto cmp = [&](std::string_view a, std::string_view b) { return CompareVersions(scheme, a, b); };
  for (const Interval& in : affected.intervals) {
    if (!IsUnset(in.introduced) && cmp(version, in.introduced) < 0) continue;
    if (!in.fixed.empty()) {
      if (cmp(version, in.fixed) < 0) return {MatchStatus::kFixed, in.fixed};
      continue;
    }
    if (!in.last_affected.empty() && cmp(version, in.last_affected) > 0) continue;
    v.status = MatchStatus::kUnfixed;  // keep looking: another interval may hold a fix
  }
  if (v.status == MatchStatus::kUnfixed) return v;
  for (const std::string& listed : affected.versions) {
    if (cmp(version, listed) != 0) continue;
    // Listed as affected: the nearest fix above it, if an interval has one.
    const std::string* best = nullptr;
    for (const Interval& in : affected.intervals) {
      if (!in.fixed.empty() && cmp(in.fixed, version) > 0 && (best == nullptr || cmp(in.fixed, *best) < 0)) {
        best = &in.fixed;
      }
    }
    if (best != nullptr) return {MatchStatus::kFixed, *best};
    return {MatchStatus::kUnfixed, ""};
  }
  return v;
}

Json Affected::ToJson() const {
  Json intervals_json = Json::array();
  for (const Interval& in : intervals) {
    Json j = {{"introduced", in.introduced}};
    if (!in.fixed.empty()) j["fixed"] = in.fixed;
    if (!in.last_affected.empty()) j["last_affected"] = in.last_affected;
    intervals_json.push_back(std::move(j));
  }
  Json out = {{"intervals", std::move(intervals_json)}};
  if (!versions.empty()) out["versions"] = versions;
  if (never_affected) out["never_affected"] = true;
  if (!urgency.empty()) out["urgency"] = urgency;
  return out;
}

Result<Affected> Affected::FromJson(std::string_view ecosystem, std::string_view package, const Json& data) {
  Affected a;
  a.ecosystem = ecosystem;
  a.package = package;
  if (!data.is_object()) return Status::Corruption("affected data of " + a.package + " is not an object");
  try {
    for (const Json& j : data.value("intervals", Json::array())) {
      Interval in;
      in.introduced = j.value("introduced", "0");
      in.fixed = j.value("fixed", "");
      in.last_affected = j.value("last_affected", "");
      a.intervals.push_back(std::move(in));
    }
    a.versions = data.value("versions", std::vector<std::string>{});
    a.never_affected = data.value("never_affected", false);
    a.urgency = data.value("urgency", "");
  } catch (const Json::exception& e) {
    return Status::Corruption("affected data of " + a.package + ": " + e.what());
  }
  return a;
}

// CVSS v3.0/v3.1 base score, as the specification's formulas give it.
std::optional<double> CvssScore(std::string_view vector) {
  if (!vector.starts_with("CVSS:3.")) return std::nullopt;
  std::map<std::string, std::string, std::less<>> m;
  size_t pos = vector.find('/');
  while (pos != std::string_view::npos) {
    size_t next = vector.find('/', pos + 1);
    std::string_view part = vector.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1);
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    m[std::string(part.substr(0, colon))] = std::string(part.substr(colon + 1));
    pos = next;
  }
  auto pick = [&](const char* key, std::initializer_list<std::pair<const char*, double>> values) -> std::optional<double> {
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    for (auto [k, v] : values) {
      if (it->second == k) return v;
    }
    return std::nullopt;
  };
  auto scope = m.find("S");
  if (scope == m.end() || (scope->second != "U" && scope->second != "C")) return std::nullopt;
  bool changed = scope->second == "C";
  auto av = pick("AV", {{"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}});
  auto ac = pick("AC", {{"L", 0.77}, {"H", 0.44}});
  auto pr = pick("PR", {{"N", 0.85}, {"L", changed ? 0.68 : 0.62}, {"H", changed ? 0.5 : 0.27}});
  auto ui = pick("UI", {{"N", 0.85}, {"R", 0.62}});
  auto c = pick("C", {{"H", 0.56}, {"L", 0.22}, {"N", 0}});
  auto i = pick("I", {{"H", 0.56}, {"L", 0.22}, {"N", 0}});
  auto a = pick("A", {{"H", 0.56}, {"L", 0.22}, {"N", 0}});
  if (!av || !ac || !pr || !ui || !c || !i || !a) return std::nullopt;
  double iss = 1 - (1 - *c) * (1 - *i) * (1 - *a);
  double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  double exploitability = 8.22 * *av * *ac * *pr * *ui;
  if (impact <= 0) return 0.0;
  double raw = changed ? std::min(1.08 * (impact + exploitability), 10.0) : std::min(impact + exploitability, 10.0);
  // Round up to one decimal, as CVSS 3.1 defines it (in integers, to avoid float artefacts).
  auto scaled = static_cast<int64_t>(std::llround(raw * 100000));
  if (scaled % 10000 == 0) return static_cast<double>(scaled) / 100000.0;
  return (std::floor(static_cast<double>(scaled) / 10000.0) + 1) / 10.0;
}

std::string SeverityOfScore(double score) {
  if (score >= 9.0) return "critical";
  if (score >= 7.0) return "high";
  if (score >= 4.0) return "medium";
  if (score > 0) return "low";
  return "none";
}

}  // namespace vigil::hub::vuln
