#include "hub/api/api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hub/api/posture_view.h"
#include "hub/query/filter.h"

namespace vigil::hub {
namespace {

using Json = nlohmann::json;

// Handlers, one per route; the table below ties each to its method and path.
enum class Handler {
  kHealth,
  kOpenApi,
  kDevices,
  kDevice,
  kGaps,
  kEvents,
  kEventsCount,
  kStats,
  kDeviceConfig,
  kGroupConfig,
  kDeviceGroup,
  kAlerts,
  kAlert,
  kAlertStatus,
  kRules,
  kRulesReload,
  kDeviceVulns,
  kVulns,
  kDevicePosture,
  kPosture,
};

struct RouteDef {
  ApiRoute route;
  Handler handler;
};

constexpr RouteDef kRouteDefs[] = {
    {{"GET", "/api/v1/health", RouteAccess::kPublic}, Handler::kHealth},
    {{"GET", "/api/v1/openapi.yaml", RouteAccess::kPublic}, Handler::kOpenApi},
    {{"GET", "/api/v1/devices", RouteAccess::kRead}, Handler::kDevices},
    {{"GET", "/api/v1/devices/{id}", RouteAccess::kRead}, Handler::kDevice},
    {{"GET", "/api/v1/devices/{id}/gaps", RouteAccess::kRead}, Handler::kGaps},
    {{"GET", "/api/v1/events", RouteAccess::kRead}, Handler::kEvents},
    {{"GET", "/api/v1/events/count", RouteAccess::kRead}, Handler::kEventsCount},
    {{"GET", "/api/v1/stats", RouteAccess::kRead}, Handler::kStats},
    {{"PUT", "/api/v1/devices/{id}/config", RouteAccess::kWrite}, Handler::kDeviceConfig},
    {{"PUT", "/api/v1/groups/{name}/config", RouteAccess::kWrite}, Handler::kGroupConfig},
    {{"PUT", "/api/v1/devices/{id}/group", RouteAccess::kWrite}, Handler::kDeviceGroup},
    {{"GET", "/api/v1/alerts", RouteAccess::kRead}, Handler::kAlerts},
    {{"GET", "/api/v1/alerts/{id}", RouteAccess::kRead}, Handler::kAlert},
    {{"PUT", "/api/v1/alerts/{id}", RouteAccess::kWrite}, Handler::kAlertStatus},
    {{"GET", "/api/v1/rules", RouteAccess::kRead}, Handler::kRules},
    {{"POST", "/api/v1/rules/reload", RouteAccess::kWrite}, Handler::kRulesReload},
    {{"GET", "/api/v1/devices/{id}/vulnerabilities", RouteAccess::kRead}, Handler::kDeviceVulns},
    {{"GET", "/api/v1/vulnerabilities", RouteAccess::kRead}, Handler::kVulns},
    {{"GET", "/api/v1/devices/{id}/posture", RouteAccess::kRead}, Handler::kDevicePosture},
    {{"GET", "/api/v1/posture", RouteAccess::kRead}, Handler::kPosture},
};

constexpr std::array<ApiRoute, std::size(kRouteDefs)> MakeRoutes() {
  std::array<ApiRoute, std::size(kRouteDefs)> out{};
  for (size_t i = 0; i < std::size(kRouteDefs); ++i) out[i] = kRouteDefs[i].route;
  return out;
}
constexpr auto kRoutes = MakeRoutes();

constexpr std::string_view kApiPrefix = "/api/";
constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10'000;
constexpr size_t kDetailGaps = 20;
constexpr size_t kMaxConfigBytes = 256 * 1024;
constexpr size_t kMaxVersionChars = 128;

// Splits "/a/b/c" into {"a", "b", "c"}; "" segments (from "//" or a trailing '/') are kept.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Matches a request path against a route template; fills `params` with the `{name}` segments.
bool MatchPath(std::string_view pattern, std::string_view path, std::vector<std::string>* params) {
  auto want = Segments(pattern);
  auto got = Segments(path);
  if (want.size() != got.size()) return false;
  std::vector<std::string> captured;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].starts_with('{')) {
      if (got[i].empty()) return false;
      captured.emplace_back(got[i]);
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  if (params != nullptr) *params = std::move(captured);
  return true;
}

// The regular expression httplib matches for a route template.
std::string PathRegex(std::string_view pattern) {
  std::string out;
  for (auto seg : Segments(pattern)) {
    out += '/';
    if (seg.starts_with('{')) {
      out += "[^/]+";
    } else {
      for (char c : seg) {
        if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) out += '\\';
        out += c;
      }
    }
  }
  return out;
}

std::string DumpJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(DumpJson(body), "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view message) {
  SendJson(res, status, Json{{"error", message}});
}

int HttpStatusFor(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SendStatus(httplib::Response& res, const Status& st) {
  int code = HttpStatusFor(st);
  if (code >= 500) spdlog::warn("api: {}", st.ToString());
  SendError(res, code, st.message());
}

const char* ReasonText(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "no valid token";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request body too large";
    case 414:
      return "request URI too long";
    case 500:
      return "internal error";
    case 503:
      return "unavailable";
    default:
      return "request failed";
  }
}

