// The HTTP API end to end: a real server on 127.0.0.1 (port 0), a real SQLite store in a
// temporary directory, a real tokens file, driven with httplib::Client.
#include "hub/api/api.h"

#include <httplib.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "hub/api/tokens.h"
#include "hub/store/store.h"

namespace vigil::hub {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr int64_t kNow = 1'800'000'000'000;  // the hooks' clock
constexpr int64_t kHour = 3'600'000;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vigil_api_XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Reply {
  int status = 0;
  std::string body;
  Json json;  // null when the body is not JSON
  httplib::Headers headers;
  std::string Header(const std::string& key) const {
    auto it = headers.find(key);
    return it == headers.end() ? "" : it->second;
  }
};

Reply ToReply(const httplib::Result& r) {
  Reply out;
  if (!r) {
    ADD_FAILURE() << "request failed: " << httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  out.json = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (out.json.is_discarded()) out.json = nullptr;
  return out;
}

Json EventJson(const std::string& device, uint64_t seq, int64_t ts, const std::string& type, const std::string& action,
               Json data) {
  Json j = {{"v", 1},
            {"device", device},
            {"seq", seq},
            {"ts", ts},
            {"type", type},
            {"priority", "low"},
            {"data", std::move(data)}};
  if (!action.empty()) j["action"] = action;
  return j;
}

EventRow Row(const Json& j) {
  EventRow r;
  r.device = j["device"];
  r.seq = j["seq"];
  r.ts_ms = j["ts"];
  r.type = j["type"];
  r.action = j.value("action", "");
  r.priority = j["priority"];
  r.json = j.dump();
  return r;
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(ApiServer::Options{}); }

  void StartServer(ApiServer::Options options) {
    auto store = OpenStore("sqlite:" + (dir_.path() / "hub.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto tokens = TokenStore::Open((dir_.path() / "tokens.json").string());
    ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
    tokens_ = std::move(*tokens);
    admin_ = *tokens_->Create("ops", Role::kAdmin);
    viewer_ = *tokens_->Create("grafana", Role::kViewer);

    ApiHooks hooks;
    hooks.ingest_stats = [] { return Json{{"messages", 7}, {"rejected", 1}}; };
    hooks.publish_desired = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      published_.push_back(id);
    };
    hooks.now_ms = [] { return kNow; };
    hooks.rules = [this] {
      std::lock_guard lock(mu_);
      return Json{
          {"rules", Json::array()}, {"errors", Json::array({"bad.yml:3: unknown modifier"})}, {"reloads", reloads_}};
    };
    hooks.reload_rules = [this] {
      std::lock_guard lock(mu_);
      ++reloads_;
      return Json{{"rules", Json::array()}, {"errors", Json::array()}, {"reloads", reloads_}};
    };
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<ApiServer>(*store_, *tokens_, std::move(hooks), options);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_GT(server_->port(), 0);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  httplib::Client Client() {
    httplib::Client cli("127.0.0.1", server_->port());
    cli.set_read_timeout(10, 0);
    return cli;
  }

  static httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  Reply Get(const std::string& path, const std::string& token, httplib::Params params = {}) {
    auto cli = Client();
    if (params.empty()) return ToReply(cli.Get(path, Auth(token)));
    return ToReply(cli.Get(path, params, Auth(token)));
  }
  Reply GetNoAuth(const std::string& path) {
    auto cli = Client();
    return ToReply(cli.Get(path));
  }
  Reply Put(const std::string& path, const std::string& token, const std::string& body) {
    auto cli = Client();
    return ToReply(cli.Put(path, Auth(token), body, "application/json"));
  }

  std::vector<std::string> TakePublished() {
    std::lock_guard lock(mu_);
    return std::exchange(published_, {});
  }

  // d1: seqs 1, 2, 3, 5 (4 missing) with a system_info; d2: seqs 1, 2. Times spread over the
  // hours before kNow.
  void IngestFleet() {
    std::vector<Json> d1 = {
        EventJson("d1", 1, kNow - 5 * kHour, "system_info", "", {{"hostname", "gw-1"}, {"kernel", "6.1.0"}}),
        EventJson("d1", 2, kNow - 4 * kHour, "process", "exec", {{"exe", "/usr/bin/curl"}, {"pid", 100}}),
        EventJson("d1", 3, kNow - 3 * kHour, "process", "exec", {{"exe", "/bin/sh"}, {"pid", 101}}),
        EventJson("d1", 5, kNow - 2 * kHour, "network", "connect", {{"remote_port", 443}}),
    };
    std::vector<Json> d2 = {
        EventJson("d2", 1, kNow - 90 * 60'000, "process", "exec", {{"exe", "/usr/bin/curl"}, {"pid", 7}}),
        EventJson("d2", 2, kNow - 30 * 60'000, "login", "success", {{"user", "root"}}),
    };
    std::vector<BatchRows> batches(2);
    batches[0].device = "d1";
    for (const auto& j : d1) batches[0].events.push_back(Row(j));
    batches[1].device = "d2";
    for (const auto& j : d2) batches[1].events.push_back(Row(j));
    auto r = store_->Ingest(batches, kNow - 10'000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->inserted, 6u);
    sent_ = d1;
    sent_.insert(sent_.end(), d2.begin(), d2.end());
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<ApiServer> server_;
  std::string admin_;
  std::string viewer_;
  std::mutex mu_;
  std::vector<std::string> published_;
  int reloads_ = 0;
  std::vector<Json> sent_;
};

// A concrete path for a route template ({id} -> d1, {name} -> lab).
std::string Concrete(std::string_view path) {
  std::string out(path);
  const bool alert = path.starts_with("/api/v1/alerts/");
  for (auto [from, to] : {std::pair{"{id}", alert ? "1" : "d1"}, std::pair{"{name}", "lab"}}) {
    for (size_t at; (at = out.find(from)) != std::string::npos;) out.replace(at, std::string_view(from).size(), to);
  }
  return out;
}

TEST_F(ApiTest, HealthAndOpenApiNeedNoToken) {
  Reply health = GetNoAuth("/api/v1/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json, (Json{{"status", "ok"}}));
  Reply spec = GetNoAuth("/api/v1/openapi.yaml");
  EXPECT_EQ(spec.status, 200);
  EXPECT_EQ(spec.body, std::string(OpenApiYaml()));
  EXPECT_THAT(spec.Header("Content-Type"), HasSubstr("yaml"));
}

TEST_F(ApiTest, EveryProtectedRouteRefusesMissingTokenWith401AndWwwAuthenticate) {
  auto cli = Client();
  int checked = 0;
  for (const ApiRoute& route : ApiRoutes()) {
    if (route.access == RouteAccess::kPublic) continue;
    std::string path = Concrete(route.path);
    httplib::Result r = route.method == "GET"   ? cli.Get(path)
                        : route.method == "PUT" ? cli.Put(path, "{}", "application/json")
                                                : cli.Post(path, "{}", "application/json");
    Reply reply = ToReply(r);
    EXPECT_EQ(reply.status, 401) << route.method << " " << path;
    EXPECT_THAT(reply.Header("WWW-Authenticate"), HasSubstr("Bearer")) << path;
    EXPECT_TRUE(reply.json.contains("error")) << reply.body;
    ++checked;
  }
  EXPECT_EQ(checked, 18);
}

TEST_F(ApiTest, WrongOrMalformedTokenIs401) {
  Reply wrong = Get("/api/v1/devices", admin_ + "x");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.Header("WWW-Authenticate"), HasSubstr("invalid_token"));
  EXPECT_EQ(wrong.json["error"], "invalid token");
  auto cli = Client();
  Reply basic = ToReply(cli.Get("/api/v1/devices", {{"Authorization", "Basic dXNlcjpwYXNz"}}));
  EXPECT_EQ(basic.status, 401);
  EXPECT_THAT(basic.json["error"].get<std::string>(), HasSubstr("Bearer"));
  Reply ok = Get("/api/v1/devices", admin_);
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ApiTest, ViewerReadsButEveryWriteIs403) {
  ASSERT_TRUE(store_->AddDevice("d1", "", kNow).ok());
  EXPECT_EQ(Get("/api/v1/devices", viewer_).status, 200);
  EXPECT_EQ(Get("/api/v1/devices/d1", viewer_).status, 200);
  int checked = 0;
  for (const ApiRoute& route : ApiRoutes()) {
    if (route.access != RouteAccess::kWrite) continue;
    auto cli = Client();
    const std::string body = R"({"config": {}, "group": "x", "status": "resolved"})";
    Reply reply = route.method == "PUT"
                      ? Put(Concrete(route.path), viewer_, body)
                      : ToReply(cli.Post(Concrete(route.path), Auth(viewer_), body, "application/json"));
    EXPECT_EQ(reply.status, 403) << route.path;
    EXPECT_THAT(reply.json["error"].get<std::string>(), HasSubstr("admin token"));
    ++checked;
  }
  EXPECT_EQ(checked, 5);
  EXPECT_TRUE(TakePublished().empty());
  auto desired = store_->EffectiveDesired("d1");
  ASSERT_TRUE(desired.ok());
  EXPECT_FALSE(desired->has_value());
}

TEST_F(ApiTest, UnknownApiPathIs404AndWrongMethodIs405WithAllow) {
  Reply missing = Get("/api/v1/nothing", admin_);
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.json["error"].get<std::string>(), HasSubstr("/api/v1/nothing"));
  auto cli = Client();
  Reply post = ToReply(cli.Post("/api/v1/devices", Auth(admin_), "{}", "application/json"));
  EXPECT_EQ(post.status, 405);
  EXPECT_THAT(post.Header("Allow"), HasSubstr("GET"));
  Reply del = ToReply(cli.Delete("/api/v1/devices/d1/config", Auth(admin_)));
  EXPECT_EQ(del.status, 405);
  EXPECT_EQ(del.Header("Allow"), "PUT");
  Reply get_put_only = Get("/api/v1/groups/lab/config", admin_);
  EXPECT_EQ(get_put_only.status, 405);
}

TEST_F(ApiTest, DevicesListAndDetailAfterIngest) {
  IngestFleet();
  ASSERT_TRUE(store_->SetDeviceState("d1", DeviceState::kOnline, "0.1.0", kNow - 1000).ok());
  Reply list = Get("/api/v1/devices", viewer_);
  ASSERT_EQ(list.status, 200) << list.body;
  const Json& devices = list.json["devices"];
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0]["id"], "d1");
  EXPECT_EQ(devices[0]["state"], "online");
  EXPECT_EQ(devices[0]["agent_version"], "0.1.0");
  EXPECT_EQ(devices[0]["events"], 4);
  EXPECT_EQ(devices[0]["missing"], 1);
  EXPECT_EQ(devices[0]["group"], "");
  EXPECT_EQ(devices[0]["last_seen"], kNow - 1000);
  EXPECT_EQ(devices[1]["id"], "d2");
  EXPECT_EQ(devices[1]["events"], 2);
  EXPECT_EQ(devices[1]["missing"], 0);

  Json reported = {{"version", "3"}, {"applied", true}, {"ts", kNow}, {"config", Json::object()}};
  ASSERT_TRUE(store_->SetReported("d1", reported, kNow).ok());
  Reply detail = Get("/api/v1/devices/d1", viewer_);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(detail.json["id"], "d1");
  EXPECT_EQ(detail.json["system_info"]["hostname"], "gw-1");
  EXPECT_EQ(detail.json["reported"], reported);
  EXPECT_TRUE(detail.json["desired"].is_null());
  EXPECT_EQ(detail.json["gaps"], (Json::array({{{"first", 4}, {"last", 4}}})));
  EXPECT_EQ(detail.json["gaps_truncated"], false);
  EXPECT_EQ(detail.json["min_seq"], 1);
  EXPECT_EQ(detail.json["max_seq"], 5);
}

TEST_F(ApiTest, UnknownDeviceIs404Everywhere) {
  EXPECT_EQ(Get("/api/v1/devices/ghost", viewer_).status, 404);
  EXPECT_EQ(Get("/api/v1/devices/ghost/gaps", viewer_).status, 404);
  Reply config = Put("/api/v1/devices/ghost/config", admin_, R"({"config": {}})");
  EXPECT_EQ(config.status, 404);
  EXPECT_THAT(config.json["error"].get<std::string>(), HasSubstr("ghost"));
  EXPECT_EQ(Put("/api/v1/devices/ghost/group", admin_, R"({"group": "lab"})").status, 404);
  EXPECT_TRUE(TakePublished().empty());
}

TEST_F(ApiTest, GapsHonourLimit) {
  std::vector<BatchRows> batches(1);
  batches[0].device = "d9";
  for (uint64_t seq : {1, 3, 5, 7, 9}) {
    batches[0].events.push_back(Row(EventJson("d9", seq, kNow - 1000 + int64_t(seq), "heartbeat", "", Json::object())));
  }
  ASSERT_TRUE(store_->Ingest(batches, kNow).ok());
  Reply all = Get("/api/v1/devices/d9/gaps", viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json["gaps"].size(), 4u);
  EXPECT_EQ(all.json["truncated"], false);
  Reply two = Get("/api/v1/devices/d9/gaps", viewer_, {{"limit", "2"}});
  ASSERT_EQ(two.status, 200);
  EXPECT_EQ(two.json["gaps"], (Json::array({{{"first", 2}, {"last", 2}}, {{"first", 4}, {"last", 4}}})));
  EXPECT_EQ(two.json["truncated"], true);
  EXPECT_EQ(Get("/api/v1/devices/d9/gaps", viewer_, {{"limit", "0"}}).status, 400);
}

TEST_F(ApiTest, EventSearchReturnsEventsAsSentWithFilterTimeRangeOrderAndLimit) {
  IngestFleet();
  Reply all = Get("/api/v1/events", viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.json["events"].size(), 6u);
  EXPECT_EQ(all.json["count"], 6);
  EXPECT_EQ(all.json["truncated"], false);
  // Newest first by default; each event is the object the device sent.
  EXPECT_EQ(all.json["events"][0]["event"], sent_[5]);
  EXPECT_EQ(all.json["events"][5]["event"], sent_[0]);
  EXPECT_EQ(all.json["events"][0]["received"], kNow - 10'000);

  Reply curl = Get("/api/v1/events", viewer_, {{"filter", "type = process and exe endswith \"/curl\""}});
  ASSERT_EQ(curl.status, 200) << curl.body;
  ASSERT_EQ(curl.json["events"].size(), 2u);
  EXPECT_EQ(curl.json["events"][0]["event"]["device"], "d2");
  EXPECT_EQ(curl.json["events"][1]["event"]["device"], "d1");

  // Relative times against the hooks' clock: the last 100 minutes hold d2's two events.
  Reply recent = Get("/api/v1/events", viewer_, {{"since", "100m"}});
  ASSERT_EQ(recent.status, 200) << recent.body;
  EXPECT_EQ(recent.json["events"].size(), 2u);
  // [since, until) in epoch ms: d1 seqs 2 and 3.
  Reply window =
      Get("/api/v1/events", viewer_,
          {{"since", std::to_string(kNow - 4 * kHour)}, {"until", std::to_string(kNow - 2 * kHour)}, {"order", "asc"}});
  ASSERT_EQ(window.status, 200) << window.body;
  ASSERT_EQ(window.json["events"].size(), 2u);
  EXPECT_EQ(window.json["events"][0]["event"]["seq"], 2);
  EXPECT_EQ(window.json["events"][1]["event"]["seq"], 3);

  Reply limited = Get("/api/v1/events", viewer_, {{"limit", "4"}, {"order", "asc"}});
  ASSERT_EQ(limited.status, 200);
  ASSERT_EQ(limited.json["events"].size(), 4u);
  EXPECT_EQ(limited.json["truncated"], true);
  EXPECT_EQ(limited.json["events"][0]["event"], sent_[0]);
}

TEST_F(ApiTest, BadFilterIs400NamingTheColumn) {
  Reply bad = Get("/api/v1/events", viewer_, {{"filter", "type = process and and"}});
  EXPECT_EQ(bad.status, 400);
  std::string msg = bad.json["error"].get<std::string>();
  EXPECT_THAT(msg, HasSubstr("filter: column 20"));
  Reply bad_count = Get("/api/v1/events/count", viewer_, {{"filter", "(type = process"}});
  EXPECT_EQ(bad_count.status, 400);
  EXPECT_THAT(bad_count.json["error"].get<std::string>(), HasSubstr("filter: column"));
}

TEST_F(ApiTest, BadSearchParametersAre400AndSayWhich) {
  struct Case {
    httplib::Params params;
    const char* fragment;
  };
  std::vector<Case> cases = {
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "10001"}}, "limit"},
      {{{"limit", "ten"}}, "limit"},
      {{{"order", "sideways"}}, "order"},
      {{{"since", "yesterday"}}, "since"},
      {{{"until", "2026-13-01"}}, "until"},
      {{{"since", "1h"}, {"until", "2h"}}, "must be before"},
      {{{"fitler", "type = process"}}, "unknown parameter \"fitler\""},
      {{{"limit", "1"}, {"limit", "2"}}, "twice"},
  };
  for (const auto& c : cases) {
    Reply r = Get("/api/v1/events", viewer_, c.params);
    EXPECT_EQ(r.status, 400) << c.fragment << ": " << r.body;
    EXPECT_THAT(r.json.value("error", ""), HasSubstr(c.fragment));
  }
  EXPECT_EQ(Get("/api/v1/events/count", viewer_, {{"limit", "5"}}).status, 400);
}

TEST_F(ApiTest, CountAgreesWithSearch) {
  IngestFleet();
  Reply all = Get("/api/v1/events/count", viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json, (Json{{"count", 6}}));
  Reply process = Get("/api/v1/events/count", viewer_, {{"filter", "type = process"}, {"since", "3h"}});
  ASSERT_EQ(process.status, 200);
  EXPECT_EQ(process.json["count"], 2);  // d1 seq 3, d2 seq 1
  Reply search = Get("/api/v1/events", viewer_, {{"filter", "type = process"}, {"since", "3h"}});
  EXPECT_EQ(search.json["events"].size(), 2u);
}

TEST_F(ApiTest, DeviceDesiredConfigIsStoredAndPublishedForThatDevice) {
  IngestFleet();
  Reply put = Put("/api/v1/devices/d1/config", admin_, R"({"version": "7", "config": {"process": {"mode": "ebpf"}}})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json["scope"], "device");
  EXPECT_EQ(put.json["name"], "d1");
  EXPECT_EQ(put.json["version"], "7");
  EXPECT_EQ(put.json["devices"], Json::array({"d1"}));
  EXPECT_THAT(TakePublished(), ElementsAre("d1"));
  auto desired = store_->EffectiveDesired("d1");
  ASSERT_TRUE(desired.ok() && desired->has_value());
  EXPECT_EQ((*desired)->version, "7");
  EXPECT_EQ((*desired)->config, (Json{{"process", {{"mode", "ebpf"}}}}));
  Reply detail = Get("/api/v1/devices/d1", viewer_);
  EXPECT_EQ(detail.json["desired"]["version"], "7");
  EXPECT_EQ(detail.json["desired"]["scope"], "device");
  EXPECT_EQ(detail.json["desired"]["updated"], kNow);

  // An integer version is accepted as its decimal text; without one the hub makes one, and
  // two in a row differ even within one millisecond.
  Reply numeric = Put("/api/v1/devices/d1/config", admin_, R"({"version": 42, "config": {}})");
  ASSERT_EQ(numeric.status, 200) << numeric.body;
  EXPECT_EQ(numeric.json["version"], "42");
  Reply gen1 = Put("/api/v1/devices/d1/config", admin_, R"({"config": {}})");
  Reply gen2 = Put("/api/v1/devices/d1/config", admin_, R"({"config": {}})");
  ASSERT_EQ(gen1.status, 200);
  ASSERT_EQ(gen2.status, 200);
  EXPECT_EQ(gen1.json["version"], std::to_string(kNow));
  EXPECT_NE(gen1.json["version"], gen2.json["version"]);
  EXPECT_THAT(TakePublished(), ElementsAre("d1", "d1", "d1"));
}

TEST_F(ApiTest, GroupDesiredConfigPublishesEveryDeviceInTheGroupOnly) {
  IngestFleet();
  ASSERT_TRUE(store_->AddDevice("d3", "", kNow).ok());
  Reply g1 = Put("/api/v1/devices/d1/group", admin_, R"({"group": "lab"})");
  ASSERT_EQ(g1.status, 200) << g1.body;
  EXPECT_EQ(g1.json["group"], "lab");
  ASSERT_EQ(Put("/api/v1/devices/d2/group", admin_, R"({"group": "lab"})").status, 200);
  // Moving a device may change its effective document: each move publishes it.
  EXPECT_THAT(TakePublished(), ElementsAre("d1", "d2"));

  Reply put = Put("/api/v1/groups/lab/config", admin_, R"({"version": "g1", "config": {"login": {"enabled": false}}})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json["scope"], "group");
  EXPECT_THAT(TakePublished(), UnorderedElementsAre("d1", "d2"));
  EXPECT_EQ(put.json["devices"].size(), 2u);

  Reply d2 = Get("/api/v1/devices/d2", viewer_);
  EXPECT_EQ(d2.json["desired"]["scope"], "group");
  EXPECT_EQ(d2.json["desired"]["name"], "lab");
  EXPECT_EQ(d2.json["desired"]["version"], "g1");
  Reply d3 = Get("/api/v1/devices/d3", viewer_);
  EXPECT_TRUE(d3.json["desired"].is_null());

  // A group without devices may hold a document; nobody to publish to.
  Reply empty = Put("/api/v1/groups/spare/config", admin_, R"({"config": {}})");
  ASSERT_EQ(empty.status, 200);
  EXPECT_TRUE(TakePublished().empty());

  // Out of the group: the device no longer has the group's document.
  ASSERT_EQ(Put("/api/v1/devices/d2/group", admin_, R"({"group": ""})").status, 200);
  EXPECT_THAT(TakePublished(), ElementsAre("d2"));
  EXPECT_TRUE(Get("/api/v1/devices/d2", viewer_).json["desired"].is_null());
}

TEST_F(ApiTest, BadConfigBodiesAre400AndPublishNothing) {
  ASSERT_TRUE(store_->AddDevice("d1", "", kNow).ok());
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {"[1]", "expected a JSON object"},
      {R"({"version": "1"})", "\"config\" is missing"},
      {R"({"config": [1, 2]})", "must be an object"},
      {R"({"config": {}, "extra": 1})", "unknown key \"extra\""},
      {R"({"version": -1, "config": {}})", "\"version\""},
      {R"({"version": "", "config": {}})", "\"version\""},
      {R"({"version": true, "config": {}})", "\"version\""},
  };
  for (const auto& [body, fragment] : cases) {
    Reply r = Put("/api/v1/devices/d1/config", admin_, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_THAT(r.json.value("error", ""), HasSubstr(fragment)) << body;
  }
  EXPECT_EQ(Put("/api/v1/groups/bad%20name/config", admin_, R"({"config": {}})").status, 400);
  EXPECT_EQ(Put("/api/v1/devices/d1/group", admin_, R"({"group": 5})").status, 400);
  EXPECT_EQ(Put("/api/v1/devices/d1/group", admin_, R"({"group": "a/b"})").status, 400);
  EXPECT_TRUE(TakePublished().empty());
  auto configs = store_->DesiredConfigs();
  ASSERT_TRUE(configs.ok());
  EXPECT_TRUE(configs->empty());
}

TEST_F(ApiTest, BodyLargerThanLimitIs413AndConfigOverItsLimitToo) {
  ASSERT_TRUE(store_->AddDevice("d1", "", kNow).ok());
  std::string huge = R"({"config": {"x": ")" + std::string(2 << 20, 'a') + R"("}})";
  Reply r = Put("/api/v1/devices/d1/config", admin_, huge);
  EXPECT_EQ(r.status, 413);
  EXPECT_THAT(r.json.value("error", ""), HasSubstr("limit"));
  std::string big_config = R"({"config": {"x": ")" + std::string(300 * 1024, 'a') + R"("}})";
  Reply c = Put("/api/v1/devices/d1/config", admin_, big_config);
  EXPECT_EQ(c.status, 413);
  EXPECT_THAT(c.json.value("error", ""), HasSubstr("config"));
  EXPECT_TRUE(TakePublished().empty());
}

TEST_F(ApiTest, StatsShowStoreIngestAndApiCounters) {
  IngestFleet();
  EXPECT_EQ(Get("/api/v1/devices", "wrong").status, 401);
  Reply stats = Get("/api/v1/stats", viewer_);
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(stats.json["store"]["events"], 6);
  EXPECT_EQ(stats.json["store"]["devices"], 2);
  EXPECT_GT(stats.json["store"]["bytes"].get<uint64_t>(), 0u);
  EXPECT_THAT(stats.json["store"]["backend"].get<std::string>(), HasSubstr("sqlite:"));
  EXPECT_EQ(stats.json["ingest"], (Json{{"messages", 7}, {"rejected", 1}}));
  EXPECT_GE(stats.json["api"]["requests"].get<uint64_t>(), 1u);
  EXPECT_GE(stats.json["api"]["unauthorized"].get<uint64_t>(), 1u);
}

TEST_F(ApiTest, TokenCreatedByAnotherProcessWorksAndRevokedStopsWorking) {
  // As `vigil-hub token create` would, with its own TokenStore on the same file.
  auto cli_store = TokenStore::Open((dir_.path() / "tokens.json").string());
  ASSERT_TRUE(cli_store.ok());
  std::string fresh = *(*cli_store)->Create("new-viewer", Role::kViewer);
  EXPECT_EQ(Get("/api/v1/devices", fresh).status, 200);
  ASSERT_TRUE((*cli_store)->Revoke("new-viewer").ok());
  EXPECT_EQ(Get("/api/v1/devices", fresh).status, 401);
  ASSERT_TRUE((*cli_store)->Revoke("ops").ok());
  EXPECT_EQ(Get("/api/v1/devices", admin_).status, 401);
  EXPECT_EQ(Get("/api/v1/devices", viewer_).status, 200);
}

TEST_F(ApiTest, MalformedTokensFileRefusesEveryTokenWith503UntilMended) {
  fs::path file = dir_.path() / "tokens.json";
  std::string good;
  {
    std::ifstream in(file);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  { std::ofstream(file, std::ios::trunc) << "{\"version\": 1, \"tokens\": 3}"; }
  Reply r = Get("/api/v1/devices", admin_);
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.json.value("error", ""), HasSubstr("tokens file"));
  EXPECT_EQ(GetNoAuth("/api/v1/health").status, 200);
  { std::ofstream(file, std::ios::trunc) << good; }
  EXPECT_EQ(Get("/api/v1/devices", admin_).status, 200);
}

TEST_F(ApiTest, SecondServerOnTheSamePortFailsSayingAddressInUse) {
  ApiServer::Options options;
  options.host = "127.0.0.1";
  options.port = server_->port();
  ApiServer second(*store_, *tokens_, ApiHooks{}, options);
  Status st = second.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("in use"));
  EXPECT_THAT(std::string(st.message()), HasSubstr("127.0.0.1:" + std::to_string(server_->port())));
}

TEST_F(ApiTest, StopThenDestroyIsCleanAndIdempotent) {
  int port = server_->port();
  server_->Stop();
  server_->Stop();
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2, 0);
  EXPECT_FALSE(cli.Get("/api/v1/health"));
  server_.reset();
}

class ApiStaticTest : public ApiTest {
 protected:
  void SetUp() override {
    fs::create_directories(web_.path() / "api" / "v1");
    std::ofstream(web_.path() / "index.html") << "<html>console</html>";
    // A file where an API route is must never shadow the route.
    std::ofstream(web_.path() / "api" / "v1" / "devices") << "shadow";
    ApiServer::Options options;
    options.static_dir = web_.path().string();
    StartServer(options);
  }
  TempDir web_;
};

TEST_F(ApiStaticTest, ServesConsoleFilesOutsideApiAndNeverShadowsRoutes) {
  Reply index = GetNoAuth("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<html>console</html>");
  Reply route = GetNoAuth("/api/v1/devices");
  EXPECT_EQ(route.status, 401);
  EXPECT_EQ(Get("/api/v1/devices", viewer_).json["devices"], Json::array());
  EXPECT_EQ(GetNoAuth("/missing.js").status, 404);
}

TEST(ApiServerStart, StaticDirThatIsNotADirectoryIsAnError) {
  TempDir dir;
  auto store = OpenStore("sqlite:" + (dir.path() / "hub.db").string());
  ASSERT_TRUE(store.ok());
  auto tokens = TokenStore::Open((dir.path() / "tokens.json").string());
  ASSERT_TRUE(tokens.ok());
  ApiServer::Options options;
  options.port = 0;
  options.static_dir = (dir.path() / "nope").string();
  ApiServer server(**store, **tokens, ApiHooks{}, options);
  Status st = server.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("nope"));
}

// Alerts: two from a device (ingested as events of type alert), one from the hub.
class AlertApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    auto alert = [](uint64_t seq, int64_t ts, const std::string& rule, const std::string& level) {
      return Row(EventJson(
          "d1", seq, ts, "alert", "match",
          {{"rule_id", rule}, {"title", "T " + rule}, {"level", level}, {"attack", Json::array()}, {"summary", "s"}}));
    };
    std::vector<BatchRows> batches(1);
    batches[0].device = "d1";
    batches[0].events = {alert(1, kNow - 3 * kHour, "r1", "high"), alert(2, kNow - 2 * kHour, "r2", "low")};
    ASSERT_TRUE(store_->Ingest(batches, kNow - 1000).ok());
    AlertRow hub;
    hub.device = "d2";
    hub.origin = "hub";
    hub.ts_ms = kNow - kHour;
    hub.rule_id = "fleet";
    hub.title = "Fleet";
    hub.level = "medium";
    hub.json = R"({"type":"alert","device":"d2","data":{"rule_id":"fleet"}})";
    auto ids = store_->AddAlerts(std::vector<AlertRow>{hub}, kNow - 500);
    ASSERT_TRUE(ids.ok());
    hub_id_ = ids->front();
  }
  std::vector<std::string> Rules(httplib::Params params) {
    Reply r = Get("/api/v1/alerts", viewer_, std::move(params));
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    for (const auto& a : r.json["alerts"]) out.push_back(a["rule_id"]);
    return out;
  }
  int64_t hub_id_ = 0;
};

