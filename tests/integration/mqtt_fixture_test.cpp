// The MQTT fixture (mqtt_fixture.h) against the real broker: what uplink and hub tests rely on.
#include "tests/integration/mqtt_fixture.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::chrono::milliseconds kWait = std::chrono::seconds(5);

std::unique_ptr<MqttClient> ConnectedClient(const MosquittoBroker& broker, MqttClient::Options options = {}) {
  auto client = MqttClient::Create(std::move(options));
  if (!client) return nullptr;
  if (!client->Connect(broker)) {
    ADD_FAILURE() << "connect to " << broker.url() << ": " << client->last_error() << "\nbroker log:\n" << broker.Log();
    return nullptr;
  }
  return client;
}

TEST(MqttFixture, PlainTcpPublishSubscribeRoundTripAtQos1) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  EXPECT_EQ(broker.url(), "mqtt://127.0.0.1:" + std::to_string(broker.port()));

  auto subscriber = ConnectedClient(broker);
  ASSERT_TRUE(subscriber);
  ASSERT_TRUE(subscriber->Subscribe("vigil/test/#", 1)) << subscriber->last_error();
  auto publisher = ConnectedClient(broker);
  ASSERT_TRUE(publisher);
  using std::string_literals::operator""s;
  const std::string payload = "\x28\xb5\x2f\xfd\x00\x01\xff"s;  // not text: every byte, NUL too, must survive
  ASSERT_TRUE(publisher->Publish("vigil/test/events", payload, 1)) << publisher->last_error();

  auto message = subscriber->WaitForMessage("vigil/test/events", kWait);
  ASSERT_TRUE(message) << broker.Log();
  EXPECT_EQ(message->payload.size(), 7u);
  EXPECT_EQ(message->payload, payload);
  EXPECT_EQ(message->qos, 1);
  EXPECT_FALSE(message->retain);
  EXPECT_EQ(subscriber->Messages().size(), 1u);
}

TEST(MqttFixture, PasswordFileRefusesWrongPasswordAndAnonymousAcceptsRightPassword) {
  MosquittoBroker::Options options;
  options.users = {{"hub", "hub-secret"}, {"device-7", "s3cret with spaces"}};
  options.allow_anonymous = false;
  MosquittoBroker broker(options);
  ASSERT_TRUE(broker.Start());

  // Mosquitto 2.0 answers a wrong password, like a missing one, with 135 (not authorized).
  auto wrong = MqttClient::Create({.username = "device-7", .password = "wrong"});
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(wrong->Connect(broker));
  EXPECT_THAT(wrong->last_error(), HasSubstr("CONNACK reason code 135"));
  EXPECT_FALSE(wrong->connected());

  auto anonymous = MqttClient::Create();
  ASSERT_TRUE(anonymous);
  EXPECT_FALSE(anonymous->Connect(broker));
  EXPECT_THAT(anonymous->last_error(), HasSubstr("CONNACK reason code 135"));

  auto right = MqttClient::Create({.username = "device-7", .password = "s3cret with spaces"});
  ASSERT_TRUE(right);
  EXPECT_TRUE(right->Connect(broker)) << right->last_error() << "\n" << broker.Log();
  EXPECT_TRUE(right->connected());
}

TEST(MqttFixture, TlsClientCertificateFromTestCaConnectsWithItsCommonNameAsUsername) {
  MosquittoBroker broker({.tls = true});
  ASSERT_TRUE(broker.Start());
  EXPECT_EQ(broker.url(), "mqtts://localhost:" + std::to_string(broker.port()));
  ASSERT_NE(broker.pki(), nullptr);
  auto cert = broker.pki()->ClientCert("device-01");
  ASSERT_TRUE(cert);

  auto client = ConnectedClient(broker, {.ca_file = broker.ca_file(), .cert_file = cert->cert, .key_file = cert->key});
  ASSERT_TRUE(client);
  EXPECT_TRUE(broker.WaitForLog("u'device-01'")) << broker.Log();

  // The session carries traffic both ways.
  ASSERT_TRUE(client->Subscribe("vigil/device-01/config", 1)) << client->last_error();
  ASSERT_TRUE(client->Publish("vigil/device-01/config", "{}", 1)) << client->last_error();
  EXPECT_TRUE(client->WaitForMessage("vigil/device-01/config", kWait));
}