Json TimeOrNull(int64_t ms) { return ms == 0 ? Json(nullptr) : Json(ms); }

Json DeviceJson(const DeviceRow& d) {
  return Json{
      {"id", d.id},
      {"state", std::string(DeviceStateName(d.state))},
      {"group", d.group},
      {"agent_version", d.agent_version},
      {"first_seen", TimeOrNull(d.first_seen_ms)},
      {"last_seen", TimeOrNull(d.last_seen_ms)},
      {"last_event", TimeOrNull(d.last_event_ms)},
      {"events", d.events},
      {"min_seq", d.min_seq},
      {"max_seq", d.max_seq},
      {"missing", d.missing},
      {"revoked", d.revoked},
  };
}

Json DesiredJson(const DesiredConfig& d) {
  return Json{{"scope", d.scope},
              {"name", d.name},
              {"version", d.version},
              {"config", d.config},
              {"updated", TimeOrNull(d.updated_ms)}};
}

Json GapsJson(const std::vector<SeqGap>& gaps, size_t limit) {
  Json out = Json::array();
  for (size_t i = 0; i < gaps.size() && i < limit; ++i)
    out.push_back(Json{{"first", gaps[i].first}, {"last", gaps[i].last}});
  return out;
}

constexpr size_t kMaxNoteChars = 4096;

bool IsValidGroupName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

// Query parameters: each at most once, and only the ones a route takes.
Status CheckParams(const httplib::Request& req, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : req.params) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidArgument("unknown parameter \"" + key + "\"" +
                                     (list.empty() ? " (this route takes none)" : " (expected " + list + ")"));
    }
    if (req.get_param_value_count(key) > 1) return Status::InvalidArgument("parameter \"" + key + "\" given twice");
  }
  return Status::Ok();
}

Result<size_t> ParseLimit(const httplib::Request& req, size_t fallback) {
  if (!req.has_param("limit")) return fallback;
  std::string text = req.get_param_value("limit");
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > kMaxLimit) {
    return Status::InvalidArgument("limit: expected an integer from 1 to " + std::to_string(kMaxLimit) + ", got \"" +
                                   text + "\"");
  }
  return v;
}

}  // namespace

std::span<const ApiRoute> ApiRoutes() { return kRoutes; }

// The request handling, shared by the pre-routing hook and the registered handlers.
class ApiServer::Impl {
 public:
  Impl(Store& store, TokenStore& tokens, ApiHooks hooks, const Options& options)
      : store_(store), tokens_(tokens), hooks_(std::move(hooks)), options_(options) {}

