#include "agent/collectors/system_info/system_info.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_interface_addresses.h"

namespace vigil::system_info {
namespace {

using namespace std::string_literals;

constexpr int64_t kHourMs = 3'600'000;

void SetX86Host(FakeEnv& env) {
  env.SetHostname("gateway-01");
  env.SetUname({"Linux", "6.1.0-18-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1", "x86_64"});
  env.SetFile("/etc/os-release",
              "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
              "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"
              "HOME_URL=\"https://www.debian.org/\"\n");
  env.SetFile("/sys/class/dmi/id/sys_vendor", "Advantech\n");
  env.SetFile("/sys/class/dmi/id/product_name", "UNO-2271G\n");
  env.SetFile("/sys/class/dmi/id/product_version", "V2\n");
  env.SetFile("/sys/class/dmi/id/board_vendor", "Advantech\n");
  env.SetFile("/sys/class/dmi/id/board_name", "UNO-2271G-E2\n");
  env.SetFile("/sys/class/dmi/id/bios_version", "1.10\n");
  env.SetFile("/proc/cpuinfo",
              "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) x5-E3940\n\n"
              "processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) x5-E3940\n\n");
  env.SetFile("/proc/meminfo", "MemTotal:        3938000 kB\nMemFree:  100 kB\n");
  env.SetFile("/proc/stat", "cpu  1 2 3 4\nbtime 1699990000\nprocesses 42\n");
  env.SetFile("/sys/class/net/eth0/address", "00:0B:AB:12:34:56\n");
  env.SetFile("/sys/class/net/eth0/operstate", "up\n");
  env.SetFile("/sys/class/net/eth0/mtu", "1500\n");
  env.SetFile("/sys/class/net/lo/address", "00:00:00:00:00:00\n");
  env.SetFile("/sys/class/net/lo/operstate", "unknown\n");
  env.SetFile("/sys/class/net/lo/mtu", "65536\n");
}

void AddX86Addresses(FakeInterfaceAddressSource& a) {
  a.Add("lo", 4, "127.0.0.1", 8);
  a.Add("eth0", 4, "192.0.2.10", 24);
  a.Add("eth0:1", 4, "198.51.100.7", 32);  // an IPv4 alias label belongs to eth0
  a.Add("lo", 6, "::1", 128);
  a.Add("eth0", 6, "fe80::20b:abff:fe12:3456", 64);
}

TEST(SystemInfoSnapshot, ReadsEveryPartOfAnX86Host) {
  FakeEnv env;
  SetX86Host(env);
  FakeInterfaceAddressSource addrs;
  AddX86Addresses(addrs);
  SnapshotOptions opts;
  opts.agent_version = "1.2.3";

  const Json d = CollectSnapshot(env, &addrs, opts);

  EXPECT_EQ(d["hostname"], "gateway-01");
  EXPECT_EQ(d["architecture"], "x86_64");
  EXPECT_EQ(d["kernel"]["name"], "Linux");
  EXPECT_EQ(d["kernel"]["release"], "6.1.0-18-amd64");
  EXPECT_EQ(d["kernel"]["version"], "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1");
  EXPECT_EQ(d["os"]["id"], "debian");
  EXPECT_EQ(d["os"]["version_id"], "12");
  EXPECT_EQ(d["os"]["version_codename"], "bookworm");
  EXPECT_EQ(d["os"]["pretty_name"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_FALSE(d["os"].contains("home_url"));  // only the identifying keys are sent
  EXPECT_EQ(d["hardware"]["source"], "dmi");
  EXPECT_EQ(d["hardware"]["vendor"], "Advantech");
  EXPECT_EQ(d["hardware"]["model"], "UNO-2271G");
  EXPECT_EQ(d["hardware"]["version"], "V2");
  EXPECT_EQ(d["hardware"]["board_name"], "UNO-2271G-E2");
  EXPECT_EQ(d["hardware"]["bios_version"], "1.10");
  EXPECT_EQ(d["cpu"]["model"], "Intel(R) Atom(TM) x5-E3940");
  EXPECT_EQ(d["cpu"]["vendor"], "GenuineIntel");
  EXPECT_EQ(d["cpu"]["count"], 2);
  EXPECT_EQ(d["memory_total_bytes"], 3938000ull * 1024);
  EXPECT_EQ(d["boot_ts"], 1699990000LL * 1000);
  EXPECT_EQ(d["agent_version"], "1.2.3");

  ASSERT_EQ(d["nics"].size(), 2u);
  const Json& eth0 = d["nics"][0];  // sorted by name
  EXPECT_EQ(eth0["name"], "eth0");
  EXPECT_EQ(eth0["mac"], "00:0b:ab:12:34:56");
  EXPECT_EQ(eth0["operstate"], "up");
  EXPECT_EQ(eth0["mtu"], 1500);
  EXPECT_EQ(eth0["ipv4"], (Json{"192.0.2.10/24", "198.51.100.7/32"}));
  EXPECT_EQ(eth0["ipv6"], (Json{"fe80::20b:abff:fe12:3456/64"}));
  const Json& lo = d["nics"][1];
  EXPECT_EQ(lo["name"], "lo");
  EXPECT_FALSE(lo.contains("mac"));  // all zeros: no hardware address
  EXPECT_EQ(lo["ipv4"], (Json{"127.0.0.1/8"}));
  EXPECT_FALSE(d.contains("nics_omitted"));
  EXPECT_NO_THROW(d.dump());
}

TEST(SystemInfoSnapshot, ArmBoardWithoutDmiUsesDeviceTree) {
  FakeEnv env;
  env.SetUname({"Linux", "6.6.20-v8+", "#1 SMP PREEMPT", "aarch64"});
  env.SetFile("/proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0"s);
  env.SetFile("/proc/device-tree/compatible", "raspberrypi,4-model-b\0brcm,bcm2711\0"s);
  env.SetFile("/proc/cpuinfo",
              "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n"
              "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n"
              "Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n");

  const Json d = CollectSnapshot(env, nullptr, {});

  EXPECT_EQ(d["architecture"], "aarch64");
  EXPECT_EQ(d["hardware"]["source"], "devicetree");
  EXPECT_EQ(d["hardware"]["vendor"], "raspberrypi");
  EXPECT_EQ(d["hardware"]["model"], "Raspberry Pi 4 Model B Rev 1.4");
  EXPECT_EQ(d["hardware"]["compatible"], (Json{"raspberrypi,4-model-b", "brcm,bcm2711"}));
  EXPECT_EQ(d["cpu"]["model"], "Cortex-A72");
  EXPECT_EQ(d["cpu"]["vendor"], "ARM");
  EXPECT_EQ(d["cpu"]["hardware"], "BCM2835");
  EXPECT_EQ(d["cpu"]["count"], 2);
}

TEST(SystemInfoSnapshot, UnreadableDmiFallsBackToDeviceTree) {
  FakeEnv env;
  env.SetFile("/sys/class/dmi/id/sys_vendor", "Hidden\n");
  env.DenyPrefix("/sys/class/dmi");
  env.SetFile("/sys/firmware/devicetree/base/model", "GL.iNet GL-MT300N-V2\0"s);
  env.SetFile("/sys/firmware/devicetree/base/compatible", "glinet,gl-mt300n-v2\0mediatek,mt7628an-soc\0"s);

  const Json d = CollectSnapshot(env, nullptr, {});

  EXPECT_EQ(d["hardware"]["source"], "devicetree");
  EXPECT_EQ(d["hardware"]["vendor"], "glinet");
  EXPECT_EQ(d["hardware"]["model"], "GL.iNet GL-MT300N-V2");
}

TEST(SystemInfoSnapshot, BoardModelFromCpuinfoWhenNoDmiNorDeviceTree) {
  FakeEnv env;
  env.SetFile("/proc/cpuinfo", "processor : 0\nModel : Raspberry Pi Zero W Rev 1.1\n");
  const Json d = CollectSnapshot(env, nullptr, {});
  EXPECT_EQ(d["hardware"]["source"], "cpuinfo");
  EXPECT_EQ(d["hardware"]["model"], "Raspberry Pi Zero W Rev 1.1");
}

TEST(SystemInfoSnapshot, OsReleaseFallsBackToUsrLib) {
  FakeEnv env;
  env.SetFile("/usr/lib/os-release", "ID=openwrt\nVERSION_ID=\"23.05.3\"\nBUILD_ID=\"r23809\"\n");
  const Json d = CollectSnapshot(env, nullptr, {});
  EXPECT_EQ(d["os"]["id"], "openwrt");
  EXPECT_EQ(d["os"]["version_id"], "23.05.3");
  EXPECT_EQ(d["os"]["build_id"], "r23809");
}

TEST(SystemInfoSnapshot, EtcOsReleaseWinsOverUsrLib) {
  FakeEnv env;
  env.SetFile("/etc/os-release", "ID=alpine\n");
  env.SetFile("/usr/lib/os-release", "ID=other\n");
  EXPECT_EQ(CollectSnapshot(env, nullptr, {})["os"]["id"], "alpine");
}

TEST(SystemInfoSnapshot, LeavesOutEveryPartThatCannotBeRead) {
  FakeEnv env;
  env.SetHostname("");
  env.SetUname({});
  FakeInterfaceAddressSource addrs;
  addrs.SetError(Status::Unavailable("getifaddrs: no netlink"));

  const Json d = CollectSnapshot(env, &addrs, {});

  for (const char* key : {"hostname", "architecture", "kernel", "os", "hardware", "cpu", "memory_total_bytes",
                          "boot_ts", "nics", "agent_version"}) {
    EXPECT_FALSE(d.contains(key)) << key;
  }
  EXPECT_TRUE(d.is_object());
  EXPECT_EQ(addrs.calls(), 1);
}

TEST(SystemInfoSnapshot, MalformedFilesLeaveOnlyTheirOwnPartsOut) {
  FakeEnv env;
  env.SetFile("/etc/os-release", "\xFF\xFE garbage\n=\n");
  env.SetFile("/proc/cpuinfo", "\0\0\0"s);
  env.SetFile("/proc/meminfo", "MemTotal: many\n");
  env.SetFile("/proc/stat", "btime soon\n");
  env.SetFile("/sys/class/net/eth0/address", "not a mac\n");
  env.SetFile("/sys/class/net/eth0/mtu", "big\n");

  const Json d = CollectSnapshot(env, nullptr, {});

  EXPECT_FALSE(d.contains("os"));
  EXPECT_FALSE(d.contains("cpu"));
  EXPECT_FALSE(d.contains("memory_total_bytes"));
  EXPECT_FALSE(d.contains("boot_ts"));
  ASSERT_EQ(d["nics"].size(), 1u);
  EXPECT_EQ(d["nics"][0], (Json{{"name", "eth0"}}));
  EXPECT_EQ(d["hostname"], "fakehost");  // the parts that could be read are still there
  EXPECT_EQ(d["kernel"]["release"], "6.1.0-fake");
}

TEST(SystemInfoSnapshot, AddressSourceFailureKeepsNicsFromSysfs) {
  FakeEnv env;
  SetX86Host(env);
  FakeInterfaceAddressSource addrs;
  AddX86Addresses(addrs);
  addrs.SetError(Status::Unavailable("no netlink"));
  const Json d = CollectSnapshot(env, &addrs, {});
  ASSERT_EQ(d["nics"].size(), 2u);
  EXPECT_EQ(d["nics"][0]["mac"], "00:0b:ab:12:34:56");
  EXPECT_FALSE(d["nics"][0].contains("ipv4"));
}

TEST(SystemInfoSnapshot, CpuCountFallsBackToOnlineList) {
  FakeEnv env;
  env.SetFile("/proc/cpuinfo", "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nHardware\t: BCM2835\n");
  env.SetFile("/sys/devices/system/cpu/online", "0\n");
  const Json d = CollectSnapshot(env, nullptr, {});
  EXPECT_EQ(d["cpu"]["model"], "ARMv6-compatible processor rev 7 (v6l)");
  EXPECT_EQ(d["cpu"]["count"], 1);
}

TEST(SystemInfoSnapshot, CapsInterfacesAndAddressesAndCountsTheRest) {
  FakeEnv env;
  FakeInterfaceAddressSource addrs;
  for (int i = 0; i < 5; ++i) env.SetFile("/sys/class/net/veth" + std::to_string(i) + "/mtu", "1500\n");
  for (int i = 0; i < 4; ++i) addrs.Add("veth0", 6, "2001:db8::" + std::to_string(i + 1), 64);
  SnapshotOptions opts;
  opts.max_nics = 2;
  opts.max_addresses = 3;

  const Json d = CollectSnapshot(env, &addrs, opts);

  ASSERT_EQ(d["nics"].size(), 2u);
  EXPECT_EQ(d["nics"][0]["name"], "veth0");
  EXPECT_EQ(d["nics"][1]["name"], "veth1");
  EXPECT_EQ(d["nics_omitted"], 3);
  EXPECT_EQ(d["nics"][0]["ipv6"].size(), 3u);
  EXPECT_EQ(d["nics"][0]["addresses_omitted"], 1);
}

TEST(SystemInfoSnapshot, InvalidUtf8InDmiIsSanitised) {
  FakeEnv env;
  env.SetFile("/sys/class/dmi/id/sys_vendor", "Acme\xFF\x01 Corp\n");
  const Json d = CollectSnapshot(env, nullptr, {});
  EXPECT_EQ(d["hardware"]["vendor"], "Acme\xEF\xBF\xBD  Corp");
  EXPECT_NO_THROW(d.dump());
}

// --- The collector: lifecycle and scheduling ----------------------------------------------

class SystemInfoCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("system_info", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    SetX86Host(env_);
  }

  std::unique_ptr<SystemInfoCollector> Make() {
    ctx_ =
        std::make_unique<CollectorContext>(CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kLow});
    auto addrs = std::make_unique<FakeInterfaceAddressSource>();
    AddX86Addresses(*addrs);
    return std::make_unique<SystemInfoCollector>(*ctx_, std::move(addrs));
  }

  void RunDue() { scheduler_.RunDue(env_.manual_clock().MonotonicMs()); }

  std::vector<Event> Drain() {
    std::vector<Event> out;
    bus_.PopAll(&out, std::chrono::milliseconds(0));
    return out;
  }

  FakeEnv env_;
  EventBus bus_{16};
  Scheduler scheduler_;
  CollectorStats stats_{"system_info"};
  ConfigSchema schema_;
  Config config_;
  std::unique_ptr<CollectorContext> ctx_;
};

TEST_F(SystemInfoCollectorTest, EmitsSnapshotAtStartAndEveryInterval) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  RunDue();
  std::vector<Event> events = Drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "system_info");
  EXPECT_EQ(events[0].action, "snapshot");
  EXPECT_EQ(events[0].priority, Priority::kLow);
  EXPECT_EQ(events[0].ts_ms, env_.manual_clock().NowMs());
  EXPECT_EQ(events[0].data["hostname"], "gateway-01");
  EXPECT_EQ(events[0].data["agent_version"], std::string(AgentVersion()));
  EXPECT_EQ(stats_.collected.load(), 1u);

