// The real agent sending to a real Mosquitto over TLS with client certificates: events arrive in
// order and complete through broker outages, agent crashes and spool damage; a rejected
// certificate is a clear error; remote configuration is applied or refused whole.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/core/batch.h"
#include "agent/core/spool_format.h"
#include "tests/integration/agent_harness.h"
#include "tests/integration/mqtt_fixture.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Json = nlohmann::json;

constexpr const char* kDevice = "dev-uplink";

class Uplink : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-uplink-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pki_ = TestPki::Create();
    ASSERT_TRUE(pki_);
    auto device = pki_->ClientCert(kDevice);
    auto hub = pki_->ClientCert("hub");
    ASSERT_TRUE(device && hub);
    device_ = *device;
    hub_ = *hub;
    MosquittoBroker::Options o;
    o.tls = true;
    o.pki = pki_.get();
    // The broker keeps the test subscriber's session (and the messages queued for it) across
    // its own restarts.
    o.extra_config = "persistence true\npersistence_location " + dir_ + "/\n";
    broker_ = std::make_unique<MosquittoBroker>(o);
    ASSERT_TRUE(broker_->Start());
    ConnectSubscriber();
  }

  void TearDown() override {
    agent_.reset();
    subscriber_.reset();
    broker_.reset();
    if (!HasFailure()) (void)std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  // (Re)connects the test's subscriber; what the previous one received is kept.
  void ConnectSubscriber() {
    if (subscriber_) {
      earlier_events_ = Events();
      decoded_.clear();
      decoded_messages_ = 0;
    }
    MqttClient::Options o;
    o.client_id = "test-hub";
    o.ca_file = pki_->ca_file();
    o.cert_file = hub_.cert;
    o.key_file = hub_.key;
    o.clean_start = false;
    o.session_expiry_seconds = 3600;
    subscriber_ = MqttClient::Create(o);
    ASSERT_TRUE(subscriber_);
    ASSERT_TRUE(subscriber_->Connect(*broker_)) << subscriber_->last_error();
    ASSERT_TRUE(subscriber_->Subscribe("vigil/v1/+/#", 1)) << subscriber_->last_error();
  }

  std::string Config(const std::string& extra = "") const {
    // The harness writes "agent:\n  state_dir: ...\n" first: these lines continue that section.
    return std::string("  device_id: ") + kDevice +
           "\n"
           "process:\n  priority: high\n"
           "stats:\n  interval: 1s\n  priority: high\n"
           "uplink:\n  ca_file: " + pki_->ca_file() + "\n  cert_file: " + device_.cert + "\n  key_file: " +
           device_.key + "\n  reconnect_min: 200ms\n  reconnect_max: 1s\n"
           "spool:\n  sync_interval: 50ms\n" + extra;
  }

  // Starts the agent and waits until its collectors run (events before that are not seen).
  std::unique_ptr<AgentProcess> StartAgent(const std::string& extra_config = "") {
    AgentProcess::Options o;
    o.config_yaml = Config(extra_config);
    o.output = broker_->url();
    o.dir = dir_;
    auto agent = AgentProcess::Start(o);
    if (agent && !agent->WaitForLog("running as device", seconds(20))) {
      ADD_FAILURE() << "the agent did not start:\n" << agent->Log();
      return nullptr;
    }
    return agent;
  }

  // Every event received so far, decoded, in arrival order. Fails the test on a bad message.
  std::vector<Json> Events() { return Events(subscriber_->Messages()); }
  // The same, from `current` (what a WaitFor predicate is given: it must not call Messages()).
  // Each message is decoded once: predicates run on every message received.
  std::vector<Json> Events(const std::vector<MqttClient::Message>& current) {
    for (; decoded_messages_ < current.size(); ++decoded_messages_) Decode(current[decoded_messages_], &decoded_);
    std::vector<Json> out = earlier_events_;
    out.insert(out.end(), decoded_.begin(), decoded_.end());
    return out;
  }

  void Decode(const MqttClient::Message& m, std::vector<Json>* out) {
    if (m.topic != std::string("vigil/v1/") + kDevice + "/events") return;
    auto batch = DecodeBatch(m.payload, 64 << 20);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok()) return;
    EXPECT_EQ(batch->device, kDevice);
    EXPECT_TRUE(batch->compressed);
    for (Json& e : batch->events) out->push_back(std::move(e));
  }

  // Waits until an exec of /bin/true with `marker` as its argument has arrived.
  bool WaitForMarker(const std::string& marker, milliseconds timeout = seconds(20)) {
    return subscriber_->WaitFor(
        [&](const std::vector<MqttClient::Message>& msgs) {
          for (const Json& e : Events(msgs))
            if (e.value("type", "") == "process" && e["data"].value("cmdline", "").find(marker) != std::string::npos)
              return true;
          return false;
        },
        timeout);
  }

  bool WaitForStatus(const std::string& state, milliseconds timeout = seconds(10)) {
    return subscriber_->WaitFor(
        [&](const std::vector<MqttClient::Message>& msgs) {
          for (auto it = msgs.rbegin(); it != msgs.rend(); ++it) {
            if (it->topic != std::string("vigil/v1/") + kDevice + "/status") continue;
            Json j = Json::parse(it->payload, nullptr, false);
            return j.is_object() && j.value("state", "") == state;
          }
          return false;
        },
        timeout);
  }

  // Runs /bin/true <prefix>-<i> for i in [from, to), one after the other.
  static void RunExecs(const std::string& prefix, int from, int to) {
    for (int i = from; i < to; ++i) Reap(Spawn({"/bin/true", prefix + "-" + std::to_string(i)}));
  }

  // Every seq from 1 to the highest arrived; a seq that arrived twice was the same event.
  static void ExpectContiguousFromOne(const std::vector<Json>& events) {
    std::map<uint64_t, Json> by_seq;
    for (const Json& e : events) {
      uint64_t seq = e["seq"].get<uint64_t>();
      auto [it, fresh] = by_seq.emplace(seq, e);
      if (!fresh) {
        EXPECT_EQ(it->second, e) << "seq " << seq << " arrived twice as different events";
      }
    }
    ASSERT_FALSE(by_seq.empty());
    EXPECT_EQ(by_seq.begin()->first, 1u);
    uint64_t expect = 1;
    std::vector<uint64_t> missing;
    for (const auto& [seq, _] : by_seq) {
      while (expect < seq) missing.push_back(expect++);
      expect = seq + 1;
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " seqs missing, first " << missing.front() << ", of "
                                 << by_seq.rbegin()->first;
  }

  std::string dir_;
  std::unique_ptr<TestPki> pki_;
  TestPki::CertAndKey device_, hub_;
  std::unique_ptr<MosquittoBroker> broker_;
  std::unique_ptr<MqttClient> subscriber_;
  std::vector<Json> earlier_events_;  // received by subscribers replaced since
  std::vector<Json> decoded_;         // from the current subscriber's first decoded_messages_
  size_t decoded_messages_ = 0;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(Uplink, EventsArriveInOrderWithContiguousSequenceNumbers) {
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(WaitForStatus("online")) << agent_->Log();
  RunExecs("order", 0, 200);
  ASSERT_TRUE(WaitForMarker("order-199")) << agent_->Log();
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
  ASSERT_TRUE(WaitForStatus("offline")) << "a clean stop says so";

  std::vector<Json> events = Events();
  ExpectContiguousFromOne(events);
  // Within a priority, events arrive in sequence order (one connection, nothing resent).
  std::map<std::string, uint64_t> last;
  std::set<std::string> markers;
  for (const Json& e : events) {
    uint64_t& prev = last[e["priority"].get<std::string>()];
    EXPECT_GT(e["seq"].get<uint64_t>(), prev);
    prev = e["seq"].get<uint64_t>();
    if (e["type"] == "process" && e["action"] == "exec") {
      std::string cmd = e["data"].value("cmdline", "");
      if (cmd.starts_with("/bin/true order-")) markers.insert(cmd);
    }
  }
  EXPECT_EQ(markers.size(), 200u);
}

TEST_F(Uplink, BrokerDownForTenSecondsLosesNothing) {
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(WaitForStatus("online")) << agent_->Log();
  RunExecs("before", 0, 20);
  ASSERT_TRUE(WaitForMarker("before-19"));
  subscriber_->Disconnect();
  ASSERT_TRUE(broker_->Stop());
  // Ten seconds without a broker, with events all along.
  const auto until = std::chrono::steady_clock::now() + seconds(10);
  int n = 0;
  while (std::chrono::steady_clock::now() < until) {
    RunExecs("during", n, n + 10);
    n += 10;
  }
  ASSERT_TRUE(broker_->Restart());
  ConnectSubscriber();
  ASSERT_TRUE(WaitForMarker("during-" + std::to_string(n - 1), seconds(30))) << agent_->Log();
  RunExecs("after", 0, 5);
  ASSERT_TRUE(WaitForMarker("after-4"));
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
  ASSERT_TRUE(WaitForStatus("offline"));
  ExpectContiguousFromOne(Events());
  EXPECT_NE(agent_->Log().find("lost"), std::string::npos) << "the outage is logged";
}

TEST_F(Uplink, SigkillMidStreamLosesNoSequenceNumber) {
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(WaitForStatus("online")) << agent_->Log();
  // Kill it while execs stream in: some are in the aggregator, the bus or the spool's buffer.
  pid_t stream = fork();
  ASSERT_GE(stream, 0);
  if (stream == 0) {
    RunExecs("stream", 0, 400);
    _exit(0);
  }
  ASSERT_TRUE(WaitForMarker("stream-"));
  EXPECT_EQ(agent_->Stop(SIGKILL), SIGKILL);
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  Reap(stream);
  RunExecs("restarted", 0, 10);
  ASSERT_TRUE(WaitForMarker("restarted-9")) << agent_->Log();
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
  ASSERT_TRUE(WaitForStatus("offline"));
  ExpectContiguousFromOne(Events());
}

TEST_F(Uplink, CorruptedSpoolTailIsReportedAndTheRestSent) {
  // The broker is away while the agent spools; the agent stops; its last segment loses its end.
  subscriber_->Disconnect();
  ASSERT_TRUE(broker_->Stop());
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  RunExecs("spooled", 0, 50);
  ASSERT_TRUE(agent_->WaitForLog("cannot connect", seconds(10)));
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
  // The newest high-priority segment holding these execs (other tests' execs may have filled
  // newer ones) loses the end of its last record.
  std::vector<std::string> segments;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/state/spool")) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("p0-") && name.ends_with(".seg")) segments.push_back(name);
  }
  std::sort(segments.rbegin(), segments.rend());
  std::string path;
  std::vector<std::string> kept;  // the markers of the records before the torn one
  for (const std::string& name : segments) {
    path = dir_ + "/state/spool/" + name;
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    spool::RecordScanner scanner(std::string_view(bytes).substr(spool::kFileHeaderBytes), spool::kFileHeaderBytes);
    std::vector<std::string> payloads;
    while (auto r = scanner.Next()) payloads.emplace_back(r->payload);
    if (!payloads.empty()) payloads.pop_back();
    for (const std::string& p : payloads) {
      size_t at = p.find("spooled-");
      if (at != std::string::npos) kept.push_back(p.substr(at, p.find_first_not_of("spooled-0123456789", at) - at));
    }
    if (!kept.empty()) break;
  }
  ASSERT_FALSE(kept.empty()) << "no segment holds the execs";
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 9);

  ASSERT_TRUE(broker_->Restart());
  ConnectSubscriber();
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  ASSERT_NE(agent_->Log().find("torn tail"), std::string::npos) << agent_->Log();
  std::set<std::string> missing(kept.begin(), kept.end());
  subscriber_->WaitFor(
      [&](const std::vector<MqttClient::Message>& msgs) {
        for (const Json& e : Events(msgs))
          if (e["type"] == "process") {
            // Other processes of the machine are seen too, some without a command line.
            const std::string cmdline = e["data"].value("cmdline", "");
            if (cmdline.starts_with("/bin/true ")) missing.erase(cmdline.substr(10));
          }
        return missing.empty();
      },
      seconds(20));
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << kept.size() << " not sent, first " << *missing.begin();
  // agent_stats reports the damage.
  ASSERT_TRUE(subscriber_->WaitFor(
      [&](const std::vector<MqttClient::Message>& msgs) {
        for (const Json& e : Events(msgs))
          if (e["type"] == "agent_stats" && e["data"]["spool"].value("torn_tails", 0) == 1) return true;
        return false;
      },
      seconds(10)));
}

