// The whole system with real processes: vigil-agent -> Mosquitto (TLS, client certificates, the
// ACL vigil-hub generated) -> vigil-hub (SQLite) -> its HTTP API and `vigil-hub query`.
//
// Each test builds it the way an operator does, with the vigil-hub command line: broker-config,
// enroll, token create, serve. Devices other than the real agent are MQTT clients holding
// certificates from `vigil-hub enroll`, publishing batches made with the agent's own encoder.
// Tests wait on what the API shows (polled with a deadline), never on time alone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/core/batch.h"
#include "agent/core/event.h"
#include "hub/ingest/test_events.h"
#include "tests/integration/mqtt_fixture.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::MosquittoBroker;
using testing::MqttClient;
using testing::RunCommand;
using namespace std::chrono_literals;

// A child process with its stdout and stderr in a log file.
class Child {
 public:
  static std::unique_ptr<Child> Start(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_t pid = fork();
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      return nullptr;
    }
    if (pid == 0) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      int null = ::open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      if (null >= 0) dup2(null, 0);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    return std::unique_ptr<Child>(new Child(pid, log_path));
  }
  ~Child() { Stop(SIGKILL); }

  // Sends the signal and waits (SIGKILL after 10 s); returns the wait status.
  int Stop(int sig) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, sig);
    for (int i = 0; i < 1000; ++i) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return status_;
      }
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  Child(pid_t pid, std::string log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::string log_;
  int status_ = 0;
};

// Polls `pred` every 50 ms until it is true or the timeout passes.
bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

using hub::testing::Heartbeat;

std::string Batch(const std::string& device, uint64_t first, uint64_t last) {
  return hub::testing::EncodeBatch(device, hub::testing::Heartbeats(device, first, last));
}

class HubSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-hub-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    broker_port_ = MosquittoBroker::FreePort();
    http_port_ = MosquittoBroker::FreePort();
    ASSERT_GT(broker_port_, 0);
    ASSERT_GT(http_port_, 0);
    ASSERT_TRUE(Hub({"broker-config", "--out", dir_ + "/broker", "--port", std::to_string(broker_port_), "--listen",
                     "127.0.0.1", "--hostname", "localhost", "--user", "root"}));
    MosquittoBroker::Options bo;
    bo.tls = true;
    bo.config_file = dir_ + "/broker/mosquitto.conf";
    bo.port = broker_port_;
    broker_ = std::make_unique<MosquittoBroker>(bo);
    ASSERT_TRUE(broker_->Start());
    std::string out;
    ASSERT_TRUE(Hub({"token", "create", "viewer", "--role", "viewer"}, &out));
    std::istringstream lines(out);  // the token on stdout; a note on stderr
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("vgl_")) token_ = line;
    ASSERT_FALSE(token_.empty()) << out;
    StartHub();
  }

  void TearDown() override {
    agent_.reset();
    if (hub_ && HasFailure()) std::fprintf(stderr, "hub log:\n%s\n", hub_->Log().c_str());
    hub_.reset();
    broker_.reset();
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "files kept in %s\n", dir_.c_str());
  }

  // Runs vigil-hub with the test's data dir; stdout into *out.
  bool Hub(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), VIGIL_HUB_BIN);
    args.push_back("--data-dir");
    args.push_back(dir_ + "/data");
    return RunCommand(args, out);
  }

  void StartHub(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {VIGIL_HUB_BIN, "serve",
                                     "--data-dir",  dir_ + "/data",
                                     "--mqtt",      "mqtts://localhost:" + std::to_string(broker_port_),
                                     "--http",      "127.0.0.1:" + std::to_string(http_port_),
                                     "--set",       "mqtt.ca_file=" + dir_ + "/data/ca/ca.crt",
                                     "--set",       "mqtt.cert_file=" + dir_ + "/data/hub.crt",
                                     "--set",       "mqtt.key_file=" + dir_ + "/data/hub.key",
                                     "--set",       "devices.check_interval=1s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    hub_ = Child::Start(argv, dir_ + "/hub.log");
    ASSERT_TRUE(hub_);
    ASSERT_TRUE(Eventually([&] { return Get("/api/v1/health").has_value(); }, 15s)) << hub_->Log();
  }

  std::optional<Json> Get(const std::string& path, const httplib::Params& params = {}) {
    httplib::Client c("127.0.0.1", http_port_);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    auto r = c.Get(path, params, {{"Authorization", "Bearer " + token_}});
    if (!r || r->status != 200) return std::nullopt;
    auto j = Json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  Json Device(const std::string& id) { return Get("/api/v1/devices/" + id).value_or(Json()); }
  uint64_t DeviceEvents(const std::string& id) {
    Json d = Device(id);
    return d.is_object() && d.contains("events") ? d["events"].get<uint64_t>() : 0;
  }
  // The version of the device's last reported document; "" before the first.
  std::string ReportedVersion(const std::string& id) {
    Json r = Device(id).value("reported", Json());
    return r.is_object() ? r.value("version", "") : "";
  }
  Json IngestStats() {
    auto s = Get("/api/v1/stats");
    return s ? (*s)["ingest"] : Json();
  }

  // An MQTT client holding a certificate from `vigil-hub enroll <device>`.
  std::unique_ptr<MqttClient> Device_Client(const std::string& device) {
    const std::string bundle = dir_ + "/" + device;
    EXPECT_TRUE(Hub({"enroll", device, "--broker", "mqtts://localhost:" + std::to_string(broker_port_), "--out", bundle,
                     "--install-dir", bundle}));
    MqttClient::Options o;
    o.client_id = "vigil-" + device;
    o.ca_file = bundle + "/ca.crt";
    o.cert_file = bundle + "/device.crt";
    o.key_file = bundle + "/device.key";
    auto c = MqttClient::Create(o);
    if (!c || !c->Connect(*broker_)) {
      ADD_FAILURE() << "device " << device << " cannot connect: " << (c ? c->last_error() : "");
      return nullptr;
    }
    return c;
  }

  std::string dir_;
  int broker_port_ = 0, http_port_ = 0;
  std::string token_;
  std::unique_ptr<MosquittoBroker> broker_;
  std::unique_ptr<Child> hub_;
  std::unique_ptr<Child> agent_;
};

TEST_F(HubSystem, AProcessStartedHereIsFoundThroughTheApiAndTheQueryCommand) {
  const std::string device = "e2e-agent";
  const std::string bundle = dir_ + "/agent";
  ASSERT_TRUE(Hub({"enroll", device, "--broker", "mqtts://localhost:" + std::to_string(broker_port_), "--out", bundle,
                   "--install-dir", bundle}));
  agent_ = Child::Start({VIGIL_AGENT_BIN, "run", "--config", bundle + "/agent.yml", "--set",
                         "agent.state_dir=" + dir_ + "/agent-state", "--set", "process.priority=high"},
                        dir_ + "/agent.log");
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(Eventually([&] { return Device(device).value("state", "") == "online"; }, 30s)) << agent_->Log();

  const std::string marker = "vigil-e2e-marker-" + std::to_string(std::random_device{}());
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/true", "/bin/true", marker.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  waitpid(pid, &status, 0);

  // (`vigil-hub query` below carries the marker in its own command line, and is seen too.)
  const std::string filter =
      "type = process and action = exec and exe endswith \"/true\" and cmdline contains \"" + marker + "\"";
  Json found;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Get("/api/v1/events", {{"filter", filter}});
        if (!r || (*r)["events"].empty()) return false;
        found = (*r)["events"][0]["event"];
        return true;
      },
      30s))
      << agent_->Log();
  EXPECT_EQ(found["device"], device);
  EXPECT_EQ(found["data"]["exe"], "/usr/bin/true");
  EXPECT_EQ(found["data"]["pid"], pid);

  std::string out;
  ASSERT_TRUE(Hub({"query", filter, "--since", "1h", "--format", "json"}, &out));
  Json line = Json::parse(out.substr(out.find('{'), out.find('\n', out.find('{')) - out.find('{')), nullptr, false);
  ASSERT_FALSE(line.is_discarded()) << out;
  EXPECT_EQ(line["seq"], found["seq"]);
  EXPECT_NE(line["data"]["cmdline"].get<std::string>().find(marker), std::string::npos);

  Json d = Device(device);
  EXPECT_EQ(d["state"], "online");
  EXPECT_FALSE(d["agent_version"].get<std::string>().empty());
}