  env_.manual_clock().Advance(kHourMs - 1);
  RunDue();
  EXPECT_TRUE(Drain().empty());

  env_.manual_clock().Advance(1);
  RunDue();
  EXPECT_EQ(Drain().size(), 1u);
  c->Stop();
}

TEST_F(SystemInfoCollectorTest, ConfiguredIntervalAndMaxNicsAreUsed) {
  ASSERT_TRUE(config_.Set(schema_, "system_info.interval", "2h").ok());
  ASSERT_TRUE(config_.Set(schema_, "system_info.max_nics", "1").ok());
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  RunDue();
  std::vector<Event> first = Drain();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].data["nics"].size(), 1u);
  EXPECT_EQ(first[0].data["nics_omitted"], 1);

  env_.manual_clock().Advance(kHourMs);
  RunDue();
  EXPECT_TRUE(Drain().empty());
  env_.manual_clock().Advance(kHourMs);
  RunDue();
  EXPECT_EQ(Drain().size(), 1u);
}

TEST_F(SystemInfoCollectorTest, StartTwiceRegistersOneTask) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  ASSERT_TRUE(c->Start().ok());
  RunDue();
  EXPECT_EQ(Drain().size(), 1u);
}

TEST_F(SystemInfoCollectorTest, StopSilencesTheTaskEvenAfterDestruction) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  c->Stop();
  c->Stop();  // idempotent
  RunDue();
  EXPECT_TRUE(Drain().empty());
  c.reset();  // the Scheduler still holds the task; running it must be harmless
  env_.manual_clock().Advance(kHourMs);
  RunDue();
  EXPECT_TRUE(Drain().empty());
}