TEST_F(Uplink, RejectedCertificateIsAClearErrorAndTheSpoolStaysBounded) {
  auto rogue = pki_->RogueClientCert(kDevice);
  ASSERT_TRUE(rogue);
  device_ = *rogue;
  agent_ = StartAgent("  max_size: 256KB\n");  // continues the spool: section
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(agent_->WaitForLog("rejected this device's certificate", seconds(10))) << agent_->Log();
  // Keep producing events: the spool must not grow past its bound.
  for (int round = 0; round < 10; ++round) RunExecs("rogue" + std::to_string(round), 0, 100);
  // Measured once the agent has stopped: while it runs it drops old segments under our feet.
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/state/spool"))
    if (entry.path().extension() == ".seg") bytes += std::filesystem::file_size(entry.path());
  EXPECT_GT(bytes, 0u);
  EXPECT_LE(bytes, 256u << 10);
  EXPECT_TRUE(Events().empty());
}

TEST_F(Uplink, RemoteConfigurationIsAppliedOrRefusedWhole) {
  agent_ = StartAgent();
  ASSERT_TRUE(agent_);
  ASSERT_TRUE(WaitForStatus("online")) << agent_->Log();
  const std::string config_topic = std::string("vigil/v1/") + kDevice + "/config";
  const std::string reported_topic = std::string("vigil/v1/") + kDevice + "/reported";
  auto reported = [&](const std::string& version) -> std::optional<Json> {
    std::optional<Json> found;
    subscriber_->WaitFor(
        [&](const std::vector<MqttClient::Message>& msgs) {
          for (const MqttClient::Message& m : msgs) {
            if (m.topic != reported_topic) continue;
            Json j = Json::parse(m.payload, nullptr, false);
            if (j.is_object() && j.value("version", "") == version) found = j;
          }
          return found.has_value();
        },
        seconds(10));
    return found;
  };

  // Valid: heartbeat every second at high priority; process.priority is pinned by the file.
  ASSERT_TRUE(subscriber_->Publish(
      config_topic,
      R"({"version":"1","config":{"heartbeat":{"interval":"1s","priority":"high"},"process":{"priority":"low"}}})", 1,
      true));
  auto applied = reported("1");
  ASSERT_TRUE(applied) << agent_->Log();
  EXPECT_EQ((*applied)["applied"], true) << applied->dump();
  EXPECT_EQ((*applied)["pinned"], Json::array({"process.priority"}));
  const size_t before = Events().size();
  ASSERT_TRUE(subscriber_->WaitFor(
      [&](const std::vector<MqttClient::Message>& msgs) {
        std::vector<Json> events = Events(msgs);
        return std::count_if(events.begin() + static_cast<long>(before), events.end(),
                             [](const Json& e) { return e["type"] == "heartbeat"; }) >= 2;
      },
      seconds(10)))
      << "heartbeats every second, as configured remotely";

  // Invalid: one bad field refuses the whole document, and names the field.
  ASSERT_TRUE(subscriber_->Publish(
      config_topic, R"({"version":"2","config":{"heartbeat":{"interval":"5s"},"process":{"mode":"fast"}}})", 1, true));
  auto refused = reported("2");
  ASSERT_TRUE(refused) << agent_->Log();
  EXPECT_EQ((*refused)["applied"], false);
  ASSERT_EQ((*refused)["invalid"].size(), 1u) << refused->dump();
  EXPECT_EQ((*refused)["invalid"][0]["key"], "process.mode");
  EXPECT_EQ(agent_->Stop(SIGTERM), 0);
}

