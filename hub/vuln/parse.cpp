#include "hub/vuln/parse.h"

#include <algorithm>
#include <map>
#include <utility>

namespace vigil::hub::vuln {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// Debian's urgencies, and OSV's qualitative severities, as the hub's severity words.
std::string SeverityWord(std::string_view text) {
  std::string s = LowerAscii(text);
  if (s == "critical") return "critical";
  if (s == "high" || s == "important") return "high";
  if (s == "medium" || s == "moderate") return "medium";
  if (s == "low") return "low";
  if (s == "unimportant" || s == "negligible") return "negligible";
  return "unknown";
}

// The first line of a text, at most 200 characters: a summary when a record has only details.
std::string FirstLine(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  return std::string(text.substr(0, 200));
}

struct Event {
  enum Kind { kIntroduced, kFixed, kLastAffected } kind;
  std::string version;
};

// Turns one range's events into intervals in the ecosystem's order ("0" first).
std::vector<Interval> Intervals(std::vector<Event> events, VersionScheme scheme) {
  std::stable_sort(events.begin(), events.end(), [&](const Event& a, const Event& b) {
    bool a0 = a.version == "0", b0 = b.version == "0";
    if (a0 || b0) return a0 && !b0;
    return CompareVersions(scheme, a.version, b.version) < 0;
  });
  std::vector<Interval> out;
  bool open = false;
  for (Event& e : events) {
    if (e.kind == Event::kIntroduced) {
      if (open) continue;  // already inside an interval
      out.push_back(Interval{std::move(e.version), "", ""});
      open = true;
    } else if (open) {
      (e.kind == Event::kFixed ? out.back().fixed : out.back().last_affected) = std::move(e.version);
      open = false;
    }
  }
  return out;
}

Status ParseRange(const Json& range, VersionScheme scheme, std::string_view where, Affected* into) {
  if (!range.is_object()) return Status::InvalidArgument(std::string(where) + ": a range is not an object");
  auto type = range.find("type");
  if (type == range.end() || !type->is_string()) {
    return Status::InvalidArgument(std::string(where) + ": a range has no type");
  }
  if (type->get_ref<const std::string&>() != "ECOSYSTEM") return Status::Ok();  // SEMVER, GIT: not packages
  auto events = range.find("events");
  if (events == range.end() || !events->is_array()) {
    return Status::InvalidArgument(std::string(where) + ": an ECOSYSTEM range has no events array");
  }
  std::vector<Event> parsed;
  for (const Json& e : *events) {
    if (!e.is_object() || e.size() != 1 || !e.begin()->is_string()) {
      return Status::InvalidArgument(std::string(where) + ": an event is not {\"kind\": \"version\"}: " +
                                     e.dump(-1, ' ', false, Json::error_handler_t::replace).substr(0, 80));
    }
    const std::string& key = e.begin().key();
    std::string version = e.begin()->get<std::string>();
    if (version.empty()) return Status::InvalidArgument(std::string(where) + ": event " + key + " has an empty version");
    if (key == "introduced") {
      parsed.push_back({Event::kIntroduced, std::move(version)});
    } else if (key == "fixed") {
      parsed.push_back({Event::kFixed, std::move(version)});
    } else if (key == "last_affected") {
      parsed.push_back({Event::kLastAffected, std::move(version)});
    } else if (key != "limit") {
      return Status::InvalidArgument(std::string(where) + ": unknown event '" + key + "'");
    }
  }
  for (Interval& in : Intervals(std::move(parsed), scheme)) into->intervals.push_back(std::move(in));
  return Status::Ok();
}

// One element of `affected`: appended to `out` (merged with an entry of the same key).
Status ParseAffected(const Json& a, std::string_view origin, size_t index, std::vector<Affected>* out,
                     std::string* urgency) {
  std::string where = std::string(origin) + ": affected[" + std::to_string(index) + "]";
  if (!a.is_object()) return Status::InvalidArgument(where + " is not an object");
  auto pkg = a.find("package");
  if (pkg == a.end() || !pkg->is_object()) return Status::InvalidArgument(where + " has no package");
  auto eco = pkg->find("ecosystem");
  auto name = pkg->find("name");
  if (eco == pkg->end() || !eco->is_string() || name == pkg->end() || !name->is_string() ||
      name->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument(where + ": package needs a string ecosystem and name");
  }
  std::optional<std::string> ecosystem = Ecosystem(eco->get_ref<const std::string&>());
  if (!ecosystem) return Status::Ok();  // an ecosystem the hub does not match
  Affected entry;
  entry.ecosystem = *ecosystem;
  entry.package = name->get<std::string>();
  VersionScheme scheme = SchemeOf(entry.ecosystem);
  if (auto ranges = a.find("ranges"); ranges != a.end()) {
    if (!ranges->is_array()) return Status::InvalidArgument(where + ": ranges is not an array");
    for (const Json& r : *ranges) VIGIL_RETURN_IF_ERROR(ParseRange(r, scheme, where, &entry));
  }
  if (auto versions = a.find("versions"); versions != a.end()) {
    if (!versions->is_array()) return Status::InvalidArgument(where + ": versions is not an array");
    for (const Json& v : *versions) {
      if (!v.is_string()) return Status::InvalidArgument(where + ": versions holds a non-string");
      entry.versions.push_back(v.get<std::string>());
    }
  }
  if (auto es = a.find("ecosystem_specific"); es != a.end() && es->is_object()) {
    if (auto u = es->find("urgency"); u != es->end() && u->is_string()) {
      entry.urgency = u->get<std::string>();
      if (urgency->empty()) *urgency = entry.urgency;
    }
  }
  for (Affected& existing : *out) {
    if (existing.ecosystem == entry.ecosystem && existing.package == entry.package) {
      for (Interval& in : entry.intervals) existing.intervals.push_back(std::move(in));
      for (std::string& v : entry.versions) existing.versions.push_back(std::move(v));
      return Status::Ok();
    }
  }
  out->push_back(std::move(entry));
  return Status::Ok();
}

// Severity: a CVSS v3 vector's score, else the qualitative words the record carries.
void ParseSeverity(const Json& record, const std::string& urgency, Advisory* adv) {
  std::string word;
  if (auto sev = record.find("severity"); sev != record.end() && sev->is_array()) {
    for (const Json& s : *sev) {
      if (!s.is_object()) continue;
      auto type_it = s.find("type");
      std::string type = type_it != s.end() && type_it->is_string() ? type_it->get<std::string>() : "";
      auto score = s.find("score");
      if (score == s.end() || !score->is_string()) continue;
      const std::string& text = score->get_ref<const std::string&>();
      if (type == "CVSS_V3") {
        if (auto v = CvssScore(text); v && *v > adv->score) adv->score = *v;
      } else if (word.empty() && type != "CVSS_V2" && type != "CVSS_V4") {
        word = SeverityWord(text);  // e.g. type "Ubuntu": "medium"
      }
    }
  }
  if (auto db = record.find("database_specific"); word.empty() && db != record.end() && db->is_object()) {
    if (auto s = db->find("severity"); s != db->end() && s->is_string()) word = SeverityWord(s->get<std::string>());
  }
  if (word.empty() && !urgency.empty()) word = SeverityWord(urgency);
  if (adv->score >= 0) {
    adv->severity = SeverityOfScore(adv->score);
  } else {
    adv->severity = word.empty() ? "unknown" : word;
  }
}

// One (release, package, CVE) of the tracker, as an affected entry; nullopt for releases the hub
// does not know.
Result<std::optional<Affected>> TrackerRelease(const std::string& codename, const Json& rel, const std::string& package) {
  std::string_view number = DebianReleaseNumber(codename);
  if (number.empty()) return std::optional<Affected>();
  if (!rel.is_object()) return Status::InvalidArgument("release " + codename + " is not an object");
  auto status = rel.find("status");
  if (status == rel.end() || !status->is_string()) return Status::InvalidArgument("release " + codename + " has no status");
  Affected a;
  a.ecosystem = "Debian:" + std::string(number);
  a.package = package;
  if (auto u = rel.find("urgency"); u != rel.end() && u->is_string()) a.urgency = u->get<std::string>();
  const std::string& st = status->get_ref<const std::string&>();
  std::string fixed;
  if (auto f = rel.find("fixed_version"); f != rel.end()) {
    if (!f->is_string()) return Status::InvalidArgument("release " + codename + ": fixed_version is not a string");
    fixed = f->get<std::string>();
  }
  if (st == "resolved") {
    if (fixed.empty()) return Status::InvalidArgument("release " + codename + ": resolved without fixed_version");
    if (fixed == "0") {
      a.never_affected = true;
    } else {
      a.intervals.push_back(Interval{"0", fixed, ""});
    }
  } else if (st == "open" || st == "undetermined") {
    a.intervals.push_back(Interval{"0", "", ""});
  } else {
    return Status::InvalidArgument("release " + codename + ": unknown status '" + st + "'");
  }
  return std::optional<Affected>(std::move(a));
}

int UrgencyRank(std::string_view u) {
  std::string w = SeverityWord(u);
  if (w == "high") return 4;
  if (w == "medium") return 3;
  if (w == "low") return 2;
  if (w == "negligible") return 1;
  return 0;
}

}  // namespace