TEST(SystemInfoSettings, DefaultsValidateAndLimitsAreEnforced) {
  ConfigSchema schema;
  schema.AddSection("system_info", "", kDescriptor.settings);
  for (const SettingSpec& spec : kDescriptor.settings) {
    EXPECT_TRUE(ParseSettingValue(spec, spec.default_value).ok()) << spec.key;
    EXPECT_FALSE(spec.help.empty()) << spec.key;
  }
  Config config = Config::Defaults(schema);
  EXPECT_EQ(config.GetInt("system_info.interval"), kHourMs);
  EXPECT_EQ(config.GetInt("system_info.max_nics"), 64);
  EXPECT_FALSE(config.Set(schema, "system_info.interval", "10s").ok());  // below 1m
  EXPECT_FALSE(config.Set(schema, "system_info.interval", "30d").ok());  // above 7d
  EXPECT_FALSE(config.Set(schema, "system_info.max_nics", "0").ok());
  EXPECT_EQ(config.GetInt("system_info.interval"), kHourMs);  // refused values change nothing
}

TEST(SystemInfoDescriptor, IsNamedAndLowPriority) {
  EXPECT_EQ(kDescriptor.name, "system_info");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kLow);
  EXPECT_NE(kDescriptor.factory, nullptr);
  EXPECT_FALSE(kDescriptor.help.empty());
}

}  // namespace
}  // namespace vigil::system_info