TEST_F(HubSystem, ADesiredConfigurationReachesTheAgentAndItsOutcomeIsShown) {
  std::string out;
  ASSERT_TRUE(Hub({"token", "create", "admin", "--role", "admin"}, &out));
  std::string admin;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("vgl_")) admin = line;
  ASSERT_FALSE(admin.empty()) << out;
  const std::string device = "e2e-config";
  const std::string bundle = dir_ + "/agent";
  ASSERT_TRUE(Hub({"enroll", device, "--broker", "mqtts://localhost:" + std::to_string(broker_port_), "--out", bundle,
                   "--install-dir", bundle}));
  agent_ = Child::Start(
      {VIGIL_AGENT_BIN, "run", "--config", bundle + "/agent.yml", "--set", "agent.state_dir=" + dir_ + "/agent-state"},
      dir_ + "/agent.log");
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(Eventually([&] { return Device(device).value("state", "") == "online"; }, 30s)) << agent_->Log();

  httplib::Client c("127.0.0.1", http_port_);
  auto put = [&](const std::string& token, const Json& body) {
    auto r = c.Put("/api/v1/devices/" + device + "/config", {{"Authorization", "Bearer " + token}}, body.dump(),
                   "application/json");
    return r ? r->status : -1;
  };
  EXPECT_EQ(put(token_, {{"version", "v7"}, {"config", {{"heartbeat", {{"interval", "30s"}}}}}}), 403);  // a viewer
  ASSERT_EQ(put(admin, {{"version", "v7"}, {"config", {{"heartbeat", {{"interval", "30s"}}}}}}), 200);
  ASSERT_TRUE(Eventually([&] { return ReportedVersion(device) == "v7"; }, 30s))
      << Device(device).dump() << agent_->Log();
  Json reported = Device(device)["reported"];
  EXPECT_EQ(reported["applied"], true) << reported.dump();
  EXPECT_EQ(reported["config"]["heartbeat"]["interval"], "30s") << reported.dump();

  // An invalid document is refused whole by the agent, which names the field.
  ASSERT_EQ(put(admin, {{"version", "v8"}, {"config", {{"process", {{"mode", "fast"}}}}}}), 200);
  ASSERT_TRUE(Eventually([&] { return ReportedVersion(device) == "v8"; }, 30s)) << Device(device).dump();
  reported = Device(device)["reported"];
  EXPECT_EQ(reported["applied"], false);
  ASSERT_FALSE(reported["invalid"].empty()) << reported.dump();
  EXPECT_EQ(reported["invalid"][0]["key"], "process.mode");
  EXPECT_EQ(Device(device)["desired"].value("version", ""), "v8");
}

TEST_F(HubSystem, TheSameBatchDeliveredTwiceIsStoredOnceAndAGapIsReported) {
  auto dev = Device_Client("dev-b");
  ASSERT_TRUE(dev);
  const std::string topic = "vigil/v1/dev-b/events";
  ASSERT_TRUE(dev->Publish(topic, Batch("dev-b", 1, 10)));
  ASSERT_TRUE(dev->Publish(topic, Batch("dev-b", 1, 10)));
  ASSERT_TRUE(dev->Publish(topic, Batch("dev-b", 15, 20)));
  ASSERT_TRUE(Eventually([&] { return IngestStats().value("messages", 0) >= 3 && IngestStats()["queued"] == 0; }, 20s));
  ASSERT_TRUE(Eventually([&] { return DeviceEvents("dev-b") == 16; }, 10s)) << Device("dev-b").dump();
  Json d = Device("dev-b");
  EXPECT_EQ(d["missing"], 4);
  auto gaps = Get("/api/v1/devices/dev-b/gaps");
  ASSERT_TRUE(gaps);
  ASSERT_EQ((*gaps)["gaps"].size(), 1u) << gaps->dump();
  EXPECT_EQ((*gaps)["gaps"][0]["first"], 11);
  EXPECT_EQ((*gaps)["gaps"][0]["last"], 14);
  EXPECT_EQ(IngestStats()["duplicates"], 10);
}

