// Enrollment against a real Mosquitto: the broker runs the configuration WriteBrokerConfig
// generates, clients use certificates from the hub's CA (tests/integration/mqtt_fixture.h), and
// the real agent runs from a bundle WriteAgentBundle wrote.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/core/batch.h"
#include "hub/enroll/broker_config.h"
#include "hub/enroll/bundle.h"
#include "hub/enroll/ca.h"
#include "tests/integration/mqtt_fixture.h"

extern char** environ;

namespace vigil::hub {
namespace {

using ::testing::HasSubstr;
using vigil::testing::MosquittoBroker;
using vigil::testing::MqttClient;
using namespace std::chrono_literals;

constexpr auto kMessageTimeout = std::chrono::seconds(10);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return out.good() && chmod(path.c_str(), mode) == 0;
}

// The account mosquitto should run as: root keeps root (the broker's files are in a root-only
// temporary directory), any other user runs it as themselves.
std::string BrokerUser() {
  if (geteuid() == 0) return "root";
  const passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "root";
}

struct ClientFiles {
  std::string cert;
  std::string key;
};

class EnrollBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-enroll-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    auto ca = Ca::OpenOrCreate(tmp_ + "/ca");
    ASSERT_TRUE(ca.ok()) << ca.status().ToString();
    ca_ = std::move(*ca);
    broker_dir_ = tmp_ + "/broker";

    BrokerOptions o;
    o.port = MosquittoBroker::FreePort();
    ASSERT_NE(o.port, 0);
    o.listen_host = "127.0.0.1";
    o.hostnames = {"localhost", "127.0.0.1"};
    o.user = BrokerUser();
    o.extra_config = "log_type all\n";  // ACL denials are logged at debug level
    Status s = WriteBrokerConfig(*ca_, o, broker_dir_);
    ASSERT_TRUE(s.ok()) << s.ToString();

    MosquittoBroker::Options bo;
    bo.tls = true;
    bo.config_file = broker_dir_ + "/mosquitto.conf";
    bo.port = o.port;
    broker_ = std::make_unique<MosquittoBroker>(bo);
    ASSERT_TRUE(broker_->Start());
  }

  void TearDown() override {
    broker_.reset();
    if (HasFailure()) {
      std::cerr << "kept " << tmp_ << " for inspection\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  ClientFiles Write(const std::string& stem, const IssuedCert& issued) {
    ClientFiles f{tmp_ + "/" + stem + ".crt", tmp_ + "/" + stem + ".key"};
    EXPECT_TRUE(WriteFile(f.cert, issued.cert_pem, 0644));
    EXPECT_TRUE(WriteFile(f.key, issued.key_pem, 0600));
    return f;
  }

  ClientFiles Enroll(const std::string& device_id) {
    auto issued = ca_->IssueDevice(device_id);
    EXPECT_TRUE(issued.ok()) << issued.status().ToString();
    return issued.ok() ? Write("device-" + device_id, *issued) : ClientFiles{};
  }

  std::unique_ptr<MqttClient> Client(const ClientFiles& files, const std::string& client_id = "",
                                     bool persistent = false) {
    MqttClient::Options o;
    o.client_id = client_id;
    o.ca_file = ca_->cert_file();
    o.cert_file = files.cert;
    o.key_file = files.key;
    if (persistent) {
      o.clean_start = false;
      o.session_expiry_seconds = 3600;
    }
    return MqttClient::Create(o);
  }

  // The hub's own client (CN vigil-hub), connected.
  std::unique_ptr<MqttClient> ConnectHub(const std::string& client_id = "test-hub", bool persistent = false) {
    if (hub_files_.cert.empty()) {
      auto issued = ca_->IssueHubClient();
      EXPECT_TRUE(issued.ok()) << issued.status().ToString();
      if (!issued.ok()) return nullptr;
      hub_files_ = Write("hub", *issued);
    }
    auto hub = Client(hub_files_, client_id, persistent);
    if (!hub) return nullptr;
    EXPECT_TRUE(hub->Connect(*broker_)) << hub->last_error() << "\n" << broker_->Log();
    return hub;
  }

  std::unique_ptr<MqttClient> ConnectDevice(const ClientFiles& files) {
    auto device = Client(files);
    if (!device) return nullptr;
    EXPECT_TRUE(device->Connect(*broker_)) << device->last_error() << "\n" << broker_->Log();
    return device;
  }

  static bool Received(const std::vector<MqttClient::Message>& messages, const std::string& topic,
                       const std::string& payload) {
    for (const auto& m : messages) {
      if (m.topic == topic && m.payload == payload) return true;
    }
    return false;
  }

  std::string tmp_;
  std::string broker_dir_;
  std::unique_ptr<Ca> ca_;
  std::unique_ptr<MosquittoBroker> broker_;
  ClientFiles hub_files_;
};

