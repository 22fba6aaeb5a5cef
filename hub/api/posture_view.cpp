#include "hub/api/posture_view.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "hub/query/filter.h"

namespace vigil::hub {
namespace {

using Json = nlohmann::json;

// Readers that treat a missing field and a field of the wrong JSON type alike.
const Json* Field(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string Str(const Json& j, std::string_view key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

std::optional<int64_t> Int(const Json& j, std::string_view key) {
  const Json* f = Field(j, key);
  if (f == nullptr || !f->is_number_integer()) return std::nullopt;
  return f->get<int64_t>();
}

const Json& ObjectOrEmpty(const Json& j, std::string_view key) {
  static const Json kEmpty = Json::object();
  const Json* f = Field(j, key);
  return f != nullptr && f->is_object() ? *f : kEmpty;
}

const Json& ArrayOrEmpty(const Json& j, std::string_view key) {
  static const Json kEmpty = Json::array();
  const Json* f = Field(j, key);
  return f != nullptr && f->is_array() ? *f : kEmpty;
}

Json StrOrNull(const Json& j, std::string_view key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_string() ? *f : Json(nullptr);
}

// The `data` object of a stored event; an empty object when its JSON is not one.
Json EventData(const EventRow& e) {
  Json j = Json::parse(e.json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Json::object();
  return ObjectOrEmpty(j, "data");
}

Result<std::vector<EventRow>> Latest(Store& store, const Filter& filter, size_t limit) {
  EventQuery query;
  VIGIL_ASSIGN_OR_RETURN(query.filter, CompileFilter(filter, store.dialect()));
  query.limit = limit;
  query.newest_first = true;
  return store.Search(query);
}

// One recommendation's common fields.
Json Recommendation(std::string source, std::string id, std::string title, std::string group, std::string severity,
                    Json references, Json evidence, Json remediation) {
  return Json{{"source", std::move(source)},     {"id", std::move(id)},
              {"title", std::move(title)},       {"group", std::move(group)},
              {"severity", std::move(severity)}, {"references", std::move(references)},
              {"evidence", std::move(evidence)}, {"remediation", std::move(remediation)}};
}

void SortRecommendations(std::vector<Json>& recs) {
  std::stable_sort(recs.begin(), recs.end(), [](const Json& a, const Json& b) {
    int ra = SeverityRank(Str(a, "severity")), rb = SeverityRank(Str(b, "severity"));
    if (ra != rb) return ra < rb;
    return Str(a, "id") < Str(b, "id");
  });
}

bool IsLoopback(std::string_view ip) { return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127."); }

bool IsEveryAddress(std::string_view ip) { return ip == "0.0.0.0" || ip == "::"; }

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// "/usr/sbin/sshd (pid 612, user root)", or "" when the port's process is unknown.
std::string ProcessText(const Json& port) {
  std::string name = Str(port, "exe");
  if (name.empty()) name = Str(port, "comm");
  std::vector<std::string> extra;
  if (auto pid = Int(port, "pid")) extra.push_back("pid " + std::to_string(*pid));
  if (std::string user = Str(port, "user"); !user.empty()) extra.push_back("user " + user);
  if (name.empty() && extra.empty()) return "";
  if (name.empty()) name = "a process";
  return extra.empty() ? name : name + " (" + Join(extra, ", ") + ")";
}

// The ports open now: protocol, family, address, port -> the port's fields.
using PortKey = std::tuple<std::string, std::string, std::string, int64_t>;

std::optional<PortKey> KeyOf(const Json& port) {
  auto number = Int(port, "local_port");
  std::string protocol = Str(port, "protocol");
  std::string ip = Str(port, "local_ip");
  if (!number || protocol.empty() || ip.empty()) return std::nullopt;
  return PortKey{protocol, Str(port, "family"), ip, *number};
}

std::map<PortKey, Json> OpenPorts(const NetworkEvents& events) {
  std::map<PortKey, Json> open;
  if (events.ports_snapshot) {
    const Json data = EventData(*events.ports_snapshot);
    for (const Json& port : ArrayOrEmpty(data, "ports")) {
      if (auto key = KeyOf(port)) open[*key] = port;
    }
  }
  for (const EventRow& change : events.port_changes) {
    Json data = EventData(change);
    auto key = KeyOf(data);
    if (!key) continue;
    if (change.action == "opened") {
      open[*key] = std::move(data);
    } else if (change.action == "closed") {
      open.erase(*key);
    }
  }
  return open;
}

void AddPortRecommendations(const NetworkEvents& events, std::vector<Json>& out) {
  struct Exposed {
    std::vector<std::string> addresses;  // as ip:port
    std::vector<std::string> ips;
    std::set<std::string> processes;
    bool every_address = false;
  };
  std::map<std::pair<std::string, int64_t>, Exposed> by_port;  // protocol, port
  for (const auto& [key, port] : OpenPorts(events)) {
    const auto& [protocol, family, ip, number] = key;
    if (IsLoopback(ip)) continue;
    Exposed& e = by_port[{protocol, number}];
    bool v6 = ip.find(':') != std::string::npos;
    e.addresses.push_back((v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(number));
    e.ips.push_back(ip);
    e.every_address |= IsEveryAddress(ip);
    if (std::string p = ProcessText(port); !p.empty()) e.processes.insert(p);
  }
  for (const auto& [key, e] : by_port) {
    const auto& [protocol, number] = key;
    const std::string port = std::to_string(number);
    const std::string name = Upper(protocol) + " port " + port;
    std::vector<std::string> processes(e.processes.begin(), e.processes.end());
    std::string held = processes.empty() ? "" : " held by " + Join(processes, ", ");
    std::string evidence = protocol + " " + Join(e.addresses, ", ") + held;
    std::string service = processes.empty() ? "the service holding it" : Join(processes, ", ");
    std::string remediation = "Close " + name + " if nothing needs it (stop or remove " + service +
                              "), or restrict it: bind the service to loopback or to the one address that needs it, "
                              "or accept only known sources on " +
                              port + "/" + protocol + " in the firewall.";
    Json rec =
        Recommendation("network", "port/" + protocol + "/" + port,
                       name + (e.every_address ? " is open on every address" : " is open on " + Join(e.ips, ", ")),
                       "network", e.every_address ? "medium" : "low", Json::array(), evidence, remediation);
    rec["protocol"] = protocol;
    rec["port"] = number;
    rec["addresses"] = e.ips;
    rec["processes"] = processes;
    out.push_back(std::move(rec));
  }
}

struct HookAdvice {
  std::string_view hook;
  std::string_view severity;
  std::string_view title;
  std::string_view remediation;
};

constexpr HookAdvice kHookAdvice[] = {
    {"input", "high", "Incoming traffic is accepted by default",
     "Give the input hook a default-deny policy: accept loopback, established and related traffic and the services "
     "this device offers, then drop the rest (nftables: `policy drop;` in the filter input chain; iptables: "
     "`iptables -P INPUT DROP` and `ip6tables -P INPUT DROP` after the accept rules)."},
    {"forward", "medium", "Forwarded traffic is accepted by default",
     "Drop forwarded traffic by default (nftables: `policy drop;` in the filter forward chain; iptables: "
     "`iptables -P FORWARD DROP`), then accept only what this device must route; a device that routes nothing "
     "should also set net.ipv4.ip_forward=0."},
    {"output", "low", "Outgoing traffic is accepted by default",
     "Consider a default-deny output policy that accepts only the destinations this device needs (its hub, update "
     "and time servers): nftables `policy drop;` in the filter output chain, iptables `iptables -P OUTPUT DROP`, "
     "after the accept rules."},
};

// A chain that filters packets: an nftables chain of type filter, a legacy chain of table filter.
bool IsFilterChain(const Json& chain) {
  std::string type = Str(chain, "type");
  return type == "filter" || (type.empty() && Str(chain, "table") == "filter");
}

void AddFirewallRecommendations(const NetworkEvents& events, std::vector<Json>& out) {
  if (!events.firewall) return;
  Json data = EventData(*events.firewall);
  const Json& backends = ArrayOrEmpty(data, "backends");
  bool readable = std::any_of(backends.begin(), backends.end(), [](const Json& b) {
    const Json* a = Field(b, "available");
    return a != nullptr && a->is_boolean() && a->get<bool>();
  });
  if (!readable) return;
  const Json& chains = ArrayOrEmpty(data, "chains");
  for (const HookAdvice& advice : kHookAdvice) {
    std::vector<std::string> families, evidence;
    for (const Json& hp : ArrayOrEmpty(data, "hook_policies")) {
      if (Str(hp, "hook") != advice.hook || Str(hp, "policy") != "accept") continue;
      std::string family = Str(hp, "family");
      int64_t rules = 0;
      std::vector<std::string> names;
      for (const Json& c : chains) {
        std::string cf = Str(c, "family");
        if (Str(c, "hook") != advice.hook || (cf != family && cf != "inet") || !IsFilterChain(c)) continue;
        rules += Int(c, "rules").value_or(0);
        names.push_back(Str(c, "backend") + " " + cf + " " + Str(c, "table") + " " + Str(c, "chain"));
      }
      if (rules > 0) continue;
      // The event lists at most 512 chains: a hook whose chains were all left out is unknown.
      if (names.empty() && Int(hp, "chains").value_or(0) > 0 && Int(data, "chains_omitted").value_or(0) > 0) continue;
      families.push_back(family);
      evidence.push_back(family + " " + std::string(advice.hook) + ": policy accept, " +
                         (names.empty() ? std::string("no filter chain") : "no rules in " + Join(names, ", ")));
    }
    if (families.empty()) continue;
    Json rec = Recommendation("network", "firewall/" + std::string(advice.hook), std::string(advice.title), "firewall",
                              std::string(advice.severity), Json::array(), Join(evidence, "; "),
                              std::string(advice.remediation));
    rec["hook"] = advice.hook;
    rec["families"] = families;
    out.push_back(std::move(rec));
  }
}

Json CheckRecommendation(const Json& check) {
  Json references = Json::array();
  for (const Json& r : ArrayOrEmpty(check, "references")) {
    if (r.is_string()) references.push_back(r);
  }
  return Recommendation("check", Str(check, "id"), Str(check, "title"), Str(check, "group"), Str(check, "severity"),
                        std::move(references), StrOrNull(check, "evidence"), StrOrNull(check, "remediation"));
}

Json ScoreOf(const Json& summary) {
  const Json* s = Field(summary, "score");
  return s != nullptr && s->is_number() ? *s : Json(nullptr);
}

Json ScanJson(const PostureRow& row) {
  const Json& summary = ObjectOrEmpty(row.data, "summary");
  const Json* policy = Field(row.data, "policy");
  return Json{{"ts", row.ts_ms},
              {"seq", row.seq},
              {"policy", policy != nullptr && policy->is_object() ? *policy : Json(nullptr)},
              {"summary", summary},
              {"score", ScoreOf(summary)},
              {"duration_ms", Int(row.data, "duration_ms") ? Json(*Int(row.data, "duration_ms")) : Json(nullptr)},
              {"checks", ArrayOrEmpty(row.data, "checks").size()}};
}

}  // namespace

int SeverityRank(std::string_view severity) {
  if (severity == "critical") return 0;
  if (severity == "high") return 1;
  if (severity == "medium") return 2;
  if (severity == "low") return 3;
  return 4;
}

Result<NetworkEvents> LoadNetworkEvents(Store& store, std::string_view device) {
  NetworkEvents out;
  const std::string id(device);
  VIGIL_ASSIGN_OR_RETURN(auto snapshot, Latest(store,
                                               AllOf({FieldEquals("device", id), FieldEquals("type", "listening_ports"),
                                                      FieldEquals("action", "snapshot")}),
                                               1));
  if (!snapshot.empty()) out.ports_snapshot = std::move(snapshot.front());

  std::vector<Filter> terms = {FieldEquals("device", id), FieldEquals("type", "listening_ports"),
                               AnyOf({FieldEquals("action", "opened"), FieldEquals("action", "closed")})};
  if (out.ports_snapshot) {
    Filter after;
    after.kind = Filter::Kind::kCompare;
    after.field = "seq";
    after.op = CompareOp::kGt;
    after.values.push_back(FilterValue::Integer(static_cast<int64_t>(out.ports_snapshot->seq)));
    terms.push_back(std::move(after));
  }
  VIGIL_ASSIGN_OR_RETURN(out.port_changes, Latest(store, AllOf(std::move(terms)), kMaxPortChanges + 1));
  if (out.port_changes.size() > kMaxPortChanges) {
    out.port_changes_truncated = true;
    out.port_changes.resize(kMaxPortChanges);  // the newest
  }
  std::sort(out.port_changes.begin(), out.port_changes.end(),
            [](const EventRow& a, const EventRow& b) { return a.seq < b.seq; });

  VIGIL_ASSIGN_OR_RETURN(auto firewall,
                         Latest(store, AllOf({FieldEquals("device", id), FieldEquals("type", "firewall")}), 1));
  if (!firewall.empty()) out.firewall = std::move(firewall.front());
  return out;
}

std::vector<Json> NetworkRecommendations(const NetworkEvents& events) {
  std::vector<Json> out;
  AddPortRecommendations(events, out);
  AddFirewallRecommendations(events, out);
  SortRecommendations(out);
  return out;
}

Json DevicePostureJson(std::string_view device, const std::optional<PostureRow>& scan, const NetworkEvents& network,
                       int max_rank) {
  std::vector<Json> recs;
  if (scan) {
    for (const Json& check : ArrayOrEmpty(scan->data, "checks")) {
      if (Str(check, "result") == "fail") recs.push_back(CheckRecommendation(check));
    }
  }
  for (Json& rec : NetworkRecommendations(network)) recs.push_back(std::move(rec));
  std::erase_if(recs, [&](const Json& r) { return SeverityRank(Str(r, "severity")) > max_rank; });
  SortRecommendations(recs);

  Json ports = nullptr;
  if (network.ports_snapshot || !network.port_changes.empty()) {
    ports = Json{{"snapshot_ts", network.ports_snapshot ? Json(network.ports_snapshot->ts_ms) : Json(nullptr)},
                 {"snapshot_seq", network.ports_snapshot ? Json(network.ports_snapshot->seq) : Json(nullptr)},
                 {"ports_omitted",
                  network.ports_snapshot ? Int(EventData(*network.ports_snapshot), "ports_omitted").value_or(0) : 0},
                 {"changes", network.port_changes.size()},
                 {"changes_truncated", network.port_changes_truncated},
                 {"open", OpenPorts(network).size()}};
  }
  Json firewall = nullptr;
  if (network.firewall) firewall = Json{{"ts", network.firewall->ts_ms}, {"seq", network.firewall->seq}};
  size_t n = recs.size();
  return Json{{"device", device},
              {"scan", scan ? ScanJson(*scan) : Json(nullptr)},
              {"recommendations", std::move(recs)},
              {"count", n},
              {"network", Json{{"listening_ports", std::move(ports)}, {"firewall", std::move(firewall)}}}};
}

Json FleetPostureJson(std::span<const PostureRow> rows, size_t limit, int max_rank) {
  struct Check {
    std::string policy, id;
    Json first;  // the check as the first device failing it sent it (else the first listing it)
    std::vector<std::string> failing;
    size_t passing = 0;
  };
  std::map<std::pair<std::string, std::string>, Check> checks;
  Json devices = Json::array();
  double score_sum = 0;
  size_t scored = 0;
  for (const PostureRow& row : rows) {
    const Json& summary = ObjectOrEmpty(row.data, "summary");
    const Json& policy = ObjectOrEmpty(row.data, "policy");
    Json score = ScoreOf(summary);
    if (score.is_number()) {
      score_sum += score.get<double>();
      ++scored;
    }
    devices.push_back(Json{{"device", row.device},
                           {"ts", row.ts_ms},
                           {"policy", Str(policy, "id")},
                           {"score", score},
                           {"pass", Int(summary, "pass").value_or(0)},
                           {"fail", Int(summary, "fail").value_or(0)},
                           {"not_applicable", Int(summary, "not_applicable").value_or(0)},
                           {"error", Int(summary, "error").value_or(0)}});
    std::set<std::string> seen;  // a check listed twice in one scan counts once
    for (const Json& c : ArrayOrEmpty(row.data, "checks")) {
      std::string id = Str(c, "id");
      std::string result = Str(c, "result");
      if (id.empty() || !seen.insert(id).second) continue;
      Check& agg = checks[{Str(policy, "id"), id}];
      if (agg.id.empty()) {
        agg.policy = Str(policy, "id");
        agg.id = id;
        agg.first = c;
      }
      if (result == "fail" && agg.failing.empty()) agg.first = c;
      if (result == "fail") agg.failing.push_back(row.device);
      if (result == "pass") ++agg.passing;
    }
  }
  std::vector<const Check*> failed;
  for (const auto& [key, c] : checks) {
    if (!c.failing.empty() && SeverityRank(Str(c.first, "severity")) <= max_rank) failed.push_back(&c);
  }
  std::sort(failed.begin(), failed.end(), [](const Check* a, const Check* b) {
    if (a->failing.size() != b->failing.size()) return a->failing.size() > b->failing.size();
    int ra = SeverityRank(Str(a->first, "severity")), rb = SeverityRank(Str(b->first, "severity"));
    if (ra != rb) return ra < rb;
    return std::tie(a->policy, a->id) < std::tie(b->policy, b->id);
  });
  Json list = Json::array();
  for (size_t i = 0; i < failed.size() && i < limit; ++i) {
    const Check& c = *failed[i];
    std::vector<std::string> ids(c.failing.begin(), c.failing.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                            c.failing.size(), kFleetDeviceIds)));
    list.push_back(Json{{"policy", c.policy},
                        {"id", c.id},
                        {"title", Str(c.first, "title")},
                        {"group", Str(c.first, "group")},
                        {"severity", Str(c.first, "severity")},
                        {"failing", c.failing.size()},
                        {"passing", c.passing},
                        {"device_ids", ids},
                        {"device_ids_truncated", c.failing.size() > kFleetDeviceIds},
                        {"remediation", StrOrNull(c.first, "remediation")}});
  }
  size_t n = list.size();
  size_t device_count = devices.size();
  return Json{{"devices", std::move(devices)},
              {"device_count", device_count},
              {"mean_score", scored > 0 ? Json(score_sum / static_cast<double>(scored)) : Json(nullptr)},
              {"checks", std::move(list)},
              {"count", n},
              {"truncated", failed.size() > limit},
              {"failed_checks", failed.size()}};
}

}  // namespace vigil::hub