Result<Advisory> ParseOsvRecord(const Json& record, std::string_view origin) {
  if (!record.is_object()) return Status::InvalidArgument(std::string(origin) + ": an OSV record is not a JSON object");
  Advisory adv;
  adv.source = "osv";
  auto id = record.find("id");
  if (id == record.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument(std::string(origin) + ": no \"id\" string");
  }
  adv.id = id->get<std::string>();
  std::string where = std::string(origin) + " (" + adv.id + ")";
  if (auto m = record.find("modified"); m != record.end()) {
    if (!m->is_string()) return Status::InvalidArgument(where + ": \"modified\" is not a string");
    adv.modified = m->get<std::string>();
  }
  if (auto aliases = record.find("aliases"); aliases != record.end() && !aliases->is_null()) {
    if (!aliases->is_array()) return Status::InvalidArgument(where + ": \"aliases\" is not an array");
    for (const Json& a : *aliases) {
      if (a.is_string()) adv.aliases.push_back(a.get<std::string>());
    }
  }
  if (auto s = record.find("summary"); s != record.end() && s->is_string()) {
    adv.summary = s->get<std::string>();
  } else if (auto d = record.find("details"); d != record.end() && d->is_string()) {
    adv.summary = FirstLine(d->get_ref<const std::string&>());
  }
  std::string urgency;
  bool withdrawn = record.contains("withdrawn");
  if (auto affected = record.find("affected"); affected != record.end() && !affected->is_null() && !withdrawn) {
    if (!affected->is_array()) return Status::InvalidArgument(where + ": \"affected\" is not an array");
    for (size_t i = 0; i < affected->size(); ++i) {
      VIGIL_RETURN_IF_ERROR(ParseAffected((*affected)[i], where, i, &adv.affected, &urgency));
    }
  }
  ParseSeverity(record, urgency, &adv);
  return adv;
}