TEST_F(AlertApiTest, ListIsNewestFirstAndFilters) {
  EXPECT_THAT(Rules({}), ElementsAre("fleet", "r2", "r1"));
  EXPECT_THAT(Rules({{"origin", "device"}}), ElementsAre("r2", "r1"));
  EXPECT_THAT(Rules({{"device", "d2"}}), ElementsAre("fleet"));
  EXPECT_THAT(Rules({{"level", "high"}}), ElementsAre("r1"));
  EXPECT_THAT(Rules({{"rule", "r2"}}), ElementsAre("r2"));
  EXPECT_THAT(Rules({{"since", "150m"}}), ElementsAre("fleet", "r2"));
  EXPECT_THAT(Rules({{"until", "150m"}}), ElementsAre("r1"));
  EXPECT_THAT(Rules({{"status", "acknowledged"}}), ElementsAre());
  Reply limited = Get("/api/v1/alerts", viewer_, {{"limit", "1"}});
  EXPECT_EQ(limited.json["count"], 1);
  EXPECT_EQ(limited.json["truncated"], true);
  const Json first = Get("/api/v1/alerts", viewer_).json["alerts"][1];
  EXPECT_EQ(first["origin"], "device");
  EXPECT_EQ(first["seq"], 2);
  EXPECT_EQ(first["status"], "new");
  EXPECT_EQ(first["alert"]["data"]["rule_id"], "r2");
}