TEST_F(HubSystem, MalformedOversizedAndBombMessagesAreRejectedAndCountedTheRestStored) {
  hub_->Stop(SIGTERM);
  StartHub({"--set", "mqtt.max_message_size=64KB", "--set", "mqtt.max_raw_size=1MB"});
  auto dev = Device_Client("dev-m");
  ASSERT_TRUE(dev);
  const std::string topic = "vigil/v1/dev-m/events";
  ASSERT_TRUE(dev->Publish(topic, "\x01not zstd"));
  ASSERT_TRUE(dev->Publish(topic, std::string(100 * 1024, 'x')));  // over 64 KB
  // 16 MiB of spaces is a few hundred bytes compressed: refused once 1 MiB is decompressed.
  {
    BatchEncoder::Options o;
    o.max_raw_bytes = 32 << 20;
    o.max_message_bytes = 1 << 20;
    BatchEncoder enc(o);
    enc.Begin("dev-m");
    Event e = Heartbeat("dev-m", 100);
    std::string line = EventToJsonLine(e);
    line.insert(line.size() - 1, std::string(16 << 20, ' '));  // whitespace inside the object
    ASSERT_EQ(enc.Add(line, 100), BatchEncoder::AddResult::kAdded);
    std::string bomb(enc.Finish());
    ASSERT_LT(bomb.size(), 64u * 1024);
    ASSERT_TRUE(dev->Publish(topic, bomb));
  }
  Event bad = Heartbeat("dev-m", 50);
  bad.data = {{"uptime_s", "soon"}};
  {
    BatchEncoder enc(BatchEncoder::Options{});
    enc.Begin("dev-m");
    enc.Add(EventToJsonLine(Heartbeat("dev-m", 49)), 49);
    enc.Add(EventToJsonLine(bad), 50);
    ASSERT_TRUE(dev->Publish(topic, std::string(enc.Finish())));
  }
  ASSERT_TRUE(dev->Publish(topic, Batch("dev-m", 1, 5)));
  ASSERT_TRUE(Eventually([&] { return DeviceEvents("dev-m") == 5; }, 20s)) << hub_->Log();
  ASSERT_TRUE(Eventually([&] { return IngestStats().value("rejected", 0) == 4; }, 10s)) << IngestStats().dump();
  Json by = IngestStats()["rejected_by_reason"];
  EXPECT_EQ(by["bad_batch"], 2) << by.dump();  // not zstd, and the bomb
  EXPECT_EQ(by["too_large"], 1) << by.dump();
  EXPECT_EQ(by["bad_event"], 1) << by.dump();
  // Nothing of the refused batches was stored: seq 49 went with its invalid neighbour.
  auto count = Get("/api/v1/events/count", {{"filter", "device = dev-m and seq >= 49"}});
  ASSERT_TRUE(count);
  EXPECT_EQ((*count)["count"], 0);
}