Result<Advisory> ParseOsv(std::string_view text, std::string_view origin) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument(std::string(origin) + ": not valid JSON");
  return ParseOsvRecord(doc, origin);
}

Result<std::vector<Advisory>> ParseDebianTrackerJson(const Json& doc, std::string_view origin,
                                                 std::vector<std::string>* errors) {
  if (!doc.is_object()) return Status::InvalidArgument(std::string(origin) + ": the tracker's JSON is not an object");
  std::map<std::string, Advisory> by_id;
  for (const auto& [package, cves] : doc.items()) {
    if (!cves.is_object()) {
      errors->push_back(std::string(origin) + ": package " + package + ": not an object");
      continue;
    }
    for (const auto& [cve, entry] : cves.items()) {
      std::string where = std::string(origin) + ": " + package + " " + cve;
      if (!entry.is_object()) {
        errors->push_back(where + ": not an object");
        continue;
      }
      auto releases = entry.find("releases");
      if (releases == entry.end() || !releases->is_object()) {
        errors->push_back(where + ": no releases object");
        continue;
      }
      std::vector<Affected> found;
      Status bad;
      for (const auto& [codename, rel] : releases->items()) {
        auto a = TrackerRelease(codename, rel, package);
        if (!a.ok()) {
          bad = a.status();
          break;
        }
        if (a->has_value()) found.push_back(std::move(**a));
      }
      if (!bad.ok()) {
        errors->push_back(where + ": " + std::string(bad.message()));
        continue;
      }
      Advisory& adv = by_id[cve];
      if (adv.id.empty()) {
        adv.id = cve;
        adv.source = "debian-tracker";
        adv.severity = "unknown";
      }
      if (adv.summary.empty()) {
        if (auto d = entry.find("description"); d != entry.end() && d->is_string()) {
          adv.summary = FirstLine(d->get_ref<const std::string&>());
        }
      }
      for (Affected& a : found) {
        // The worst urgency over the releases is the advisory's severity.
        if (UrgencyRank(a.urgency) > UrgencyRank(adv.severity)) adv.severity = SeverityWord(a.urgency);
        adv.affected.push_back(std::move(a));
      }
    }
  }
  std::vector<Advisory> out;
  out.reserve(by_id.size());
  for (auto& [id, adv] : by_id) {
    std::sort(adv.affected.begin(), adv.affected.end(), [](const Affected& a, const Affected& b) {
      return std::tie(a.ecosystem, a.package) < std::tie(b.ecosystem, b.package);
    });
    out.push_back(std::move(adv));
  }
  return out;
}

Result<std::vector<Advisory>> ParseDebianTracker(std::string_view text, std::string_view origin,
                                                 std::vector<std::string>* errors) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument(std::string(origin) + ": not valid JSON");
  return ParseDebianTrackerJson(doc, origin, errors);
}

DataFormat DetectFormat(const Json& doc) {
  if (doc.is_array()) return DataFormat::kOsvList;
  if (!doc.is_object()) return DataFormat::kUnknown;
  if (auto id = doc.find("id"); id != doc.end() && id->is_string()) return DataFormat::kOsv;
  if (doc.empty()) return DataFormat::kDebianTracker;
  const Json& first = doc.begin().value();
  if (first.is_object() && (first.empty() || first.begin().value().is_object())) return DataFormat::kDebianTracker;
  return DataFormat::kUnknown;
}

}  // namespace vigil::hub::vuln
