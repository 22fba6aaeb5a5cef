// The ingest pipeline without a broker: messages handed to Ingestor::Take go through the inbox,
// decoding and the writer into a real SQLite store. (tests/integration/hub_test.cpp runs it
// with a real Mosquitto, agent and hub.)
#include "hub/ingest/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "hub/ingest/test_events.h"
#include "schema/schema.h"

namespace vigil::hub {
namespace {

namespace fs = std::filesystem;
using testing::EncodeBatch;
using testing::Heartbeats;
constexpr auto kWait = std::chrono::seconds(10);

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-ingest-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenStore("sqlite:" + dir_ + "/hub.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    StartIngest();
  }
  void TearDown() override {
    ingest_.reset();
    inbox_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void StartIngest() {
    ingest_.reset();
    inbox_.reset();
    auto inbox = Inbox::Open(dir_ + "/inbox", {});
    ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
    inbox_ = std::move(*inbox);
    ingest_ = std::make_unique<Ingestor>(IngestOptions{}, *store_, *inbox_, *schema::BuiltinSchema(),
                                         [] { return int64_t{1'765'000'100'000}; });
    ASSERT_TRUE(ingest_->Start().ok());
  }
  uint64_t Stored(const std::string& device) {
    auto d = store_->Device(device);
    EXPECT_TRUE(d.ok());
    return d.ok() && d->has_value() ? (*d)->events : 0;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<Ingestor> ingest_;
};

TEST_F(IngestTest, StoresEachEventOnceWhateverIsDeliveredTwice) {
  std::string batch = EncodeBatch("dev-1", Heartbeats("dev-1", 1, 50));
  ingest_->Take("vigil/v1/dev-1/events", batch);
  ingest_->Take("vigil/v1/dev-1/events", batch);
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 40, 60)));
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ(Stored("dev-1"), 60u);
  auto stats = ingest_->Stats();
  EXPECT_EQ(stats["events_stored"], 60);
  EXPECT_EQ(stats["duplicates"], 61);
  EXPECT_EQ(stats["messages"], 3);
}

TEST_F(IngestTest, RejectsBadMessagesWholeAndStoresTheRest) {
  auto bad_events = Heartbeats("dev-1", 10, 12);
  bad_events[1].data = {{"uptime_s", -1.5}};
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 1, 3)));
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", bad_events));                 // bad_event
  ingest_->Take("vigil/v1/dev-1/events", std::string("\x01garbage"));                       // bad_batch
  ingest_->Take("vigil/v1/dev-2/events", EncodeBatch("dev-1", Heartbeats("dev-1", 4, 5)));  // wrong_device
  ingest_->Take("vigil/v1/dev-1/other", "x");                                               // bad_topic
  ingest_->Take("vigil/v1/dev-1/status", "{");                                              // bad_status
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 6, 7)));
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ(Stored("dev-1"), 5u);
  auto stats = ingest_->Stats();
  EXPECT_EQ(stats["rejected"], 5);
  EXPECT_EQ(stats["rejected_by_reason"]["bad_event"], 1);
  EXPECT_EQ(stats["rejected_by_reason"]["bad_batch"], 1);
  EXPECT_EQ(stats["rejected_by_reason"]["wrong_device"], 1);
  EXPECT_EQ(stats["rejected_by_reason"]["bad_topic"], 1);
  EXPECT_EQ(stats["rejected_by_reason"]["bad_status"], 1);
  auto dev2 = store_->Device("dev-2");
  ASSERT_TRUE(dev2.ok());
  EXPECT_FALSE(dev2->has_value());  // nothing of the refused batch was stored under either device
}

TEST_F(IngestTest, ReportsGapsInADevicesSequence) {
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 1, 10)));
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 15, 20)));
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  auto gaps = store_->Gaps("dev-1", 10);
  ASSERT_TRUE(gaps.ok());
  ASSERT_EQ(gaps->size(), 1u);
  EXPECT_EQ((*gaps)[0], (SeqGap{11, 14}));
  EXPECT_EQ((*store_->Device("dev-1"))->missing, 4u);
}

TEST_F(IngestTest, StatusAndReportedMessagesUpdateTheDevice) {
  ingest_->Take("vigil/v1/dev-1/status", R"({"state":"online","ts":1,"agent_version":"0.1.0"})");
  ingest_->Take("vigil/v1/dev-1/reported", R"({"version":"7","applied":true})");
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  auto d = store_->Device("dev-1");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->state, DeviceState::kOnline);
  EXPECT_EQ((*d)->agent_version, "0.1.0");
  EXPECT_EQ((*d)->reported["version"], "7");
  ingest_->Take("vigil/v1/dev-1/status", R"({"state":"offline"})");
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ((*store_->Device("dev-1"))->state, DeviceState::kOffline);
}

TEST_F(IngestTest, RefusesEventsOfARevokedDevice) {
  ASSERT_TRUE(store_->AddDevice("dev-1", "", 1).ok());
  ASSERT_TRUE(store_->SetRevoked("dev-1", true).ok());
  StartIngest();  // reads the revoked list afresh
  ingest_->Take("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 1, 3)));
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ(Stored("dev-1"), 0u);
  EXPECT_EQ(ingest_->Stats()["rejected_by_reason"]["revoked_device"], 1);
}

TEST_F(IngestTest, MessagesTakenButNotStoredAreStoredAfterARestart) {
  ingest_.reset();  // a hub that stopped right after taking these from the broker:
  ASSERT_TRUE(inbox_->Append("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 1, 4))).ok());
  ASSERT_TRUE(inbox_->Append("vigil/v1/dev-1/events", EncodeBatch("dev-1", Heartbeats("dev-1", 5, 9))).ok());
  StartIngest();
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ(Stored("dev-1"), 9u);
  StartIngest();  // released: nothing is replayed twice
  ASSERT_TRUE(ingest_->WaitIdle(kWait));
  EXPECT_EQ(ingest_->Stats()["messages"], 0);
}

}  // namespace
}  // namespace vigil::hub