TEST_F(HubSystem, ADevicePublishingUnderAnotherDevicesIdIsRefusedByTheBroker) {
  auto dev = Device_Client("dev-x");
  ASSERT_TRUE(dev);
  EXPECT_FALSE(dev->Publish("vigil/v1/dev-y/events", Batch("dev-y", 1, 3)));
  EXPECT_NE(dev->last_error().find("authori"), std::string::npos) << dev->last_error();
  ASSERT_TRUE(dev->Publish("vigil/v1/dev-x/events", Batch("dev-x", 1, 3)));
  ASSERT_TRUE(Eventually([&] { return DeviceEvents("dev-x") == 3; }, 20s));
  // The refused message was published first: had it reached the hub it would be stored by now.
  httplib::Client c("127.0.0.1", http_port_);
  auto r = c.Get("/api/v1/devices/dev-y", {{"Authorization", "Bearer " + token_}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(IngestStats()["messages"], 1);
}

TEST_F(HubSystem, TheHubKilledAndRestartedLosesNothing) {
  auto dev = Device_Client("dev-k");
  ASSERT_TRUE(dev);
  constexpr int kBatches = 200, kPerBatch = 50;
  std::atomic<int> published{0};
  std::atomic<bool> failed{false};
  std::thread publisher([&] {
    for (int b = 0; b < kBatches; ++b) {
      uint64_t first = static_cast<uint64_t>(b) * kPerBatch + 1;
      if (!dev->Publish("vigil/v1/dev-k/events", Batch("dev-k", first, first + kPerBatch - 1))) failed = true;
      ++published;
    }
  });
  // Kill the hub mid-stream, with messages stored, some taken and not stored, and more coming.
  ASSERT_TRUE(Eventually([&] { return DeviceEvents("dev-k") >= 20 * kPerBatch; }, 30s));
  hub_->Stop(SIGKILL);
  const int published_at_kill = published.load();
  StartHub();
  publisher.join();
  EXPECT_FALSE(failed);
  EXPECT_LT(published_at_kill, kBatches);  // the kill fell mid-stream
  ASSERT_TRUE(Eventually([&] { return DeviceEvents("dev-k") == kBatches * kPerBatch; }, 60s))
      << Device("dev-k").dump() << "\n"
      << hub_->Log();
  Json d = Device("dev-k");
  EXPECT_EQ(d["missing"], 0);
  EXPECT_EQ(d["min_seq"], 1);
  EXPECT_EQ(d["max_seq"], kBatches * kPerBatch);
}

// A login failure from `source` as the login collector reports it.
Event LoginFailure(const std::string& device, uint64_t seq, int64_t ts, const std::string& source) {
  Event e;
  e.device = device;
  e.seq = seq;
  e.ts_ms = ts;
  e.type = "login";
  e.action = "failure";
  e.priority = Priority::kHigh;
  e.data = {{"user", "root"},
            {"source_ip", source},
            {"source_port", 40000},
            {"method", "password"},
            {"service", "sshd"},
            {"result", "failed"},
            {"pid", 600},
            {"source", "auth_log"},
            {"message", "Failed password for root from " + source + " port 40000 ssh2"}};
  return e;
}

Event Connect(const std::string& device, uint64_t seq, int64_t ts, const std::string& remote) {
  Event e;
  e.device = device;
  e.seq = seq;
  e.ts_ms = ts;
  e.type = "network";
  e.action = "connect";
  e.priority = Priority::kMedium;
  e.data = {{"pid", 5100},
            {"exe", "/usr/bin/wget"},
            {"uid", 0},
            {"user", "root"},
            {"protocol", "tcp"},
            {"family", "ipv4"},
            {"local_ip", "192.168.1.20"},
            {"local_port", 41152},
            {"remote_ip", remote},
            {"remote_port", 80},
            {"direction", "outbound"},
            {"initiated", true}};
  return e;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(HubSystem, OneSourceFailingLoginsOnThreeDevicesRaisesTheFleetAlertShownByTheApiAndTheCli) {
  const int64_t t0 = NowMs() - 60'000;
  std::vector<std::unique_ptr<MqttClient>> devices;
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "dev-l" + std::to_string(i);
    devices.push_back(Device_Client(id));
    ASSERT_TRUE(devices.back());
    // Two failures from the scanner on every device, and one from a source of its own.
    std::vector<Event> events = {LoginFailure(id, 1, t0 + i * 1000, "192.0.2.30"),
                                 LoginFailure(id, 2, t0 + i * 1000 + 100, "192.0.2.30"),
                                 LoginFailure(id, 3, t0 + i * 1000 + 200, "192.0.2." + std::to_string(100 + i))};
    ASSERT_TRUE(devices.back()->Publish("vigil/v1/" + id + "/events", hub::testing::EncodeBatch(id, events)));
    if (i == 2) {
      // Two devices: below the rule's threshold of three, so no alert yet.
      ASSERT_TRUE(
          Eventually([&] { return Get("/api/v1/stats").value_or(Json())["analyze"].value("processed", 0) == 6; }, 20s))
          << hub_->Log();
      auto none = Get("/api/v1/alerts");
      ASSERT_TRUE(none);
      EXPECT_TRUE((*none)["alerts"].empty()) << none->dump();
    }
  }
  Json alerts;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Get("/api/v1/alerts", {{"origin", "hub"}});
        if (!r || (*r)["alerts"].empty()) return false;
        alerts = (*r)["alerts"];
        return true;
      },
      20s))
      << hub_->Log();
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();  // the second failure on dev-l3 is suppressed
  const Json& a = alerts[0];
  EXPECT_EQ(a["origin"], "hub");
  EXPECT_EQ(a["device"], "dev-l3");
  EXPECT_EQ(a["status"], "new");
  EXPECT_EQ(a["level"], "medium");
  EXPECT_EQ(a["alert"]["data"]["rule_name"], "login_failures_across_devices");
  EXPECT_EQ(a["alert"]["data"]["group"]["source_ip"], "192.0.2.30") << a.dump();

  // The operator acknowledges it from the command line; the API shows the change.
  std::string out;
  ASSERT_TRUE(Hub({"alerts", "--status", "new", "--format", "json"}, &out));
  EXPECT_NE(out.find("login_failures_across_devices"), std::string::npos) << out;
  ASSERT_TRUE(Hub({"alert-status", std::to_string(a["id"].get<int64_t>()), "acknowledged", "--note", "scanner"}, &out));
  auto after = Get("/api/v1/alerts/" + std::to_string(a["id"].get<int64_t>()));
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)["status"], "acknowledged");
  EXPECT_EQ((*after)["note"], "scanner");
}