// mqtt:// with a user name and password (for local use): a wrong password is named as such,
// the right one delivers.
TEST(UplinkPlain, UserNameAndPasswordOverPlainTcp) {
  MosquittoBroker::Options o;
  o.users = {{"dev-plain", "right"}, {"hub", "hubpw"}};
  o.allow_anonymous = false;
  MosquittoBroker broker(o);
  ASSERT_TRUE(broker.Start());
  MqttClient::Options so;
  so.username = "hub";
  so.password = "hubpw";
  auto subscriber = MqttClient::Create(so);
  ASSERT_TRUE(subscriber && subscriber->Connect(broker)) << subscriber->last_error();
  ASSERT_TRUE(subscriber->Subscribe("vigil/v1/dev-plain/events", 1));
  auto config = [](const std::string& password) {
    return "  device_id: dev-plain\nprocess:\n  priority: high\nuplink:\n  username: dev-plain\n  password: " +
           password + "\n  reconnect_min: 200ms\n  reconnect_max: 1s\nspool:\n  sync_interval: 50ms\n";
  };
  {
    AgentProcess::Options ao;
    ao.config_yaml = config("wrong");
    ao.output = broker.url();
    auto agent = AgentProcess::Start(ao);
    ASSERT_TRUE(agent);
    ASSERT_TRUE(agent->WaitForLog("check uplink.username and uplink.password", seconds(10))) << agent->Log();
    EXPECT_EQ(agent->Stop(SIGTERM), 0);
  }
  AgentProcess::Options ao;
  ao.config_yaml = config("right");
  ao.output = broker.url();
  auto agent = AgentProcess::Start(ao);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(agent->WaitForLog("running as device", seconds(20))) << agent->Log();
  Reap(Spawn({"/bin/true", "plain-marker"}));
  EXPECT_TRUE(subscriber->WaitFor(
      [](const std::vector<MqttClient::Message>& msgs) {
        for (const MqttClient::Message& m : msgs) {
          auto batch = DecodeBatch(m.payload, 64 << 20);
          if (!batch.ok()) continue;
          for (const Json& e : batch->events)
            if (e["data"].value("cmdline", "") == "/bin/true plain-marker") return true;
        }
        return false;
      },
      seconds(20)))
      << agent->Log();
  EXPECT_EQ(agent->Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace vigil::testing