TEST_F(EnrollBrokerTest, EnrolledDevicePublishesToItsOwnEventsTopic) {
  ClientFiles dev = Enroll("dev-a");
  auto hub = ConnectHub();
  ASSERT_TRUE(hub);
  ASSERT_TRUE(hub->Subscribe("vigil/v1/+/events", 1)) << hub->last_error();
  auto device = ConnectDevice(dev);
  ASSERT_TRUE(device && device->connected());
  EXPECT_TRUE(device->Publish("vigil/v1/dev-a/events", "batch-1", 1)) << device->last_error();
  EXPECT_TRUE(device->Publish("vigil/v1/dev-a/status", "{\"state\":\"online\"}", 1, true)) << device->last_error();
  EXPECT_TRUE(device->Publish("vigil/v1/dev-a/reported", "{}", 1, true)) << device->last_error();
  auto m = hub->WaitForMessage("vigil/v1/dev-a/events", kMessageTimeout);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "batch-1");
}

TEST_F(EnrollBrokerTest, PublishingUnderAnotherDevicesIdIsRefusedAndNotDelivered) {
  ClientFiles dev_a = Enroll("dev-a");
  Enroll("dev-b");
  auto hub = ConnectHub();
  ASSERT_TRUE(hub);
  ASSERT_TRUE(hub->Subscribe("vigil/v1/+/events", 1)) << hub->last_error();
  ASSERT_TRUE(hub->Subscribe("vigil/v1/+/status", 1)) << hub->last_error();
  auto device = ConnectDevice(dev_a);
  ASSERT_TRUE(device);

  // Mosquitto 2.0 answers an MQTT v5 QoS 1 publish the ACL denies with PUBACK reason code 0x87
  // (135, not authorized), and drops the message.
  EXPECT_FALSE(device->Publish("vigil/v1/dev-b/events", "forged", 1));
  EXPECT_THAT(device->last_error(), HasSubstr("reason code 135"));
  EXPECT_FALSE(device->Publish("vigil/v1/dev-b/status", "forged-status", 1, true));
  EXPECT_FALSE(device->Publish("vigil/v1/dev-b/config", "forged-config", 1, true));
  EXPECT_FALSE(device->Publish("vigil/v1/dev-a/config", "self-config", 1, true));
  EXPECT_FALSE(device->Publish("other/topic", "x", 1));
  // The connection survives a refused message: the device's own topic still works.
  ASSERT_TRUE(device->connected());
  ASSERT_TRUE(device->Publish("vigil/v1/dev-a/events", "after", 1)) << device->last_error();

  // Messages from one client arrive in order: once "after" is here, "forged" would have been.
  ASSERT_TRUE(hub->WaitFor(
      [](const std::vector<MqttClient::Message>& ms) { return Received(ms, "vigil/v1/dev-a/events", "after"); },
      kMessageTimeout));
  for (const auto& m : hub->Messages()) {
    EXPECT_NE(m.topic, "vigil/v1/dev-b/events");
    EXPECT_NE(m.topic, "vigil/v1/dev-b/status");
    EXPECT_NE(m.payload, "forged");
  }
  EXPECT_TRUE(broker_->WaitForLog("Denied PUBLISH from vigil")) << broker_->Log();
}