TEST_F(HubSystem, AThreatIntelListUpdatedAndReloadedBySighupAppliesToTheNextConnection) {
  const std::string lists = dir_ + "/lists";
  fs::create_directories(lists);
  std::ofstream(lists + "/threat_intel_ips.txt") << "203.0.113.66\n";
  hub_->Stop(SIGTERM);
  StartHub({"--set", "analyze.lists=" + lists});
  auto dev = Device_Client("dev-t");
  ASSERT_TRUE(dev);
  const std::string topic = "vigil/v1/dev-t/events";
  const int64_t t0 = NowMs() - 10'000;
  ASSERT_TRUE(dev->Publish(topic, hub::testing::EncodeBatch("dev-t", {Connect("dev-t", 1, t0, "198.51.100.7")})));
  ASSERT_TRUE(
      Eventually([&] { return Get("/api/v1/stats").value_or(Json())["analyze"].value("processed", 0) == 1; }, 20s))
      << hub_->Log();
  auto none = Get("/api/v1/alerts");
  ASSERT_TRUE(none);
  EXPECT_TRUE((*none)["alerts"].empty()) << none->dump();

  auto rules = Get("/api/v1/rules");
  ASSERT_TRUE(rules);
  EXPECT_TRUE((*rules)["errors"].empty()) << rules->dump();
  const int64_t loaded = (*rules)["loaded"];
  std::ofstream(lists + "/threat_intel_ips.txt") << "203.0.113.66\n198.51.100.0/24\n";
  hub_->Signal(SIGHUP);
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Get("/api/v1/rules");
        return r && (*r)["loaded"].get<int64_t>() > loaded;
      },
      10s))
      << hub_->Log();
  EXPECT_EQ(Get("/api/v1/rules").value_or(Json())["lists_only"], true);

  ASSERT_TRUE(
      dev->Publish(topic, hub::testing::EncodeBatch("dev-t", {Connect("dev-t", 2, t0 + 1000, "198.51.100.7")})));
  Json alerts;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Get("/api/v1/alerts", {{"device", "dev-t"}});
        if (!r || (*r)["alerts"].empty()) return false;
        alerts = (*r)["alerts"];
        return true;
      },
      20s))
      << hub_->Log();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["origin"], "hub");
  EXPECT_EQ(alerts[0]["alert"]["data"]["rule_name"], "threat_intel_address_connection");
  EXPECT_EQ(alerts[0]["level"], "high");
}