TEST_F(AlertApiTest, BadFiltersAre400NamingTheParameter) {
  Reply bad = Get("/api/v1/alerts", viewer_, {{"status", "open"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.json["error"].get<std::string>(), HasSubstr("status"));
  Reply unknown = Get("/api/v1/alerts", viewer_, {{"severity", "high"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.json["error"].get<std::string>(), HasSubstr("severity"));
}

TEST_F(AlertApiTest, GetOneAndUnknownIs404) {
  Reply one = Get("/api/v1/alerts/" + std::to_string(hub_id_), viewer_);
  EXPECT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json["rule_id"], "fleet");
  EXPECT_EQ(one.json["origin"], "hub");
  EXPECT_TRUE(one.json["seq"].is_null());
  EXPECT_EQ(Get("/api/v1/alerts/999", viewer_).status, 404);
  EXPECT_EQ(Get("/api/v1/alerts/abc", viewer_).status, 404);
}

TEST_F(AlertApiTest, AdminSetsStatusWithNoteAndTheTokenNameIsRecorded) {
  std::string path = "/api/v1/alerts/" + std::to_string(hub_id_);
  Reply r = Put(path, admin_, R"({"status": "acknowledged", "note": "on it"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["status"], "acknowledged");
  EXPECT_EQ(r.json["status_by"], "ops");
  EXPECT_EQ(r.json["status_changed"], kNow);
  EXPECT_EQ(r.json["note"], "on it");
  EXPECT_THAT(Rules({{"status", "acknowledged"}}), ElementsAre("fleet"));
  Reply back = Put(path, admin_, R"({"status": "new"})");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.json["note"], "");
}

TEST_F(AlertApiTest, ViewerGets403AndBadStatusIs400NamingTheField) {
  std::string path = "/api/v1/alerts/" + std::to_string(hub_id_);
  Reply viewer = Put(path, viewer_, R"({"status": "resolved"})");
  EXPECT_EQ(viewer.status, 403);
  Reply bad = Put(path, admin_, R"({"status": "closed"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.json["error"].get<std::string>(), HasSubstr("status"));
  Reply missing = Put(path, admin_, R"({"note": "x"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(missing.json["error"].get<std::string>(), HasSubstr("status"));
  Reply extra = Put(path, admin_, R"({"status": "resolved", "by": "me"})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_EQ(Put("/api/v1/alerts/999", admin_, R"({"status": "resolved"})").status, 404);
  auto a = store_->Alert(hub_id_);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->status, "new");
}

TEST_F(AlertApiTest, RulesAreListedAndReloadNeedsAdmin) {
  Reply rules = Get("/api/v1/rules", viewer_);
  EXPECT_EQ(rules.status, 200);
  EXPECT_EQ(rules.json["errors"][0], "bad.yml:3: unknown modifier");
  auto cli = Client();
  Reply denied = ToReply(cli.Post("/api/v1/rules/reload", Auth(viewer_), "", "application/json"));
  EXPECT_EQ(denied.status, 403);
  Reply reload = ToReply(cli.Post("/api/v1/rules/reload", Auth(admin_), "", "application/json"));
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(reload.json["reloads"], 1);
}

// The route table and openapi.yaml describe the same API, both ways, and the file parses.
// Vulnerability findings of two devices, as the SBoM feed stores them.
class VulnApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    std::vector<BatchRows> batches(2);
    for (int i = 0; i < 2; ++i) {
      batches[i].device = i == 0 ? "d1" : "d2";
      batches[i].events = {Row(EventJson(batches[i].device, 1, kNow - kHour, "heartbeat", "", Json::object()))};
    }
    ASSERT_TRUE(store_->Ingest(batches, kNow - 1000).ok());
    auto finding = [](const std::string& device, const std::string& package, const std::string& advisory,
                      const std::string& status, double score) {
      VulnFindingRow f;
      f.device = device;
      f.package = package;
      f.version = "1.0-1";
      f.source = package;
      f.source_version = "1.0-1";
      f.ecosystem = "Debian:12";
      f.advisory = advisory;
      f.status = status;
      f.fixed_version = status == "fixed" ? "1.0-2" : "";
      f.severity = score >= 7 ? "high" : "medium";
      f.score = score;
      f.matched_ms = kNow - 100;
      return f;
    };
    for (const std::string device : {"d1", "d2"}) {
      VulnUpdate u;
      u.device = device;
      u.replace_packages = true;
      u.packages = {VulnPackageRow{device, "openssl", "1.0-1", "openssl", "1.0-1", "Debian:12"}};
      u.rematched = {"openssl"};
      u.findings = {finding(device, "openssl", "CVE-2099-0001", "fixed", 5.0)};
      if (device == "d1") {
        u.packages.push_back(VulnPackageRow{device, "zlib1g", "1.0-1", "zlib", "1.0-1", "Debian:12"});
        u.rematched.push_back("zlib1g");
        u.findings.push_back(finding(device, "zlib1g", "CVE-2099-0002", "unfixed", 9.8));
      }
      ASSERT_TRUE(store_->UpdateVulns(u).ok());
    }
  }
};

TEST_F(VulnApiTest, ADevicesFindingsWithStatusFilterAndLimit) {
  Reply all = Get("/api/v1/devices/d1/vulnerabilities", viewer_);
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.json["count"], 2);
  EXPECT_EQ(all.json["findings"][0]["package"], "openssl");
  EXPECT_EQ(all.json["findings"][0]["fixed_version"], "1.0-2");
  EXPECT_EQ(all.json["findings"][1]["advisory"], "CVE-2099-0002");
  EXPECT_TRUE(all.json["findings"][1]["fixed_version"].is_null());
  EXPECT_EQ(all.json["findings"][1]["score"], 9.8);
  Reply unfixed = Get("/api/v1/devices/d1/vulnerabilities", viewer_, {{"status", "unfixed"}});
  ASSERT_EQ(unfixed.json["count"], 1);
  EXPECT_EQ(unfixed.json["findings"][0]["package"], "zlib1g");
  Reply one = Get("/api/v1/devices/d1/vulnerabilities", viewer_, {{"limit", "1"}});
  EXPECT_EQ(one.json["count"], 1);
  EXPECT_EQ(one.json["truncated"], true);
  EXPECT_EQ(Get("/api/v1/devices/d2/vulnerabilities", viewer_).json["count"], 1);
  EXPECT_EQ(Get("/api/v1/devices/nope/vulnerabilities", viewer_).status, 404);
  Reply bad = Get("/api/v1/devices/d1/vulnerabilities", viewer_, {{"status", "open"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.json["error"].get<std::string>(), HasSubstr("status"));
}

TEST_F(VulnApiTest, TheFleetViewCountsDevicesPerAdvisoryMostFirst) {
  Reply fleet = Get("/api/v1/vulnerabilities", viewer_);
  ASSERT_EQ(fleet.status, 200) << fleet.body;
  EXPECT_EQ(fleet.json["findings"], 3);
  EXPECT_EQ(fleet.json["devices"], 2);
  ASSERT_EQ(fleet.json["count"], 2);
  const Json& first = fleet.json["advisories"][0];
  EXPECT_EQ(first["advisory"], "CVE-2099-0001");  // two devices, though its score is lower
  EXPECT_EQ(first["devices"], 2);
  EXPECT_EQ(first["device_ids"], Json::array({"d1", "d2"}));
  EXPECT_EQ(first["fixed_versions"], Json::array({"1.0-2"}));
  EXPECT_EQ(first["unfixed"], false);
  EXPECT_EQ(fleet.json["advisories"][1]["unfixed"], true);
  Reply only = Get("/api/v1/vulnerabilities", viewer_, {{"advisory", "CVE-2099-0002"}});
  ASSERT_EQ(only.json["count"], 1);
  EXPECT_EQ(only.json["advisories"][0]["device_ids"], Json::array({"d1"}));
  EXPECT_EQ(Get("/api/v1/vulnerabilities", viewer_, {{"status", "fixed"}}).json["findings"], 2);
}

// Posture: d1 and d2 sent scans (d2 two, the newer kept), listening ports and a firewall
// summary; d3 only listening ports; d4 nothing at all.
Json Check(const std::string& id, const std::string& severity, const std::string& result,
           const std::string& group = "ssh") {
  Json c = {{"id", id},         {"title", "Title of " + id},
            {"group", group},   {"severity", severity},
            {"result", result}, {"references", Json::array({"CIS Debian Linux 12 v1.1.0 " + id})}};
  if (result == "fail") {
    c["evidence"] = "found in " + id;
    c["remediation"] = "Fix " + id;
  }
  return c;
}

Json Scan(const std::string& version, Json checks) {
  int pass = 0, fail = 0, na = 0;
  for (const Json& c : checks) {
    pass += c["result"] == "pass";
    fail += c["result"] == "fail";
    na += c["result"] == "not_applicable";
  }
  Json summary = {{"pass", pass}, {"fail", fail}, {"not_applicable", na}, {"error", 0}};
  if (pass + fail > 0) summary["score"] = 100.0 * pass / (pass + fail);
  return {{"policy", {{"id", "vigil-linux-baseline"}, {"name", "Baseline"}, {"version", version}}},
          {"summary", summary},
          {"duration_ms", 12},
          {"disabled", 0},
          {"checks", std::move(checks)}};
}

Json Port(const std::string& protocol, const std::string& ip, int port, Json owner = Json::object()) {
  Json p = {{"protocol", protocol},
            {"family", ip.find(':') != std::string::npos ? "ipv6" : "ipv4"},
            {"local_ip", ip},
            {"local_port", port}};
  for (auto& [k, v] : owner.items()) p[k] = v;
  return p;
}

Json Chain(const std::string& family, const std::string& hook, const std::string& policy, int rules) {
  return {{"backend", "nftables"}, {"family", family}, {"table", "filter"}, {"chain", hook}, {"type", "filter"},
          {"hook", hook},          {"priority", 0},    {"policy", policy},  {"rules", rules}};
}

// A firewall event's data: `policies` maps "family/hook" to accept or drop (absent: accept with
// no base chain).
Json Firewall(bool available, Json chains, const std::map<std::string, std::string>& policies) {
  Json hp = Json::array();
  for (const std::string family : {"ip", "ip6"}) {
    for (const std::string hook : {"input", "forward", "output"}) {
      auto it = policies.find(family + "/" + hook);
      int n = 0;
      for (const Json& c : chains) n += c["hook"] == hook && (c["family"] == family || c["family"] == "inet");
      hp.push_back({{"family", family},
                    {"hook", hook},
                    {"policy", it == policies.end() ? "accept" : it->second},
                    {"chains", n}});
    }
  }
  Json backend = {{"name", "nftables"}, {"available", available}};
  if (!available) backend["error"] = "no permission";
  return {{"digest", std::string(64, 'a')},
          {"backends", Json::array({backend})},
          {"chains", chains},
          {"hook_policies", hp},
          {"table_count", 1},
          {"chain_count", chains.size()},
          {"rule_count", 0}};
}

class PostureApiTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    std::vector<Json> d1 = {
        // An older snapshot (telnet open then) that the newer one replaces.
        EventJson("d1", 1, kNow - 9 * kHour, "listening_ports", "snapshot",
                  {{"ports", Json::array({Port("tcp", "0.0.0.0", 23)})}}),
        EventJson("d1", 2, kNow - 5 * kHour, "listening_ports", "snapshot",
                  {{"ports", Json::array({Port("tcp", "0.0.0.0", 22,
                                               {{"pid", 612}, {"exe", "/usr/sbin/sshd"}, {"user", "root"}}),
                                          Port("tcp", "127.0.0.1", 631, {{"exe", "/usr/sbin/cupsd"}}),
                                          Port("udp", "::", 5353, {{"comm", "avahi-daemon"}})})}}),
        EventJson("d1", 3, kNow - 4 * kHour, "listening_ports", "opened",
                  Port("tcp", "192.168.1.10", 8080, {{"pid", 900}, {"comm", "python3"}})),
        EventJson("d1", 4, kNow - 3 * kHour, "listening_ports", "closed", Port("udp", "::", 5353)),
        EventJson("d1", 5, kNow - 3 * kHour, "firewall", "snapshot",
                  Firewall(true,
                           Json::array({Chain("inet", "input", "accept", 0), Chain("inet", "forward", "drop", 0)}),
                           {{"ip/forward", "drop"}, {"ip6/forward", "drop"}})),
        EventJson("d1", 6, kNow - 2 * kHour, "posture", "scan",
                  Scan("1", {Check("ssh-root-login", "high", "fail"), Check("ssh-protocol", "medium", "pass"),
                             Check("accounts-empty-password", "critical", "fail", "accounts"),
                             Check("fs-module-cramfs", "low", "fail", "filesystems"),
                             Check("svc-telnet-server", "high", "not_applicable", "services")})),
    };
    std::vector<Json> d2 = {
        EventJson("d2", 1, kNow - 6 * kHour, "posture", "scan",
                  Scan("old", {Check("ssh-root-login", "high", "pass"), Check("fs-module-cramfs", "low", "fail")})),
        EventJson("d2", 2, kNow - kHour, "posture", "scan",
                  Scan("2", {Check("ssh-root-login", "high", "fail"), Check("ssh-protocol", "medium", "pass"),
                             Check("accounts-empty-password", "critical", "pass", "accounts"),
                             Check("fs-module-cramfs", "low", "pass", "filesystems")})),
        // Input filtered by rules (not evaluated: not reported); forward and output by nothing.
        EventJson("d2", 3, kNow - kHour, "firewall", "snapshot",
                  Firewall(true, Json::array({Chain("inet", "input", "accept", 5)}), {})),
    };
    std::vector<Json> d3 = {
        EventJson(
            "d3", 1, kNow - kHour, "listening_ports", "snapshot",
            {{"ports", Json::array({Port("tcp", "::", 80, {{"exe", "/usr/sbin/lighttpd"}}), Port("udp", "::1", 53)})},
             {"ports_omitted", 4}}),
        EventJson("d3", 2, kNow - kHour, "firewall", "snapshot", Firewall(false, Json::array(), {})),
    };
    std::vector<BatchRows> batches(3);
    for (auto [i, events] : {std::pair{0, &d1}, std::pair{1, &d2}, std::pair{2, &d3}}) {
      batches[i].device = (*events)[0]["device"];
      for (const Json& j : *events) batches[i].events.push_back(Row(j));
    }
    auto r = store_->Ingest(batches, kNow - 1000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(store_->AddDevice("d4", "", kNow).ok());
  }

  static std::vector<std::string> Ids(const Json& list) {
    std::vector<std::string> out;
    for (const Json& item : list) out.push_back(item["id"]);
    return out;
  }
};

TEST_F(PostureApiTest, ADevicesScanWithFailedChecksAndNetworkRecommendationsBySeverityThenId) {
  Reply r = Get("/api/v1/devices/d1/posture", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["device"], "d1");
  const Json& scan = r.json["scan"];
  EXPECT_EQ(scan["ts"], kNow - 2 * kHour);
  EXPECT_EQ(scan["seq"], 6);
  EXPECT_EQ(scan["policy"]["id"], "vigil-linux-baseline");
  EXPECT_EQ(scan["summary"]["fail"], 3);
  EXPECT_EQ(scan["summary"]["not_applicable"], 1);
  EXPECT_EQ(scan["score"], 25.0);
  EXPECT_EQ(scan["checks"], 5);
  // critical, high (firewall/input < ssh-root-login), medium, low.
  EXPECT_THAT(Ids(r.json["recommendations"]),
              ElementsAre("accounts-empty-password", "firewall/input", "ssh-root-login", "port/tcp/22",
                          "firewall/output", "fs-module-cramfs", "port/tcp/8080"));
  EXPECT_EQ(r.json["count"], 7);
  const Json& check = r.json["recommendations"][2];
  EXPECT_EQ(check["source"], "check");
  EXPECT_EQ(check["title"], "Title of ssh-root-login");
  EXPECT_EQ(check["group"], "ssh");
  EXPECT_EQ(check["severity"], "high");
  EXPECT_EQ(check["references"], Json::array({"CIS Debian Linux 12 v1.1.0 ssh-root-login"}));
  EXPECT_EQ(check["evidence"], "found in ssh-root-login");
  EXPECT_EQ(check["remediation"], "Fix ssh-root-login");

  const Json& ssh = r.json["recommendations"][3];
  EXPECT_EQ(ssh["source"], "network");
  EXPECT_EQ(ssh["severity"], "medium");  // every address
  EXPECT_EQ(ssh["protocol"], "tcp");
  EXPECT_EQ(ssh["port"], 22);
  EXPECT_EQ(ssh["addresses"], Json::array({"0.0.0.0"}));
  EXPECT_THAT(ssh["evidence"].get<std::string>(), HasSubstr("/usr/sbin/sshd (pid 612, user root)"));
  EXPECT_THAT(ssh["remediation"].get<std::string>(), HasSubstr("22/tcp"));
  const Json& web = r.json["recommendations"][6];
  EXPECT_EQ(web["severity"], "low");  // one address
  EXPECT_EQ(web["addresses"], Json::array({"192.168.1.10"}));
  EXPECT_THAT(web["evidence"].get<std::string>(), HasSubstr("python3 (pid 900)"));

  const Json& input = r.json["recommendations"][1];
  EXPECT_EQ(input["hook"], "input");
  EXPECT_EQ(input["families"], Json::array({"ip", "ip6"}));
  EXPECT_THAT(input["evidence"].get<std::string>(), HasSubstr("no rules in nftables inet filter input"));
  EXPECT_THAT(input["remediation"].get<std::string>(), HasSubstr("policy drop"));
  EXPECT_THAT(r.json["recommendations"][4]["evidence"].get<std::string>(), HasSubstr("no filter chain"));

  // Port 23 was only in the older snapshot, 631 is loopback, 5353 closed since: none listed.
  for (const Json& rec : r.json["recommendations"]) {
    EXPECT_THAT(rec["id"].get<std::string>(), Not(AnyOf(HasSubstr("/23"), HasSubstr("/631"), HasSubstr("5353"))));
  }
  const Json& ports = r.json["network"]["listening_ports"];
  EXPECT_EQ(ports["snapshot_seq"], 2);
  EXPECT_EQ(ports["changes"], 2);
  EXPECT_EQ(ports["open"], 3);
  EXPECT_EQ(r.json["network"]["firewall"]["seq"], 5);
}

TEST_F(PostureApiTest, TheNewestScanIsShownAndRulesInAnAcceptChainAreNotReported) {
  Reply r = Get("/api/v1/devices/d2/posture", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["scan"]["policy"]["version"], "2");
  EXPECT_EQ(r.json["scan"]["score"], 75.0);
  // Input has rules (not evaluated, so not reported); nothing filters forward and output.
  EXPECT_THAT(Ids(r.json["recommendations"]), ElementsAre("ssh-root-login", "firewall/forward", "firewall/output"));
  EXPECT_EQ(r.json["recommendations"][1]["severity"], "medium");
  EXPECT_TRUE(r.json["network"]["listening_ports"].is_null());
}

TEST_F(PostureApiTest, ADeviceWithoutAScanGetsNullAndItsNetworkRecommendations) {
  Reply r = Get("/api/v1/devices/d3/posture", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.json["scan"].is_null());
  // An unreadable firewall says nothing; ::1 is loopback.
  EXPECT_THAT(Ids(r.json["recommendations"]), ElementsAre("port/tcp/80"));
  EXPECT_EQ(r.json["recommendations"][0]["addresses"], Json::array({"::"}));
  EXPECT_THAT(r.json["recommendations"][0]["evidence"].get<std::string>(), HasSubstr("[::]:80"));
  EXPECT_EQ(r.json["network"]["listening_ports"]["ports_omitted"], 4);
  EXPECT_EQ(r.json["network"]["listening_ports"]["open"], 2);
  Reply none = Get("/api/v1/devices/d4/posture", viewer_);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.json["scan"].is_null());
  EXPECT_EQ(none.json["recommendations"], Json::array());
  EXPECT_TRUE(none.json["network"]["listening_ports"].is_null());
  EXPECT_TRUE(none.json["network"]["firewall"].is_null());
  EXPECT_EQ(Get("/api/v1/devices/ghost/posture", viewer_).status, 404);
}

// A firewall event lists at most 512 chains: hooks whose chains were all left out are not judged.
TEST_F(PostureApiTest, HooksWhoseChainsWereLeftOutOfTheEventAreNotReported) {
  Json omitted = Firewall(true, Json::array(), {});
  for (Json& hp : omitted["hook_policies"]) hp["chains"] = 1;
  omitted["chains_omitted"] = 600;
  Json complete = Firewall(true, Json::array(), {});
  std::vector<BatchRows> batches(2);
  batches[0].device = "d5";
  batches[0].events = {Row(EventJson("d5", 1, kNow - kHour, "firewall", "snapshot", omitted))};
  batches[1].device = "d6";
  batches[1].events = {Row(EventJson("d6", 1, kNow - kHour, "firewall", "snapshot", complete))};
  ASSERT_TRUE(store_->Ingest(batches, kNow).ok());
  Reply d5 = Get("/api/v1/devices/d5/posture", viewer_);
  ASSERT_EQ(d5.status, 200) << d5.body;
  EXPECT_EQ(d5.json["recommendations"], Json::array());
  EXPECT_EQ(d5.json["network"]["firewall"]["seq"], 1);
  Reply d6 = Get("/api/v1/devices/d6/posture", viewer_);
  EXPECT_THAT(Ids(d6.json["recommendations"]), ElementsAre("firewall/input", "firewall/forward", "firewall/output"));
  EXPECT_THAT(d6.json["recommendations"][0]["evidence"].get<std::string>(),
              HasSubstr("ip input: policy accept, no filter chain; ip6 input"));
}

TEST_F(PostureApiTest, SeverityKeepsTheMoreSevereAndBadParametersAre400NamingThem) {
  Reply high = Get("/api/v1/devices/d1/posture", viewer_, {{"severity", "high"}});
  ASSERT_EQ(high.status, 200) << high.body;
  EXPECT_THAT(Ids(high.json["recommendations"]),
              ElementsAre("accounts-empty-password", "firewall/input", "ssh-root-login"));
  Reply bad = Get("/api/v1/devices/d1/posture", viewer_, {{"severity", "urgent"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.json["error"].get<std::string>(), HasSubstr("severity"));
  Reply unknown = Get("/api/v1/devices/d1/posture", viewer_, {{"limit", "5"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.json["error"].get<std::string>(), HasSubstr("limit"));
  Reply fleet_bad = Get("/api/v1/posture", viewer_, {{"severity", "none"}});
  EXPECT_EQ(fleet_bad.status, 400);
  EXPECT_THAT(fleet_bad.json["error"].get<std::string>(), HasSubstr("severity"));
  Reply fleet_limit = Get("/api/v1/posture", viewer_, {{"limit", "0"}});
  EXPECT_EQ(fleet_limit.status, 400);
  EXPECT_THAT(fleet_limit.json["error"].get<std::string>(), HasSubstr("limit"));
}

TEST_F(PostureApiTest, TheFleetViewCountsFailingDevicesPerCheckMostFirstThenSeverity) {
  Reply r = Get("/api/v1/posture", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["device_count"], 2);
  const Json& d1 = r.json["devices"][0];
  EXPECT_EQ(d1["device"], "d1");
  EXPECT_EQ(d1["score"], 25.0);
  EXPECT_EQ(d1["pass"], 1);
  EXPECT_EQ(d1["fail"], 3);
  EXPECT_EQ(d1["ts"], kNow - 2 * kHour);
  EXPECT_EQ(r.json["devices"][1]["device"], "d2");
  EXPECT_EQ(r.json["mean_score"], 50.0);
  EXPECT_EQ(r.json["unscanned"], 2);
  EXPECT_EQ(r.json["unscanned_ids"], Json::array({"d3", "d4"}));
  // ssh-root-login fails on both; then one device each, critical before low.
  EXPECT_THAT(Ids(r.json["checks"]), ElementsAre("ssh-root-login", "accounts-empty-password", "fs-module-cramfs"));
  const Json& ssh = r.json["checks"][0];
  EXPECT_EQ(ssh["failing"], 2);
  EXPECT_EQ(ssh["passing"], 0);
  EXPECT_EQ(ssh["device_ids"], Json::array({"d1", "d2"}));
  EXPECT_EQ(ssh["policy"], "vigil-linux-baseline");
  EXPECT_EQ(ssh["remediation"], "Fix ssh-root-login");
  EXPECT_EQ(r.json["checks"][2]["passing"], 1);  // d2's newest scan passes it
  EXPECT_EQ(r.json["failed_checks"], 3);

  Reply high = Get("/api/v1/posture", viewer_, {{"severity", "critical"}});
  EXPECT_THAT(Ids(high.json["checks"]), ElementsAre("accounts-empty-password"));
  Reply one = Get("/api/v1/posture", viewer_, {{"limit", "1"}});
  EXPECT_EQ(one.json["count"], 1);
  EXPECT_EQ(one.json["truncated"], true);
  EXPECT_EQ(one.json["failed_checks"], 3);
}

TEST_F(PostureApiTest, TheFleetViewNamesAtMostTwentyFailingDevicesPerCheck) {
  std::vector<BatchRows> batches;
  for (int i = 0; i < 25; ++i) {
    BatchRows b;
    b.device = "m" + std::to_string(100 + i);
    b.events.push_back(Row(EventJson(b.device, 1, kNow - kHour, "posture", "scan",
                                     Scan("1", Json::array({Check("ssh-root-login", "high", "fail")})))));
    batches.push_back(std::move(b));
  }
  ASSERT_TRUE(store_->Ingest(batches, kNow).ok());
  Reply r = Get("/api/v1/posture", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json& ssh = r.json["checks"][0];
  EXPECT_EQ(ssh["id"], "ssh-root-login");
  EXPECT_EQ(ssh["failing"], 27);
  EXPECT_EQ(ssh["device_ids"].size(), 20u);
  EXPECT_EQ(ssh["device_ids"][0], "d1");
  EXPECT_EQ(ssh["device_ids_truncated"], true);
  EXPECT_EQ(r.json["device_count"], 27);
}

TEST(OpenApi, DescribesExactlyTheRoutesTheServerRegisters) {
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::Load(std::string(OpenApiYaml())));
  EXPECT_EQ(doc["openapi"].as<std::string>().substr(0, 2), "3.");
  std::set<std::pair<std::string, std::string>> in_file;
  std::map<std::pair<std::string, std::string>, bool> file_public;
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters" || method == "summary" || method == "description") continue;
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      auto key = std::pair{method, path.first.as<std::string>()};
      in_file.insert(key);
      const YAML::Node security = op.second["security"];
      file_public[key] = security && security.IsSequence() && security.size() == 0;
      // Every path parameter of the template is declared (directly or by $ref).
      EXPECT_TRUE(op.second["responses"]) << key.second;
    }
  }
  std::set<std::pair<std::string, std::string>> in_server;
  for (const ApiRoute& r : ApiRoutes()) {
    auto key = std::pair{std::string(r.method), std::string(r.path)};
    in_server.insert(key);
    EXPECT_EQ(file_public[key], r.access == RouteAccess::kPublic) << key.first << " " << key.second;
    // A protected route documents 401; a write route documents 403.
    if (in_file.count(key) == 0) continue;
    std::string method_lower = key.first;
    for (char& c : method_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    YAML::Node responses = doc["paths"][key.second][method_lower]["responses"];
    if (r.access != RouteAccess::kPublic) {
      EXPECT_TRUE(responses["401"]) << key.second;
    }
    if (r.access == RouteAccess::kWrite) {
      EXPECT_TRUE(responses["403"]) << key.second;
    }
  }
  EXPECT_EQ(in_file, in_server);
  EXPECT_EQ(in_server.size(), ApiRoutes().size());  // no route registered twice
}

}  // namespace
}  // namespace vigil::hub