  int64_t Now() const {
    if (hooks_.now_ms) return hooks_.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Runs before httplib reads a body: routes, authenticates and authorises /api/ requests.
  // GET routes are served here (the static files must never shadow them); PUT routes pass on
  // to the registered handler once httplib has read their body (a body over the limit it
  // reads and discards, and answers 413, so the client gets the answer).
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    std::string_view path = req.path;
    if (!path.starts_with(kApiPrefix) && path != "/api") return httplib::Server::HandlerResponse::Unhandled;
    std::string_view method = req.method == "HEAD" ? std::string_view("GET") : std::string_view(req.method);
    const RouteDef* route = nullptr;
    std::vector<std::string> params;
    std::string allow;
    for (const auto& def : kRouteDefs) {
      std::vector<std::string> p;
      if (!MatchPath(def.route.path, path, &p)) continue;
      if (def.route.method == method) {
        route = &def;
        params = std::move(p);
        break;
      }
      if (allow.find(def.route.method) == std::string::npos) {
        allow += (allow.empty() ? "" : ", ") + std::string(def.route.method);
        if (def.route.method == "GET") allow += ", HEAD";
      }
    }
    if (route == nullptr) {
      if (!allow.empty()) {
        res.set_header("Allow", allow);
        SendError(res, 405, "method " + req.method + " not allowed on " + req.path + " (allowed: " + allow + ")");
      } else {
        SendError(res, 404, "no such route: " + req.path);
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!Authorize(*route, req, res)) return httplib::Server::HandlerResponse::Handled;
    if (route->route.method == "GET") {
      Dispatch(*route, params, req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // A registered (PUT) handler: the body has been read.
  void HandleWithBody(const httplib::Request& req, httplib::Response& res) {
    for (const auto& def : kRouteDefs) {
      std::vector<std::string> params;
      if (def.route.method == req.method && MatchPath(def.route.path, req.path, &params)) {
        Dispatch(def, params, req, res);
        return;
      }
    }
    SendError(res, 404, "no such route: " + req.path);
  }

  // Fills an error response httplib produced itself (a 413 from its own body limit, a 404
  // outside /api/ with no static file, a 400 for an unparsable request) with JSON.
  httplib::Server::HandlerResponse OnError(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = ReasonText(res.status);
    if (res.status == 413) msg += " (limit " + std::to_string(options_.max_body_bytes) + " bytes)";
    if (res.status == 404) msg += ": " + req.path;
    SendError(res, res.status, msg);
    return httplib::Server::HandlerResponse::Handled;
  }

  void OnException(const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("api: {} {}: {}", req.method, req.path, what);
    SendError(res, 500, "internal error: " + what);
  }

  // Counts a response; runs before it is written, so a client that has read a response sees it
  // counted.
  void Count(const httplib::Response& res) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    if (res.status == 401) unauthorized_.fetch_add(1, std::memory_order_relaxed);
    if (res.status == 403) forbidden_.fetch_add(1, std::memory_order_relaxed);
    if (res.status >= 400 && res.status < 500) client_errors_.fetch_add(1, std::memory_order_relaxed);
    if (res.status >= 500) server_errors_.fetch_add(1, std::memory_order_relaxed);
  }

  void Log(const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("api: {} {} {} -> {} ({} bytes)", req.remote_addr, req.method, req.path, res.status, res.body.size());
  }

 private:
  bool Authorize(const RouteDef& route, const httplib::Request& req, httplib::Response& res) {
    if (route.route.access == RouteAccess::kPublic) return true;
    std::string header = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (header.empty()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"vigil-hub\"");
      SendError(res, 401, "no token: send the header \"Authorization: Bearer <token>\"");
      return false;
    }
    if (header.size() <= kBearer.size() ||
        !std::equal(kBearer.begin(), kBearer.end(), header.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"vigil-hub\", error=\"invalid_request\"");
      SendError(res, 401, "the Authorization header must be \"Bearer <token>\"");
      return false;
    }
    std::string_view token = std::string_view(header).substr(kBearer.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    auto match = tokens_.Check(token);
    if (!match.ok()) {
      LogTokenError(match.status());
      SendError(res, 503, "the hub cannot read its tokens file; see the hub's log");
      return false;
    }
    if (!match->has_value()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"vigil-hub\", error=\"invalid_token\"");
      SendError(res, 401, "invalid token");
      return false;
    }
    if (route.route.access == RouteAccess::kWrite && (*match)->role != Role::kAdmin) {
      SendError(res, 403,
                "token \"" + (*match)->name + "\" is a viewer token: " + std::string(route.route.method) + " " +
                    std::string(route.route.path) + " needs an admin token");
      return false;
    }
    spdlog::debug("api: {} {} by token \"{}\"", req.method, req.path, (*match)->name);
    return true;
  }

  // Logs a tokens-file error once per distinct message, not once per request.
  void LogTokenError(const Status& st) {
    std::lock_guard lock(token_error_mu_);
    std::string msg = st.ToString();
    if (msg == last_token_error_) return;
    last_token_error_ = msg;
    spdlog::error("api: every request is refused until the tokens file is mended: {}", msg);
  }

  void Dispatch(const RouteDef& route, const std::vector<std::string>& params, const httplib::Request& req,
                httplib::Response& res) {
    switch (route.handler) {
      case Handler::kHealth:
        return Health(req, res);
      case Handler::kOpenApi:
        return OpenApi(req, res);
      case Handler::kDevices:
        return Devices(req, res);
      case Handler::kDevice:
        return Device(params.at(0), req, res);
      case Handler::kGaps:
        return Gaps(params.at(0), req, res);
      case Handler::kEvents:
        return Events(req, res, /*count_only=*/false);
      case Handler::kEventsCount:
        return Events(req, res, /*count_only=*/true);
      case Handler::kStats:
        return Stats(req, res);
      case Handler::kDeviceConfig:
        return PutConfig("device", params.at(0), req, res);
      case Handler::kGroupConfig:
        return PutConfig("group", params.at(0), req, res);
      case Handler::kDeviceGroup:
        return PutGroup(params.at(0), req, res);
      case Handler::kAlerts:
        return Alerts(req, res);
      case Handler::kAlert:
        return Alert(params.at(0), req, res);
      case Handler::kAlertStatus:
        return PutAlertStatus(params.at(0), req, res);
      case Handler::kRules:
        return Rules(req, res, /*reload=*/false);
      case Handler::kRulesReload:
        return Rules(req, res, /*reload=*/true);
      case Handler::kDeviceVulns:
        return DeviceVulns(params.at(0), req, res);
      case Handler::kVulns:
        return Vulns(req, res);
      case Handler::kDevicePosture:
        return DevicePosture(params.at(0), req, res);
      case Handler::kPosture:
        return Posture(req, res);
    }
    SendError(res, 500, "unhandled route");
  }

  void Health(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    SendJson(res, 200, Json{{"status", "ok"}});
  }

  void OpenApi(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    res.status = 200;
    res.set_content(std::string(OpenApiYaml()), "application/yaml");
  }

  void Devices(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto devices = store_.Devices();
    if (!devices.ok()) return SendStatus(res, devices.status());
    Json list = Json::array();
    for (const auto& d : *devices) list.push_back(DeviceJson(d));
    SendJson(res, 200, Json{{"devices", std::move(list)}});
  }

  void Device(const std::string& id, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto device = store_.Device(id);
    if (!device.ok()) return SendStatus(res, device.status());
    if (!device->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    const DeviceRow& d = **device;
    Json out = DeviceJson(d);
    out["system_info"] = d.system_info;
    out["reported"] = d.reported;
    auto desired = store_.EffectiveDesired(id);
    if (!desired.ok()) return SendStatus(res, desired.status());
    out["desired"] = desired->has_value() ? DesiredJson(**desired) : Json(nullptr);
    auto gaps = store_.Gaps(id, kDetailGaps + 1);
    if (!gaps.ok()) return SendStatus(res, gaps.status());
    out["gaps"] = GapsJson(*gaps, kDetailGaps);
    out["gaps_truncated"] = gaps->size() > kDetailGaps;
    SendJson(res, 200, out);
  }

  void Gaps(const std::string& id, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {"limit"}); !st.ok()) return SendStatus(res, st);
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    auto device = store_.Device(id);
    if (!device.ok()) return SendStatus(res, device.status());
    if (!device->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    auto gaps = store_.Gaps(id, *limit + 1);
    if (!gaps.ok()) return SendStatus(res, gaps.status());
    SendJson(res, 200, Json{{"device", id}, {"gaps", GapsJson(*gaps, *limit)}, {"truncated", gaps->size() > *limit}});
  }

  Result<EventQuery> BuildQuery(const httplib::Request& req) {
    EventQuery q;
    auto filter = ParseFilter(req.get_param_value("filter"));
    if (!filter.ok()) return filter.status().WithContext("filter");
    auto sql = CompileFilter(*filter, store_.dialect(), 1);
    if (!sql.ok()) return sql.status().WithContext("filter");
    q.filter = std::move(sql).value();
    int64_t now = Now();
    if (req.has_param("since")) {
      auto since = ParseTimeSpec(req.get_param_value("since"), now);
      if (!since.ok()) return since.status().WithContext("since");
      q.since_ms = *since;
    }
    if (req.has_param("until")) {
      auto until = ParseTimeSpec(req.get_param_value("until"), now);
      if (!until.ok()) return until.status().WithContext("until");
      q.until_ms = *until;
    }
    if (q.since_ms && q.until_ms && *q.since_ms >= *q.until_ms) {
      return Status::InvalidArgument("since (" + std::to_string(*q.since_ms) + ") must be before until (" +
                                     std::to_string(*q.until_ms) + ")");
    }
    return q;
  }

  void Events(const httplib::Request& req, httplib::Response& res, bool count_only) {
    Status st = count_only ? CheckParams(req, {"filter", "since", "until"})
                           : CheckParams(req, {"filter", "since", "until", "limit", "order"});
    if (!st.ok()) return SendStatus(res, st);
    auto query = BuildQuery(req);
    if (!query.ok()) return SendStatus(res, query.status());
    if (count_only) {
      query->limit = 0;
      auto n = store_.Count(*query);
      if (!n.ok()) return SendStatus(res, n.status());
      return SendJson(res, 200, Json{{"count", *n}});
    }
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    if (req.has_param("order")) {
      std::string order = req.get_param_value("order");
      if (order != "asc" && order != "desc") {
        return SendError(res, 400, "order: expected \"desc\" (newest first) or \"asc\", got \"" + order + "\"");
      }
      query->newest_first = order == "desc";
    }
    query->limit = *limit + 1;  // one more, to say whether there are more
    auto rows = store_.Search(*query);
    if (!rows.ok()) return SendStatus(res, rows.status());
    bool truncated = rows->size() > *limit;
    size_t n = std::min(rows->size(), *limit);
    // The events are spliced in as the store holds them (the object the device sent), not
    // parsed and re-serialised.
    std::string body = "{\"events\":[";
    for (size_t i = 0; i < n; ++i) {
      const EventRow& row = (*rows)[i];
      if (i > 0) body += ',';
      body += "{\"received\":";
      body += std::to_string(row.received_ms);
      body += ",\"event\":";
      body += row.json.empty() ? std::string("null") : row.json;
      body += '}';
    }
    body += "],\"count\":" + std::to_string(n) + ",\"truncated\":" + (truncated ? "true" : "false") + "}";
    res.status = 200;
    res.set_content(body, "application/json");
  }

  void Stats(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto stats = store_.Stats();
    if (!stats.ok()) return SendStatus(res, stats.status());
    Json out;
    out["store"] = Json{{"backend", store_.Describe()},
                        {"events", stats->events},
                        {"bytes", stats->bytes},
                        {"event_bytes", stats->event_bytes},
                        {"devices", stats->devices}};
    out["ingest"] = hooks_.ingest_stats ? hooks_.ingest_stats() : Json::object();
    out["analyze"] = hooks_.analyze_stats ? hooks_.analyze_stats() : Json::object();
    out["vuln"] = hooks_.vuln_stats ? hooks_.vuln_stats() : Json::object();
    out["api"] = Json{{"requests", requests_.load(std::memory_order_relaxed)},
                      {"client_errors", client_errors_.load(std::memory_order_relaxed)},
                      {"server_errors", server_errors_.load(std::memory_order_relaxed)},
                      {"unauthorized", unauthorized_.load(std::memory_order_relaxed)},
                      {"forbidden", forbidden_.load(std::memory_order_relaxed)}};
    SendJson(res, 200, out);
  }

  Result<Json> ParseBody(const httplib::Request& req, std::initializer_list<std::string_view> keys) {
    Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Status::InvalidArgument("body: not valid JSON");
    if (!body.is_object()) return Status::InvalidArgument("body: expected a JSON object");
    for (const auto& [key, value] : body.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::string list;
        for (auto k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
        return Status::InvalidArgument("body: unknown key \"" + key + "\" (expected " + list + ")");
      }
    }
    return body;
  }

  // A version for a document that came without one: the time in ms, strictly increasing within
  // this process, so that two changes in the same millisecond still differ (the agent ignores a
  // version it has handled).
  std::string NextVersion() {
    int64_t now = Now();
    std::lock_guard lock(version_mu_);
    last_version_ = std::max(now, last_version_ + 1);
    return std::to_string(last_version_);
  }

  void PutConfig(const std::string& scope, const std::string& name, const httplib::Request& req,
                 httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    if (scope == "group" && !IsValidGroupName(name)) {
      return SendError(res, 400, "group name \"" + name + "\": expected 1 to 64 characters from [A-Za-z0-9._-]");
    }
    auto body = ParseBody(req, {"version", "config"});
    if (!body.ok()) return SendStatus(res, body.status());
    auto config = body->find("config");
    if (config == body->end()) return SendError(res, 400, "body: \"config\" is missing (expected an object)");
    if (!config->is_object()) return SendError(res, 400, "body: \"config\" must be an object");
    size_t config_bytes = DumpJson(*config).size();
    if (config_bytes > kMaxConfigBytes) {
      return SendError(res, 413,
                       "config: " + std::to_string(config_bytes) + " bytes, more than the limit of " +
                           std::to_string(kMaxConfigBytes));
    }
    std::string version;
    auto v = body->find("version");
    if (v == body->end() || v->is_null()) {
      version = NextVersion();
    } else if (v->is_string()) {
      version = v->get<std::string>();
      bool printable = std::all_of(version.begin(), version.end(),
                                   [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
      if (version.empty() || version.size() > kMaxVersionChars || !printable) {
        return SendError(res, 400, "body: \"version\" must be 1 to 128 printable characters");
      }
    } else if (v->is_number_unsigned()) {
      version = std::to_string(v->get<uint64_t>());
    } else {
      return SendError(res, 400, "body: \"version\" must be a string or a non-negative integer");
    }

    std::vector<std::string> targets;
    if (scope == "device") {
      auto device = store_.Device(name);
      if (!device.ok()) return SendStatus(res, device.status());
      if (!device->has_value()) return SendError(res, 404, "no device \"" + name + "\"");
      targets.push_back(name);
    }
    DesiredConfig desired{scope, name, version, *config, Now()};
    if (Status st = store_.SetDesired(desired); !st.ok()) return SendStatus(res, st);
    if (scope == "group") {
      auto devices = store_.Devices();
      if (!devices.ok()) return SendStatus(res, devices.status());
      for (const auto& d : *devices) {
        if (d.group == name) targets.push_back(d.id);
      }
    }
    if (hooks_.publish_desired) {
      for (const auto& id : targets) hooks_.publish_desired(id);
    }
    spdlog::info("api: desired configuration for {} \"{}\" set to version {} ({} device(s) to publish)", scope, name,
                 version, targets.size());
    Json out = DesiredJson(desired);
    out["devices"] = targets;
    SendJson(res, 200, out);
  }

  void PutGroup(const std::string& id, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto body = ParseBody(req, {"group"});
    if (!body.ok()) return SendStatus(res, body.status());
    auto group = body->find("group");
    if (group == body->end() || !group->is_string()) {
      return SendError(res, 400, "body: \"group\" must be a string (\"\" for no group)");
    }
    std::string name = group->get<std::string>();
    if (!name.empty() && !IsValidGroupName(name)) {
      return SendError(res, 400, "group name \"" + name + "\": expected 1 to 64 characters from [A-Za-z0-9._-]");
    }
    auto device = store_.Device(id);
    if (!device.ok()) return SendStatus(res, device.status());
    if (!device->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    if (Status st = store_.SetDeviceGroup(id, name); !st.ok()) return SendStatus(res, st);
    if (hooks_.publish_desired) hooks_.publish_desired(id);
    spdlog::info("api: device \"{}\" moved to group \"{}\"", id, name);
    auto updated = store_.Device(id);
    if (!updated.ok()) return SendStatus(res, updated.status());
    if (!updated->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    SendJson(res, 200, DeviceJson(**updated));
  }

  // The alert id of a path: a positive integer.
  static std::optional<int64_t> ParseAlertId(const std::string& text) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || ptr != text.data() + text.size() || v < 1) return std::nullopt;
    return v;
  }

  void Alerts(const httplib::Request& req, httplib::Response& res) {
    Status st = CheckParams(req, {"status", "device", "level", "rule", "origin", "since", "until", "limit"});
    if (!st.ok()) return SendStatus(res, st);
    AlertQuery q;
    if (req.has_param("status")) {
      q.status = req.get_param_value("status");
      if (!IsAlertStatus(*q.status)) {
        return SendError(res, 400, "status: expected new, acknowledged or resolved, got \"" + *q.status + "\"");
      }
    }
    if (req.has_param("origin")) {
      q.origin = req.get_param_value("origin");
      if (*q.origin != "device" && *q.origin != "hub") {
        return SendError(res, 400, "origin: expected device or hub, got \"" + *q.origin + "\"");
      }
    }
    if (req.has_param("device")) q.device = req.get_param_value("device");
    if (req.has_param("level")) q.level = req.get_param_value("level");
    if (req.has_param("rule")) q.rule = req.get_param_value("rule");
    int64_t now = Now();
    if (req.has_param("since")) {
      auto since = ParseTimeSpec(req.get_param_value("since"), now);
      if (!since.ok()) return SendStatus(res, since.status().WithContext("since"));
      q.since_ms = *since;
    }
    if (req.has_param("until")) {
      auto until = ParseTimeSpec(req.get_param_value("until"), now);
      if (!until.ok()) return SendStatus(res, until.status().WithContext("until"));
      q.until_ms = *until;
    }
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    q.limit = *limit + 1;
    auto rows = store_.Alerts(q);
    if (!rows.ok()) return SendStatus(res, rows.status());
    bool truncated = rows->size() > *limit;
    Json list = Json::array();
    for (size_t i = 0; i < rows->size() && i < *limit; ++i) list.push_back(AlertRowJson((*rows)[i]));
    size_t n = list.size();
    SendJson(res, 200, Json{{"alerts", std::move(list)}, {"count", n}, {"truncated", truncated}});
  }

  void Alert(const std::string& id_text, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto id = ParseAlertId(id_text);
    if (!id) return SendError(res, 404, "no alert \"" + id_text + "\"");
    auto alert = store_.Alert(*id);
    if (!alert.ok()) return SendStatus(res, alert.status());
    if (!alert->has_value()) return SendError(res, 404, "no alert " + id_text);
    SendJson(res, 200, AlertRowJson(**alert));
  }

  // The `status` parameter of the vulnerability lists: fixed (a fixed version exists) or unfixed.
  static Status VulnStatusParam(const httplib::Request& req, std::optional<std::string>* out) {
    if (!req.has_param("status")) return Status::Ok();
    *out = req.get_param_value("status");
    if (**out != "fixed" && **out != "unfixed") {
      return Status::InvalidArgument("status: expected fixed or unfixed, got \"" + **out + "\"");
    }
    return Status::Ok();
  }

  static Json FindingJson(const VulnFindingRow& f) {
    return Json{{"package", f.package},
                {"version", f.version},
                {"source", f.source},
                {"source_version", f.source_version},
                {"ecosystem", f.ecosystem},
                {"advisory", f.advisory},
                {"status", f.status},
                {"fixed_version", f.fixed_version.empty() ? Json() : Json(f.fixed_version)},
                {"severity", f.severity.empty() ? Json() : Json(f.severity)},
                {"score", f.score < 0 ? Json() : Json(f.score)},
                {"matched", TimeOrNull(f.matched_ms)}};
  }

  // One device's findings, by package, version and advisory.
  void DeviceVulns(const std::string& id, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {"status", "limit"}); !st.ok()) return SendStatus(res, st);
    VulnFindingQuery q;
    q.device = id;
    if (Status st = VulnStatusParam(req, &q.status); !st.ok()) return SendStatus(res, st);
    auto device = store_.Device(id);
    if (!device.ok()) return SendStatus(res, device.status());
    if (!device->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    q.limit = *limit + 1;
    auto rows = store_.VulnFindings(q);
    if (!rows.ok()) return SendStatus(res, rows.status());
    bool truncated = rows->size() > *limit;
    Json list = Json::array();
    for (size_t i = 0; i < rows->size() && i < *limit; ++i) list.push_back(FindingJson((*rows)[i]));
    size_t n = list.size();
    SendJson(res, 200, Json{{"device", id}, {"findings", std::move(list)}, {"count", n}, {"truncated", truncated}});
  }

  // The fleet's view: one entry per advisory that affects any device, with the devices and
  // packages it affects; most devices first, then the highest score, then the id.
  void Vulns(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {"status", "advisory", "limit"}); !st.ok()) return SendStatus(res, st);
    VulnFindingQuery q;
    if (Status st = VulnStatusParam(req, &q.status); !st.ok()) return SendStatus(res, st);
    if (req.has_param("advisory")) q.advisory = req.get_param_value("advisory");
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    auto rows = store_.VulnFindings(q);
    if (!rows.ok()) return SendStatus(res, rows.status());
    struct Entry {
      std::set<std::string> devices, packages, fixed_versions;
      const VulnFindingRow* first = nullptr;
      bool unfixed = false;
    };
    std::map<std::string, Entry> by_advisory;
    for (const VulnFindingRow& f : *rows) {
      Entry& e = by_advisory[f.advisory];
      if (!e.first) e.first = &f;
      e.devices.insert(f.device);
      e.packages.insert(f.package);
      if (!f.fixed_version.empty()) e.fixed_versions.insert(f.fixed_version);
      e.unfixed |= f.status == "unfixed";
    }
    std::vector<std::pair<const std::string*, const Entry*>> order;
    for (const auto& [id, e] : by_advisory) order.emplace_back(&id, &e);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      if (a.second->devices.size() != b.second->devices.size()) {
        return a.second->devices.size() > b.second->devices.size();
      }
      if (a.second->first->score != b.second->first->score) return a.second->first->score > b.second->first->score;
      return *a.first < *b.first;
    });
    std::set<std::string> devices;
    for (const VulnFindingRow& f : *rows) devices.insert(f.device);
    Json list = Json::array();
    for (size_t i = 0; i < order.size() && i < *limit; ++i) {
      const auto& [id, e] = order[i];
      list.push_back(Json{{"advisory", *id},
                          {"severity", e->first->severity.empty() ? Json() : Json(e->first->severity)},
                          {"score", e->first->score < 0 ? Json() : Json(e->first->score)},
                          {"ecosystem", e->first->ecosystem},
                          {"source", e->first->source},
                          {"devices", e->devices.size()},
                          {"device_ids", e->devices},
                          {"packages", e->packages},
                          {"fixed_versions", e->fixed_versions},
                          {"unfixed", e->unfixed}});
    }
    size_t n = list.size();
    SendJson(res, 200,
             Json{{"advisories", std::move(list)},
                  {"count", n},
                  {"truncated", order.size() > *limit},
                  {"findings", rows->size()},
                  {"devices", devices.size()}});
  }

  // The `severity` parameter of the posture views: the least severe recommendation or check to
  // list (absent: every one); sets the highest SeverityRank kept.
  static Status MinSeverityParam(const httplib::Request& req, int* max_rank) {
    *max_rank = SeverityRank("");
    if (!req.has_param("severity")) return Status::Ok();
    std::string value = req.get_param_value("severity");
    int rank = SeverityRank(value);
    if (rank > SeverityRank("low")) {
      return Status::InvalidArgument("severity: expected low, medium, high or critical, got \"" + value + "\"");
    }
    *max_rank = rank;
    return Status::Ok();
  }

  // One device's latest posture scan, with its failed checks and the network recommendations.
  void DevicePosture(const std::string& id, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {"severity"}); !st.ok()) return SendStatus(res, st);
    int max_rank = 0;
    if (Status st = MinSeverityParam(req, &max_rank); !st.ok()) return SendStatus(res, st);
    auto device = store_.Device(id);
    if (!device.ok()) return SendStatus(res, device.status());
    if (!device->has_value()) return SendError(res, 404, "no device \"" + id + "\"");
    auto scans = store_.Postures(std::string_view(id));
    if (!scans.ok()) return SendStatus(res, scans.status());
    auto network = LoadNetworkEvents(store_, id);
    if (!network.ok()) return SendStatus(res, network.status());
    std::optional<PostureRow> scan;
    if (!scans->empty()) scan = std::move(scans->front());
    SendJson(res, 200, DevicePostureJson(id, scan, *network, max_rank));
  }

  // The fleet's posture: every device's latest scan, and the checks failing on most devices.
  void Posture(const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {"severity", "limit"}); !st.ok()) return SendStatus(res, st);
    int max_rank = 0;
    if (Status st = MinSeverityParam(req, &max_rank); !st.ok()) return SendStatus(res, st);
    auto limit = ParseLimit(req, kDefaultLimit);
    if (!limit.ok()) return SendStatus(res, limit.status());
    auto scans = store_.Postures(std::nullopt);
    if (!scans.ok()) return SendStatus(res, scans.status());
    auto devices = store_.Devices();
    if (!devices.ok()) return SendStatus(res, devices.status());
    Json out = FleetPostureJson(*scans, *limit, max_rank);
    std::set<std::string> scanned;
    for (const PostureRow& row : *scans) scanned.insert(row.device);
    Json unscanned_ids = Json::array();
    size_t unscanned = 0;
    for (const DeviceRow& d : *devices) {
      if (scanned.count(d.id) != 0) continue;
      if (++unscanned <= kFleetDeviceIds) unscanned_ids.push_back(d.id);
    }
    out["unscanned"] = unscanned;
    out["unscanned_ids"] = std::move(unscanned_ids);
    SendJson(res, 200, out);
  }

  // The name of the request's token (already checked by Authorize); "" when it cannot be read.
  std::string TokenName(const httplib::Request& req) {
    std::string header = req.get_header_value("Authorization");
    if (header.size() <= 7) return "";
    std::string_view token = std::string_view(header).substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    auto match = tokens_.Check(token);
    return match.ok() && match->has_value() ? (*match)->name : std::string();
  }

  void PutAlertStatus(const std::string& id_text, const httplib::Request& req, httplib::Response& res) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto body = ParseBody(req, {"status", "note"});
    if (!body.ok()) return SendStatus(res, body.status());
    auto status = body->find("status");
    if (status == body->end() || !status->is_string()) {
      return SendError(res, 400, "status: expected new, acknowledged or resolved");
    }
    std::string note;
    if (auto n = body->find("note"); n != body->end() && !n->is_null()) {
      if (!n->is_string()) return SendError(res, 400, "note: expected a string");
      note = n->get<std::string>();
      if (note.size() > kMaxNoteChars) {
        return SendError(res, 400, "note: at most " + std::to_string(kMaxNoteChars) + " bytes");
      }
    }
    std::string value = status->get<std::string>();
    if (!IsAlertStatus(value)) {
      return SendError(res, 400, "status: expected new, acknowledged or resolved, got \"" + value + "\"");
    }
    auto id = ParseAlertId(id_text);
    if (!id) return SendError(res, 404, "no alert \"" + id_text + "\"");
    std::string by = TokenName(req);
    if (Status st = store_.SetAlertStatus(*id, value, by, note, Now()); !st.ok()) return SendStatus(res, st);
    spdlog::info("api: alert {} set to {} by \"{}\"", *id, value, by);
    auto alert = store_.Alert(*id);
    if (!alert.ok()) return SendStatus(res, alert.status());
    if (!alert->has_value()) return SendError(res, 404, "no alert " + id_text);
    SendJson(res, 200, AlertRowJson(**alert));
  }

  void Rules(const httplib::Request& req, httplib::Response& res, bool reload) {
    if (Status st = CheckParams(req, {}); !st.ok()) return SendStatus(res, st);
    auto& hook = reload ? hooks_.reload_rules : hooks_.rules;
    if (!hook) return SendError(res, 503, "the hub runs no analyzer");
    SendJson(res, 200, hook());
  }

  Store& store_;
  TokenStore& tokens_;
  const ApiHooks hooks_;
  const Options options_;

  std::mutex version_mu_;
  int64_t last_version_ = 0;
  std::mutex token_error_mu_;
  std::string last_token_error_;

  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> client_errors_{0};
  std::atomic<uint64_t> server_errors_{0};
  std::atomic<uint64_t> unauthorized_{0};
  std::atomic<uint64_t> forbidden_{0};
};