// The installed version of a Debian package on this machine.
std::string InstalledVersion(const std::string& package) {
  std::string out;
  EXPECT_TRUE(RunCommand({"/usr/bin/dpkg-query", "-W", "-f", "${Version}", package}, &out)) << package;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// An OSV record for Debian 12 saying `package` (a source package) is fixed in a version just
// above the installed one.
void WriteAdvisory(const std::string& path, const std::string& id, const std::string& package,
                   const std::string& installed) {
  Json osv = {{"schema_version", "1.6.0"},
              {"id", id},
              {"modified", "2026-12-01T00:00:00Z"},
              {"summary", "test advisory"},
              {"affected",
               {{{"package", {{"ecosystem", "Debian:12"}, {"name", package}}},
                 {"ranges", {{{"type", "ECOSYSTEM"}, {"events", {{{"introduced", "0"}}, {{"fixed", installed + "+vigil1"}}}}}}}}}}};
  std::ofstream(path) << osv.dump(2);
}

// This machine's packages and posture, end to end: the agent's sbom and posture events reach
// the hub, whose vulnerability feed matches the packages against imported advisories (imported
// before the inventory, and after it), and whose API shows the findings and the posture scan.
TEST_F(HubSystem, ThisMachinesPackagesAndPostureGiveFindingsAndRecommendationsInTheApi) {
  const std::string bash = InstalledVersion("bash");
  const std::string coreutils = InstalledVersion("coreutils");
  ASSERT_FALSE(bash.empty());
  ASSERT_FALSE(coreutils.empty());
  WriteAdvisory(dir_ + "/osv-bash.json", "VIGIL-TEST-BASH", "bash", bash);
  std::string out;
  ASSERT_TRUE(Hub({"vuln", "import", dir_ + "/osv-bash.json"}, &out)) << out;

  const std::string device = "e2e-sbom";
  const std::string bundle = dir_ + "/agent";
  ASSERT_TRUE(Hub({"enroll", device, "--broker", "mqtts://localhost:" + std::to_string(broker_port_), "--out", bundle,
                   "--install-dir", bundle}));
  agent_ = Child::Start({VIGIL_AGENT_BIN, "run", "--config", bundle + "/agent.yml", "--set",
                         "agent.state_dir=" + dir_ + "/agent-state", "--set", "sbom.priority=high", "--set",
                         "posture.priority=high", "--set", "posture.first_scan_delay=0s"},
                        dir_ + "/agent.log");
  ASSERT_TRUE(agent_);
  auto findings = [&](const std::string& advisory) {
    auto r = Get("/api/v1/devices/" + device + "/vulnerabilities");
    Json hit;
    if (r) {
      for (const Json& f : (*r)["findings"])
        if (f["advisory"] == advisory) hit = f;
    }
    return hit;
  };
  Json hit;
  ASSERT_TRUE(Eventually([&] { return !(hit = findings("VIGIL-TEST-BASH")).is_null(); }, 60s))
      << Get("/api/v1/stats").value_or(Json()).dump() << agent_->Log();
  EXPECT_EQ(hit["package"], "bash");
  EXPECT_EQ(hit["version"], bash);
  EXPECT_EQ(hit["status"], "fixed");
  EXPECT_EQ(hit["fixed_version"], bash + "+vigil1");

  // Data imported after the inventory is matched against the stored packages.
  WriteAdvisory(dir_ + "/osv-coreutils.json", "VIGIL-TEST-COREUTILS", "coreutils", coreutils);
  ASSERT_TRUE(Hub({"vuln", "import", dir_ + "/osv-coreutils.json"}, &out)) << out;
  ASSERT_TRUE(Eventually([&] { return !findings("VIGIL-TEST-COREUTILS").is_null(); }, 20s));
  auto fleet = Get("/api/v1/vulnerabilities");
  ASSERT_TRUE(fleet);
  EXPECT_EQ((*fleet)["devices"], 1);
  EXPECT_GE((*fleet)["count"].get<int>(), 2);

  // The posture scan the agent ran at start, with the baseline's failed checks as recommendations.
  Json posture;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = Get("/api/v1/devices/" + device + "/posture");
        if (!r || !(*r)["scan"].is_object()) return false;
        posture = *r;
        return true;
      },
      60s))
      << agent_->Log();
  EXPECT_EQ(posture["scan"]["policy"]["id"], "vigil-linux-baseline") << posture.dump();
  const Json& summary = posture["scan"]["summary"];
  EXPECT_GT(summary["pass"].get<int>() + summary["fail"].get<int>(), 50) << summary.dump();
  size_t checks = 0;
  for (const Json& r : posture["recommendations"]) {
    if (r["source"] != "check") continue;
    ++checks;
    EXPECT_TRUE(r["remediation"].is_string() && !r["remediation"].get<std::string>().empty()) << r.dump();
  }
  EXPECT_EQ(checks, summary["fail"].get<size_t>()) << posture.dump();
}

}  // namespace
}  // namespace vigil