TEST_F(EnrollBrokerTest, DeviceCannotReadAnotherDevicesConfigOrEvents) {
  ClientFiles dev_a = Enroll("dev-a");
  ClientFiles dev_b = Enroll("dev-b");
  auto hub = ConnectHub();
  ASSERT_TRUE(hub);
  ASSERT_TRUE(hub->Publish("vigil/v1/dev-b/config", "config-for-b", 1, true)) << hub->last_error();
  ASSERT_TRUE(hub->Publish("vigil/v1/dev-a/config", "config-for-a", 1, true)) << hub->last_error();

  auto device = ConnectDevice(dev_a);
  ASSERT_TRUE(device);
  // Mosquitto 2.0.11's acl_file grants every SUBSCRIBE (SUBACK with the QoS asked for) and
  // checks read access on each message it would deliver: what the ACL does not let the device
  // read is never sent to it.
  for (const char* filter : {"vigil/v1/dev-b/config", "vigil/v1/+/config", "vigil/v1/+/events", "#"}) {
    EXPECT_TRUE(device->Subscribe(filter, 1)) << filter << ": " << device->last_error();
  }
  ASSERT_TRUE(device->Subscribe("vigil/v1/dev-a/config", 1)) << device->last_error();
  auto own = device->WaitForMessage("vigil/v1/dev-a/config", kMessageTimeout);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->payload, "config-for-a");
  EXPECT_TRUE(own->retain);

  // New messages for the other device, then one for this device from the same publisher after
  // them: once that one is here, the others would have been delivered before it.
  auto other = ConnectDevice(dev_b);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->Publish("vigil/v1/dev-b/events", "b-event", 1)) << other->last_error();
  ASSERT_TRUE(hub->Publish("vigil/v1/dev-b/config", "config-for-b-2", 1, true)) << hub->last_error();
  ASSERT_TRUE(hub->Publish("vigil/v1/dev-a/config", "config-for-a-2", 1, true)) << hub->last_error();
  ASSERT_TRUE(device->WaitFor(
      [](const std::vector<MqttClient::Message>& ms) {
        return Received(ms, "vigil/v1/dev-a/config", "config-for-a-2");
      },
      kMessageTimeout));
  for (const auto& m : device->Messages()) {
    EXPECT_EQ(m.topic, "vigil/v1/dev-a/config") << "dev-a received " << m.payload;
  }
}

TEST_F(EnrollBrokerTest, RevokedDeviceIsRefusedOnceTheCrlIsInstalledAndTheBrokerReloads) {
  ClientFiles dev = Enroll("dev-r");
  ClientFiles keep = Enroll("dev-k");
  auto connected = ConnectDevice(dev);
  ASSERT_TRUE(connected && connected->connected());
  auto revoked = ca_->Revoke("dev-r");
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  ASSERT_EQ(*revoked, 1);
  ASSERT_TRUE(InstallCrl(*ca_, broker_dir_).ok());
  // Until the broker reloads, it checks against the CRL it read at start.
  {
    auto before_reload = ConnectDevice(dev);
    ASSERT_TRUE(before_reload && before_reload->connected());
  }

  // Mosquitto 2.0.11 reloads the listeners' certificates and CRL on SIGHUP.
  ASSERT_EQ(kill(broker_->pid(), SIGHUP), 0);
  ASSERT_TRUE(broker_->WaitForLog("Reloading config")) << broker_->Log();
  auto device = Client(dev);
  ASSERT_TRUE(device);
  EXPECT_FALSE(device->Connect(*broker_));
  EXPECT_FALSE(device->last_error().empty());
  EXPECT_TRUE(broker_->WaitForLog("certificate verify failed")) << broker_->Log();
  // A connection made before the reload is not closed by it: only a restart ends it.
  EXPECT_TRUE(connected->Publish("vigil/v1/dev-r/events", "still-connected", 1)) << connected->last_error();
  ASSERT_TRUE(broker_->Restart());
  EXPECT_TRUE(connected->WaitForDisconnect(kMessageTimeout));
  auto after_restart = Client(dev);
  ASSERT_TRUE(after_restart);
  EXPECT_FALSE(after_restart->Connect(*broker_));
  // Other devices are not affected.
  auto other = ConnectDevice(keep);
  ASSERT_TRUE(other && other->connected());
  // Enrolling the id again gives a certificate that works.
  ClientFiles fresh = Enroll("dev-r");
  auto again = ConnectDevice(fresh);
  ASSERT_TRUE(again && again->connected());
}