ApiServer::ApiServer(Store& store, TokenStore& tokens, ApiHooks hooks, Options options)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(store, tokens, std::move(hooks), options_)),
      server_(std::make_unique<httplib::Server>()) {}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start() {
  if (started_) return Status::Internal("ApiServer::Start called twice");
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.threads == 0) return Status::InvalidArgument("api: threads must be at least 1");
  if (!options_.static_dir.empty()) {
    struct stat st {};
    if (::stat(options_.static_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::Unavailable("api: static_dir " + options_.static_dir + " is not a directory");
    }
    if (!server_->set_mount_point("/", options_.static_dir)) {
      return Status::Unavailable("api: cannot serve static files from " + options_.static_dir);
    }
  }
  Impl* impl = impl_.get();
  size_t threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, which would let a second hub bind the same port
  // and silently share its connections: SO_REUSEADDR only (a restart may rebind at once).
  server_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server_->set_read_timeout(options_.read_timeout_s, 0);
  server_->set_write_timeout(options_.write_timeout_s, 0);
  server_->set_pre_routing_handler(
      [impl](const httplib::Request& req, httplib::Response& res) { return impl->PreRoute(req, res); });
  server_->set_error_handler(httplib::Server::HandlerWithResponse(
      [impl](const httplib::Request& req, httplib::Response& res) { return impl->OnError(req, res); }));
  server_->set_exception_handler([impl](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    impl->OnException(req, res, ep);
  });
  server_->set_post_routing_handler([impl](const httplib::Request&, httplib::Response& res) { impl->Count(res); });
  server_->set_logger([impl](const httplib::Request& req, const httplib::Response& res) { impl->Log(req, res); });
  // GET routes are served by the pre-routing hook; the routes with a body are registered so
  // httplib reads (and bounds) the body first.
  for (const auto& route : kRoutes) {
    if (route.method == "PUT") {
      server_->Put(PathRegex(route.path),
                   [impl](const httplib::Request& req, httplib::Response& res) { impl->HandleWithBody(req, res); });
    } else if (route.method == "POST") {
      server_->Post(PathRegex(route.path),
                    [impl](const httplib::Request& req, httplib::Response& res) { impl->HandleWithBody(req, res); });
    }
  }

  errno = 0;
  int port = options_.port;
  bool bound = false;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.host);
    bound = port > 0;
  } else {
    bound = server_->bind_to_port(options_.host, port);
  }
  if (!bound) {
    int err = errno;
    std::string why = err == EADDRINUSE      ? "the address is already in use"
                      : err == EADDRNOTAVAIL ? "the address is not available on this machine"
                      : err == EACCES        ? "permission denied (a port below 1024 needs privileges)"
                      : err != 0             ? std::string(std::strerror(err))
                                             : "the host does not resolve or the socket cannot be bound";
    return Status::Unavailable("api: cannot listen on " + where + ": " + why);
  }
  port_ = port;
  started_ = true;
  running_ = true;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until the accept loop has begun: wait for it, so that a Stop()
  // right after Start() cannot miss it. The socket listens already; this is microseconds.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  spdlog::info("api: listening on http://{}:{}/api/v1/", options_.host, port_);
  return Status::Ok();
}

void ApiServer::Stop() {
  if (!running_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

}  // namespace vigil::hub
