#include "agent/collectors/peripheral/tracker.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/collectors/peripheral/test_fixtures.h"
#include "agent/platform/fake/fake_env.h"
#include "schema/schema.h"

namespace vigil::peripheral {
namespace {

class TrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    describer_ = std::make_unique<DeviceDescriber>(env_, std::set<std::string, std::less<>>{"usb", "net", "block", "tty"});
    tracker_ = std::make_unique<PeripheralTracker>(env_, stats_, *describer_, TrackerOptions{},
                                                   [this](Event&& e) { events_.push_back(std::move(e)); });
  }

  // Every event the tracker made validates against schema/events.yml.
  void TearDown() override {
    const auto& schema = schema::BuiltinSchema();
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    std::vector<Event> all = taken_;
    all.insert(all.end(), events_.begin(), events_.end());
    for (Event e : all) {
      e.device = "test-device";
      e.seq = 1;
      const Json j = EventToJson(e);
      for (const schema::ValidationError& err : schema->Check(j)) ADD_FAILURE() << err.ToString() << "\n" << j.dump();
    }
  }

  void Feed(const std::string& message) {
    auto ev = ParseUevent(message);
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    tracker_->Handle(*ev);
  }

  std::vector<Event> Take() {
    std::vector<Event> out;
    out.swap(events_);
    taken_.insert(taken_.end(), out.begin(), out.end());
    return out;
  }

  FakeEnv env_;
  CollectorStats stats_{"peripheral"};
  std::unique_ptr<DeviceDescriber> describer_;
  std::unique_ptr<PeripheralTracker> tracker_;
  std::vector<Event> events_;
  std::vector<Event> taken_;
};

TEST_F(TrackerTest, InventoryReportsWhatIsPresent) {
  testdata::AddFlashSysfs(env_);
  testdata::AddNetSysfs(env_);
  tracker_->Inventory();
  std::vector<Event> events = events_;
  ASSERT_EQ(events.size(), 4u);
  for (const Event& e : events) {
    EXPECT_EQ(e.type, "peripheral");
    EXPECT_EQ(e.action, "present");
    EXPECT_TRUE(e.agg_key.empty());
    EXPECT_EQ(e.ts_ms, env_.manual_clock().NowMs());
  }
  EXPECT_EQ(events[0].data["subsystem"], "block");
  EXPECT_EQ(events[1].data["interface"], "eth0");
  EXPECT_EQ(events[2].data["interface"], "lo");
  EXPECT_FALSE(events[2].data.contains("mac"));
  EXPECT_EQ(events[3].data["vendor_id"], "0781");
  EXPECT_EQ(events[3].data["interfaces"][0]["driver"], "usb-storage");
  EXPECT_EQ(tracker_->devices(), 4u);
}

TEST_F(TrackerTest, UsbFlashDrivePluggedInAndOut) {
  // Plugged in: the device waits for its bind, its interface is folded in, then the disk.
  Feed(testdata::FlashAdd());
  testdata::AddFlashSysfs(env_);
  Feed(testdata::FlashInterfaceAdd());
  Feed(testdata::FlashInterfaceBind());
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(tracker_->pending(), 1u);
  Feed(testdata::FlashBind());
  Feed(testdata::FlashDiskAdd());
  Feed(testdata::FlashPartitionAdd());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "add");
  const Json usb = events[0].data;
  EXPECT_EQ(usb["vendor_id"], "0781");
  EXPECT_EQ(usb["product_id"], "5567");
  EXPECT_EQ(usb["serial"], "4C530001230101117164");
  EXPECT_EQ(usb["classes"], Json::array({"mass_storage"}));
  EXPECT_EQ(events[1].action, "add");
  EXPECT_EQ(events[1].data["devname"], "/dev/sdb");
  EXPECT_EQ(events[1].data["usb_devpath"], testdata::kFlash);

  // Pulled out: sysfs is gone before the removes arrive; they carry what the adds said.
  testdata::RemoveFlashSysfs(env_);
  Feed(testdata::FlashDiskRemove());
  Feed(testdata::FlashInterfaceRemove());
  Feed(testdata::FlashRemove());
  events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "remove");
  EXPECT_EQ(events[0].data["model"], "Cruzer Blade");
  EXPECT_EQ(events[1].action, "remove");
  EXPECT_EQ(events[1].data, usb);
  EXPECT_EQ(tracker_->devices(), 0u);
}

TEST_F(TrackerTest, UsbSerialAdapterWithItsTty) {
  Feed(testdata::SerialAdd());
  Feed(testdata::SerialInterfaceAdd());
  Feed(testdata::SerialTtyAdd());  // the tty is not held
  Feed(testdata::SerialInterfaceBind());
  Feed(testdata::SerialBind());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data["subsystem"], "tty");
  EXPECT_EQ(events[0].data["devname"], "/dev/ttyUSB0");
  EXPECT_EQ(events[0].data["usb_devpath"], testdata::kSerial);
  // No sysfs in this test: everything comes from the uevents.
  const Json& usb = events[1].data;
  EXPECT_EQ(usb["vendor_id"], "0403");
  EXPECT_EQ(usb["product_id"], "6001");
  EXPECT_EQ(usb["devnum"], 7);
  EXPECT_EQ(usb["interfaces"], Json::parse(R"([{"class":255,"subclass":255,"protocol":255,
      "class_name":"vendor_specific","driver":"ftdi_sio"}])"));
}