TEST_F(EnrollBrokerTest, CertificateFromAnotherCaIsRefused) {
  auto rogue_ca = Ca::OpenOrCreate(tmp_ + "/rogue-ca");
  ASSERT_TRUE(rogue_ca.ok()) << rogue_ca.status().ToString();
  auto issued = (*rogue_ca)->IssueDevice("dev-a");
  ASSERT_TRUE(issued.ok());
  ClientFiles rogue = Write("rogue-dev-a", *issued);
  auto device = Client(rogue);
  ASSERT_TRUE(device);
  EXPECT_FALSE(device->Connect(*broker_));
  EXPECT_FALSE(device->last_error().empty());
  // Nor is a client without a certificate.
  MqttClient::Options o;
  o.ca_file = ca_->cert_file();
  auto anonymous = MqttClient::Create(o);
  ASSERT_TRUE(anonymous);
  EXPECT_FALSE(anonymous->Connect(*broker_));
}

TEST_F(EnrollBrokerTest, HubReceivesThroughSharedSubscriptionAndPublishesRetainedConfig) {
  ClientFiles dev = Enroll("dev-s");
  auto hub = ConnectHub("hub-1");
  ASSERT_TRUE(hub);
  ASSERT_TRUE(hub->Subscribe("$share/vigil-hub/vigil/v1/+/events", 1)) << hub->last_error();
  ASSERT_TRUE(hub->Subscribe("$share/vigil-hub/vigil/v1/+/status", 1)) << hub->last_error();
  ASSERT_TRUE(hub->Subscribe("$share/vigil-hub/vigil/v1/+/reported", 1)) << hub->last_error();
  ASSERT_TRUE(hub->Publish("vigil/v1/dev-s/config", "{\"version\":\"1\",\"config\":{}}", 1, true)) << hub->last_error();
  // The hub reads no configuration and writes no events.
  EXPECT_FALSE(hub->Publish("vigil/v1/dev-s/events", "forged-by-hub", 1));

  auto device = ConnectDevice(dev);
  ASSERT_TRUE(device);
  ASSERT_TRUE(device->Subscribe("vigil/v1/dev-s/config", 1)) << device->last_error();
  auto config = device->WaitForMessage("vigil/v1/dev-s/config", kMessageTimeout);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->payload, "{\"version\":\"1\",\"config\":{}}");
  EXPECT_TRUE(config->retain);
  ASSERT_TRUE(device->Publish("vigil/v1/dev-s/events", "shared-1", 1)) << device->last_error();
  ASSERT_TRUE(device->Publish("vigil/v1/dev-s/reported", "{\"version\":\"1\"}", 1, true)) << device->last_error();
  auto m = hub->WaitForMessage("vigil/v1/dev-s/events", kMessageTimeout);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "shared-1");
  EXPECT_TRUE(hub->WaitForMessage("vigil/v1/dev-s/reported", kMessageTimeout));
}