TEST(MqttFixture, TlsClientCertificateFromRogueCaIsRefused) {
  MosquittoBroker broker({.tls = true});
  ASSERT_TRUE(broker.Start());
  auto rogue = broker.pki()->RogueClientCert("device-01");
  ASSERT_TRUE(rogue);

  auto client = MqttClient::Create({.ca_file = broker.ca_file(), .cert_file = rogue->cert, .key_file = rogue->key});
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->Connect(broker));
  EXPECT_FALSE(client->connected());
  EXPECT_FALSE(client->last_error().empty());
  EXPECT_TRUE(broker.WaitForLog("certificate verify failed")) << broker.Log();
  EXPECT_EQ(broker.Log().find("u'device-01'"), std::string::npos) << broker.Log();

  // The broker still serves clients with a certificate from its CA.
  auto good = broker.pki()->ClientCert("device-01");
  ASSERT_TRUE(good);
  EXPECT_TRUE(ConnectedClient(broker, {.ca_file = broker.ca_file(), .cert_file = good->cert, .key_file = good->key}));
}

TEST(MqttFixture, AclPatternLimitsCertificateIdentityToItsOwnTopics) {
  MosquittoBroker broker({.tls = true, .acl_file_text = "pattern write vigil/devices/%u/#\n"});
  ASSERT_TRUE(broker.Start());
  auto cert = broker.pki()->ClientCert("d1");
  ASSERT_TRUE(cert);
  auto client = ConnectedClient(broker, {.ca_file = broker.ca_file(), .cert_file = cert->cert, .key_file = cert->key});
  ASSERT_TRUE(client);

  EXPECT_TRUE(client->Publish("vigil/devices/d1/events", "x", 1)) << client->last_error();
  EXPECT_FALSE(client->Publish("vigil/devices/d2/events", "x", 1));
  EXPECT_THAT(client->last_error(), HasSubstr("reason code 135"));
  EXPECT_TRUE(broker.WaitForLog("Denied PUBLISH")) << broker.Log();
}

TEST(MqttFixture, RetainedMessageIsDeliveredToLateSubscriber) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  auto publisher = ConnectedClient(broker);
  ASSERT_TRUE(publisher);
  ASSERT_TRUE(publisher->Publish("vigil/devices/d1/config", "interval=5", 1, /*retain=*/true))
      << publisher->last_error();
  publisher->Disconnect();

  auto late = ConnectedClient(broker);
  ASSERT_TRUE(late);
  ASSERT_TRUE(late->Subscribe("vigil/devices/+/config", 1)) << late->last_error();
  auto message = late->WaitForMessage("vigil/devices/d1/config", kWait);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->payload, "interval=5");
  EXPECT_TRUE(message->retain);
}

TEST(MqttFixture, StoppedOrKilledBrokerRestartsOnSamePortAndAcceptsConnections) {
  MosquittoBroker broker;
  ASSERT_TRUE(broker.Start());
  const int port = broker.port();
  auto client = ConnectedClient(broker);
  ASSERT_TRUE(client);

  EXPECT_TRUE(broker.Stop());
  EXPECT_FALSE(broker.running());
  EXPECT_TRUE(client->WaitForDisconnect(kWait));
  auto refused = MqttClient::Create();
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->Connect(broker));
  EXPECT_THAT(refused->last_error(), HasSubstr("Connection refused"));

  ASSERT_TRUE(broker.Restart());
  EXPECT_EQ(broker.port(), port);
  ASSERT_TRUE(client->Connect(broker)) << client->last_error();  // the same client, connecting again
  ASSERT_TRUE(client->Subscribe("vigil/after-restart", 1)) << client->last_error();
  ASSERT_TRUE(client->Publish("vigil/after-restart", "up", 1)) << client->last_error();
  EXPECT_TRUE(client->WaitForMessage("vigil/after-restart", kWait));

  broker.Kill();
  EXPECT_TRUE(client->WaitForDisconnect(kWait));
  ASSERT_TRUE(broker.Restart());
  EXPECT_EQ(broker.port(), port);
  EXPECT_TRUE(ConnectedClient(broker));
  // The log spans every run of the broker.
  EXPECT_THAT(broker.Log(), HasSubstr("terminating"));
}

}  // namespace
}  // namespace vigil::testing