TEST_F(TrackerTest, UsbDeviceIsReportedAfterTheSettleTimeWithoutBind) {
  Feed(testdata::FlashAdd());
  Feed(testdata::FlashInterfaceAdd());
  EXPECT_EQ(tracker_->NextDeadline(), env_.manual_clock().MonotonicMs() + 2000);
  env_.manual_clock().Advance(1999);
  tracker_->Tick();
  EXPECT_TRUE(events_.empty());
  env_.manual_clock().Advance(1);
  tracker_->Tick();
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "add");
  EXPECT_EQ(events[0].data["interfaces"][0]["class"], 8);
  EXPECT_FALSE(events[0].data["interfaces"][0].contains("driver"));
  EXPECT_EQ(tracker_->NextDeadline(), INT64_MAX);
}

TEST_F(TrackerTest, UsbDeviceRemovedWhileSettlingIsReportedAddedThenRemoved) {
  Feed(testdata::FlashAdd());
  Feed(testdata::FlashRemove());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "add");
  EXPECT_EQ(events[1].action, "remove");
  EXPECT_EQ(events[1].data["vendor_id"], "0781");
  EXPECT_EQ(tracker_->pending(), 0u);
}

TEST_F(TrackerTest, NetworkInterfaceAddAndRemoveQueuesIgnored) {
  Feed(testdata::VethAdd());
  testdata::AddVethSysfs(env_);
  Feed(testdata::VethQueueAdd());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "add");
  EXPECT_EQ(events[0].data["interface"], "vigiltest0");
  EXPECT_EQ(events[0].data["virtual"], true);
  testdata::RemoveVethSysfs(env_);
  Feed(testdata::VethRemove());
  events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "remove");
  EXPECT_EQ(events[0].data["interface"], "vigiltest0");
  EXPECT_EQ(events[0].data["ifindex"], 7);
}

TEST_F(TrackerTest, SyntheticUeventsAreMarked) {
  testdata::AddNetSysfs(env_);
  tracker_->Inventory();
  Take();
  Feed(testdata::LoopbackSyntheticAdd());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "add");
  EXPECT_EQ(events[0].data["synthetic"], true);
  EXPECT_EQ(events[0].data["interface"], "lo");
}

TEST_F(TrackerTest, RenamedInterfaceIsRemovedUnderItsNewName) {
  Feed(testdata::VethAdd());
  Feed(testdata::Message("move@/devices/virtual/net/renamed0",
                         {"ACTION=move", "DEVPATH=/devices/virtual/net/renamed0", "SUBSYSTEM=net",
                          "DEVPATH_OLD=/devices/virtual/net/vigiltest0", "INTERFACE=renamed0", "IFINDEX=7",
                          "SEQNUM=900"}));
  Feed(testdata::Message("remove@/devices/virtual/net/renamed0",
                         {"ACTION=remove", "DEVPATH=/devices/virtual/net/renamed0", "SUBSYSTEM=net",
                          "INTERFACE=renamed0", "SEQNUM=901"}));
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].action, "remove");
  EXPECT_EQ(events[1].data["interface"], "renamed0");
  EXPECT_EQ(events[1].data["devpath"], "/devices/virtual/net/renamed0");
  EXPECT_EQ(events[1].data["ifindex"], 7);  // remembered from the add
}

TEST_F(TrackerTest, UnconfiguredSubsystemsAndOtherActionsYieldNothing) {
  Feed(testdata::Message("change@/devices/virtual/net/lo",
                         {"ACTION=change", "DEVPATH=/devices/virtual/net/lo", "SUBSYSTEM=net", "SEQNUM=1"}));
  Feed(testdata::Message("add@/devices/virtual/sound/timer",
                         {"ACTION=add", "DEVPATH=/devices/virtual/sound/timer", "SUBSYSTEM=sound", "SEQNUM=2"}));
  Feed(testdata::Message("remove@/devices/platform/serial8250/tty/ttyS9",
                         {"ACTION=remove", "DEVPATH=/devices/platform/serial8250/tty/ttyS9", "SUBSYSTEM=tty",
                          "SEQNUM=3"}));
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, RescanReportsWhatChangedWhileUeventsWereLost) {
  testdata::AddNetSysfs(env_);
  testdata::AddVethSysfs(env_);
  tracker_->Inventory();
  ASSERT_EQ(Take().size(), 3u);
  // Meanwhile (uevents lost): the veth went away, the flash drive came.
  testdata::RemoveVethSysfs(env_);
  testdata::AddFlashSysfs(env_);
  tracker_->Rescan();
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].action, "add");
  EXPECT_EQ(events[0].data["devname"], "/dev/sdb");
  EXPECT_EQ(events[1].action, "add");
  EXPECT_EQ(events[1].data["vendor_id"], "0781");
  EXPECT_EQ(events[2].action, "remove");
  EXPECT_EQ(events[2].data["interface"], "vigiltest0");
  EXPECT_EQ(stats_.count("rescans"), 1u);
  tracker_->Rescan();
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, FullTableStillReportsAndCounts) {
  tracker_ = std::make_unique<PeripheralTracker>(env_, stats_, *describer_, TrackerOptions{.max_devices = 1},
                                                 [this](Event&& e) { events_.push_back(std::move(e)); });
  Feed(testdata::VethAdd());
  Feed(testdata::LoopbackSyntheticAdd());
  EXPECT_EQ(Take().size(), 2u);
  EXPECT_EQ(tracker_->devices(), 1u);
  EXPECT_EQ(stats_.count("table_full"), 1u);
}

TEST_F(TrackerTest, NoSettleReportsUsbDevicesAtOnce) {
  tracker_ = std::make_unique<PeripheralTracker>(env_, stats_, *describer_, TrackerOptions{.usb_settle_ms = 0},
                                                 [this](Event&& e) { events_.push_back(std::move(e)); });
  Feed(testdata::FlashAdd());
  std::vector<Event> events = Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].data.contains("interfaces"));
}

}  // namespace
}  // namespace vigil::peripheral