TEST_F(EnrollBrokerTest, MessagesWaitForAHubThatIsDownAcrossABrokerRestart) {
  ClientFiles dev = Enroll("dev-q");
  {
    auto hub = ConnectHub("hub-q", /*persistent=*/true);
    ASSERT_TRUE(hub);
    ASSERT_TRUE(hub->Subscribe("$share/vigil-hub/vigil/v1/+/events", 1)) << hub->last_error();
    hub->Disconnect();
  }
  auto device = ConnectDevice(dev);
  ASSERT_TRUE(device);
  ASSERT_TRUE(device->Publish("vigil/v1/dev-q/events", "while-hub-down", 1)) << device->last_error();
  device.reset();
  // A clean stop saves the persistence file; the queued message outlives the broker process.
  ASSERT_TRUE(broker_->Restart());
  auto hub = ConnectHub("hub-q", /*persistent=*/true);
  ASSERT_TRUE(hub);
  auto m = hub->WaitForMessage("vigil/v1/dev-q/events", kMessageTimeout);
  ASSERT_TRUE(m) << broker_->Log();
  EXPECT_EQ(m->payload, "while-hub-down");
}

// ---------------------------------------------------------------------------------------------
// The real agent with a bundle.

// Runs argv, output to `log`; returns the pid or -1.
pid_t SpawnTo(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// Sends SIGTERM and waits up to `timeout` for the exit (then SIGKILL); returns the wait status.
int StopProcess(pid_t pid, std::chrono::milliseconds timeout) {
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the agent did not exit within " << timeout.count() << " ms of SIGTERM";
      break;
    }
    // A child's exit has no descriptor to wait on; its state is polled.
    std::this_thread::sleep_for(10ms);
  }
  return status;
}

TEST_F(EnrollBrokerTest, RealAgentAcceptsTheBundleAndItsEventsReachTheHub) {
  const std::string bundle = tmp_ + "/bundle-agent-1";
  BundleOptions bo;
  bo.install_dir = bundle;  // run in place
  Status s = WriteAgentBundle(*ca_, "agent-1", broker_->url(), bundle, bo);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_THAT(broker_->url(), HasSubstr("mqtts://localhost:"));

  std::string check_output;
  EXPECT_TRUE(vigil::testing::RunCommand({VIGIL_AGENT_BIN, "config", "--check", bundle + "/agent.yml"}, &check_output))
      << check_output;
  // The default install paths are accepted too (the agent checks the files only when it runs).
  const std::string installed = tmp_ + "/bundle-installed";
  ASSERT_TRUE(WriteAgentBundle(*ca_, "agent-2", "mqtts://hub.example.net:8883", installed).ok());
  EXPECT_TRUE(
      vigil::testing::RunCommand({VIGIL_AGENT_BIN, "config", "--check", installed + "/agent.yml"}, &check_output))
      << check_output;

  auto hub = ConnectHub();
  ASSERT_TRUE(hub);
  ASSERT_TRUE(hub->Subscribe("$share/vigil-hub/vigil/v1/+/events", 1)) << hub->last_error();
  ASSERT_TRUE(hub->Subscribe("vigil/v1/+/status", 1)) << hub->last_error();

  const std::string state = tmp_ + "/agent-state";
  std::filesystem::create_directories(state);
  const std::string log = tmp_ + "/agent.log";
  pid_t pid = SpawnTo({VIGIL_AGENT_BIN, "run", "--config", bundle + "/agent.yml", "--set", "agent.state_dir=" + state,
                       "--set", "spool.sync_interval=50ms"},
                      log);
  ASSERT_GT(pid, 0);
  // The heartbeat collector sends one event at start (high priority: sent at once).
  auto events = hub->WaitForMessage("vigil/v1/agent-1/events", std::chrono::seconds(30));
  auto status = hub->WaitForMessage("vigil/v1/agent-1/status", kMessageTimeout);
  const int exit_status = StopProcess(pid, std::chrono::seconds(10));
  ASSERT_TRUE(events) << "agent log:\n" << ReadFile(log) << "\nbroker log:\n" << broker_->Log();
  auto batch = DecodeBatch(events->payload, 64u << 20);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->device, "agent-1");
  EXPECT_FALSE(batch->events.empty());
  ASSERT_TRUE(status);
  EXPECT_THAT(status->payload, HasSubstr("online"));
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << ReadFile(log);
}

}  // namespace
}  // namespace vigil::hub
