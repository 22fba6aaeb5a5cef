#include "agent/collectors/peripheral/device_info.h"

#include <string>

#include <gtest/gtest.h>

#include "agent/collectors/peripheral/test_fixtures.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::peripheral {
namespace {

Uevent Parsed(const std::string& message) {
  auto ev = ParseUevent(message);
  EXPECT_TRUE(ev.ok()) << ev.status().ToString();
  return ev.ok() ? *ev : Uevent{};
}

DeviceDescriber Describer(FakeEnv& env, std::set<std::string, std::less<>> subsystems = {"usb", "net", "block",
                                                                                         "tty"}) {
  return DeviceDescriber(env, std::move(subsystems));
}

TEST(CleanText, KeepsValidUtf8AndReplacesTheRest) {
  EXPECT_EQ(CleanText("  SanDisk \n"), "SanDisk");
  EXPECT_EQ(CleanText("Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac"), "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac");
  EXPECT_EQ(CleanText("a\x01" "b\x7f" "c"), "a?b?c");
  EXPECT_EQ(CleanText("bad \xff\xfe end"), "bad ?? end");
  EXPECT_EQ(CleanText("overlong \xc0\xaf"), "overlong ??");
  EXPECT_EQ(CleanText("surrogate \xed\xa0\x80"), "surrogate ???");
  EXPECT_EQ(CleanText("c1 \xc2\x85"), "c1 ??");
  EXPECT_EQ(CleanText("cut \xe2\x82"), "cut ??");
  EXPECT_EQ(CleanText("new\nline"), "new?line");
}

TEST(CleanText, CutsOnACharacterBoundary) {
  EXPECT_EQ(CleanText("abcdef", 4), "abcd");
  EXPECT_EQ(CleanText("ab\xe2\x82\xac", 4), "ab");  // the euro sign does not fit
  EXPECT_EQ(CleanText(std::string(1000, 'x')).size(), kMaxTextBytes);
}

TEST(UsbClassName, NamesTheBaseClasses) {
  EXPECT_EQ(UsbClassName(0x08), "mass_storage");
  EXPECT_EQ(UsbClassName(0x03), "hid");
  EXPECT_EQ(UsbClassName(0x09), "hub");
  EXPECT_EQ(UsbClassName(0xff), "vendor_specific");
  EXPECT_EQ(UsbClassName(0x00), "");
  EXPECT_EQ(UsbClassName(0x42), "");
}

TEST(NormalizeMac, LowerCasesAndRefusesOddShapes) {
  EXPECT_EQ(NormalizeMac("52:54:00:AB:cd:01\n"), "52:54:00:ab:cd:01");
  EXPECT_EQ(NormalizeMac("00:00:00:00:00:00"), "");
  EXPECT_EQ(NormalizeMac(""), "");
  EXPECT_EQ(NormalizeMac("52:54:00:ab:cd"), "52:54:00:ab:cd");  // any number of bytes
  EXPECT_EQ(NormalizeMac("52-54-00-ab-cd-01"), "");
  EXPECT_EQ(NormalizeMac("5g:54:00:ab:cd:01"), "");
  EXPECT_EQ(NormalizeMac("525:4"), "");
}

TEST(ParseUeventFile, ReadsLinesAndStopsAtABadOneKeepingTheRest) {
  std::vector<std::pair<std::string, std::string>> fields;
  EXPECT_TRUE(ParseUeventFile("MAJOR=8\nDEVNAME=sdb\n\nDEVTYPE=disk", &fields).ok());
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[2], (std::pair<std::string, std::string>{"DEVTYPE", "disk"}));

  fields.clear();
  Status st = ParseUeventFile("MAJOR=8\ngarbage\nDEVTYPE=disk\n", &fields);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("line 2: no '='"), std::string::npos) << st.ToString();
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].first, "MAJOR");

  fields.clear();
  st = ParseUeventFile("=x\n", &fields);
  EXPECT_NE(st.message().find("line 1: empty key"), std::string::npos) << st.ToString();
}

TEST(ParseClassTriplet, ReadsDecimalTriplets) {
  int c = 0, s = 0, p = 0;
  ASSERT_TRUE(ParseClassTriplet("8/6/80", &c, &s, &p));
  EXPECT_EQ(c, 8);
  EXPECT_EQ(s, 6);
  EXPECT_EQ(p, 80);
  EXPECT_FALSE(ParseClassTriplet("8/6", &c, &s, &p));
  EXPECT_FALSE(ParseClassTriplet("8/6/80/1", &c, &s, &p));
  EXPECT_FALSE(ParseClassTriplet("8/x/80", &c, &s, &p));
  EXPECT_FALSE(ParseClassTriplet("8/6/256", &c, &s, &p));
  EXPECT_FALSE(ParseClassTriplet("", &c, &s, &p));
}

TEST(DeviceDescriber, DescribesAUsbFlashDriveFromSysfs) {
  FakeEnv env;
  testdata::AddFlashSysfs(env);
  const Json d = Describer(env).Describe(Parsed(testdata::FlashAdd()));
  EXPECT_EQ(d["subsystem"], "usb");
  EXPECT_EQ(d["devpath"], testdata::kFlash);
  EXPECT_EQ(d["devtype"], "usb_device");
  EXPECT_EQ(d["devname"], "/dev/bus/usb/001/006");
  EXPECT_EQ(d["vendor_id"], "0781");
  EXPECT_EQ(d["product_id"], "5567");
  EXPECT_EQ(d["class"], 0);
  EXPECT_EQ(d["subclass"], 0);
  EXPECT_EQ(d["protocol"], 0);
  EXPECT_FALSE(d.contains("class_name"));
  EXPECT_EQ(d["busnum"], 1);
  EXPECT_EQ(d["devnum"], 6);
  EXPECT_EQ(d["manufacturer"], "SanDisk");
  EXPECT_EQ(d["product"], "Cruzer Blade");
  EXPECT_EQ(d["serial"], "4C530001230101117164");
  EXPECT_EQ(d["interfaces"], Json::parse(R"([{"class":8,"subclass":6,"protocol":80,"class_name":"mass_storage",
                                               "driver":"usb-storage"}])"));
  EXPECT_EQ(d["classes"], Json::array({"mass_storage"}));
  EXPECT_FALSE(d.contains("driver"));
  EXPECT_FALSE(d.contains("synthetic"));
  EXPECT_FALSE(d.contains("usb_devpath"));
}

TEST(DeviceDescriber, FallsBackToTheUeventWhenSysfsIsGone) {
  FakeEnv env;
  UsbInterfaceSeen seen{"1-2:1.0", 8, 6, 80, "usb-storage"};
  const Json d = Describer(env).Describe(Parsed(testdata::FlashAdd()), {seen});
  EXPECT_EQ(d["vendor_id"], "0781");
  EXPECT_EQ(d["product_id"], "5567");
  EXPECT_EQ(d["class"], 0);
  EXPECT_EQ(d["busnum"], 1);
  EXPECT_EQ(d["devnum"], 6);
  EXPECT_FALSE(d.contains("manufacturer"));
  EXPECT_FALSE(d.contains("serial"));
  ASSERT_TRUE(d.contains("interfaces"));
  EXPECT_EQ(d["interfaces"][0]["driver"], "usb-storage");
  EXPECT_EQ(d["classes"], Json::array({"mass_storage"}));
}

TEST(DeviceDescriber, NamesHidBootKeyboardsAndMice) {
  FakeEnv env;
  const std::string dev = "/devices/pci0000:00/0000:00:14.0/usb1/1-4";
  env.SetFile("/sys" + dev + "/bDeviceClass", "00\n");
  env.SetFile("/sys" + dev + "/bDeviceSubClass", "00\n");
  env.SetFile("/sys" + dev + "/bDeviceProtocol", "00\n");
  for (const auto& [n, proto] : {std::pair{"0", "01"}, std::pair{"1", "02"}}) {
    const std::string i = "/sys" + dev + "/1-4:1." + n;
    env.SetFile(i + "/bInterfaceClass", "03\n");
    env.SetFile(i + "/bInterfaceSubClass", "01\n");
    env.SetFile(i + "/bInterfaceProtocol", std::string(proto) + "\n");
  }
  Uevent ev;
  ev.action = "add";
  ev.subsystem = "usb";
  ev.devpath = dev;
  ev.fields = {{"DEVTYPE", "usb_device"}};
  const Json d = Describer(env).Describe(ev);
  EXPECT_EQ(d["classes"], Json::array({"hid", "keyboard", "mouse"}));
  EXPECT_EQ(d["interfaces"].size(), 2u);
}

TEST(DeviceDescriber, DevicesDescriptorsAreCleaned) {
  FakeEnv env;
  testdata::AddFlashSysfs(env);
  env.SetFile("/sys" + std::string(testdata::kFlash) + "/product", "Evil\x1b[2J\xff" + std::string(400, 'A') + "\n");
  const Json d = Describer(env).Describe(Parsed(testdata::FlashAdd()));
  const std::string product = d["product"];
  EXPECT_TRUE(product.starts_with("Evil?[2J?AAA")) << product;
  EXPECT_EQ(product.size(), kMaxTextBytes);
  EXPECT_NO_THROW((void)d.dump());
}

TEST(DeviceDescriber, DescribesANetworkInterface) {
  FakeEnv env;
  testdata::AddNetSysfs(env);
  testdata::AddVethSysfs(env);
  const Json veth = Describer(env).Describe(Parsed(testdata::VethAdd()));
  EXPECT_EQ(veth, Json::parse(R"({"subsystem":"net","devpath":"/devices/virtual/net/vigiltest0",
      "interface":"vigiltest0","ifindex":7,"mac":"6e:2f:10:aa:bb:cc","virtual":true})"));

  Uevent eth;
  eth.action = "present";
  eth.subsystem = "net";
  eth.devpath = "/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0";
  const Json d = Describer(env).Describe(eth);
  EXPECT_EQ(d["interface"], "eth0");
  EXPECT_FALSE(d.contains("ifindex"));  // no uevent field, no sysfs ifindex in this fixture
  EXPECT_EQ(d["mac"], "52:54:00:ab:cd:01");
  EXPECT_EQ(d["virtual"], false);
  EXPECT_EQ(d["driver"], "virtio_net");
}

TEST(DeviceDescriber, DescribesAUsbDiskAndSerialPort) {
  FakeEnv env;
  testdata::AddFlashSysfs(env);
  const Json disk = Describer(env).Describe(Parsed(testdata::FlashDiskAdd()));
  EXPECT_EQ(disk["devname"], "/dev/sdb");
  EXPECT_EQ(disk["devtype"], "disk");
  EXPECT_EQ(disk["removable"], true);
  EXPECT_EQ(disk["size_bytes"], int64_t{60063744} * 512);
  EXPECT_EQ(disk["vendor"], "SanDisk");
  EXPECT_EQ(disk["model"], "Cruzer Blade");
  EXPECT_EQ(disk["driver"], "sd");
  EXPECT_EQ(disk["usb_devpath"], testdata::kFlash);

  const Json tty = Describer(env).Describe(Parsed(testdata::SerialTtyAdd()));
  EXPECT_EQ(tty["devname"], "/dev/ttyUSB0");
  EXPECT_EQ(tty["usb_devpath"], testdata::kSerial);
}

TEST(DeviceDescriber, RelevantOnlyForWholeDevicesOfInterest) {
  FakeEnv env;
  testdata::AddFlashSysfs(env);
  const DeviceDescriber d = Describer(env);
  EXPECT_TRUE(d.Relevant(Parsed(testdata::FlashAdd()), false));
  EXPECT_FALSE(d.Relevant(Parsed(testdata::FlashInterfaceAdd()), false));
  EXPECT_TRUE(d.Relevant(Parsed(testdata::FlashDiskAdd()), false));
  EXPECT_FALSE(d.Relevant(Parsed(testdata::FlashPartitionAdd()), false));
  EXPECT_TRUE(d.Relevant(Parsed(testdata::SerialTtyAdd()), false));
  EXPECT_TRUE(d.Relevant(Parsed(testdata::VethAdd()), false));
  EXPECT_FALSE(d.Relevant(Parsed(testdata::VethQueueAdd()), false));

  // A built-in serial port and a fixed SATA disk are not peripherals.
  Uevent ttys0;
  ttys0.subsystem = "tty";
  ttys0.devpath = "/devices/platform/serial8250/tty/ttyS0";
  EXPECT_FALSE(d.Relevant(ttys0, false));
  Uevent sda;
  sda.subsystem = "block";
  sda.devpath = "/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda";
  sda.fields = {{"DEVTYPE", "disk"}};
  env.SetFile("/sys" + sda.devpath + "/removable", "0\n");
  EXPECT_FALSE(d.Relevant(sda, false));
  // An SD card slot says removable.
  env.SetFile("/sys" + sda.devpath + "/removable", "1\n");
  EXPECT_TRUE(d.Relevant(sda, false));
  EXPECT_FALSE(d.Relevant(sda, /*removing=*/true));  // cannot tell once gone

  // Subsystems that are not configured.
  const DeviceDescriber net_only = Describer(env, {"net"});
  EXPECT_FALSE(net_only.Relevant(Parsed(testdata::FlashAdd()), false));
  EXPECT_TRUE(net_only.Relevant(Parsed(testdata::VethAdd()), false));

  // input: inputN only, not its event/mouse nodes.
  const DeviceDescriber input = Describer(env, {"input"});
  Uevent in;
  in.subsystem = "input";
  in.devpath = "/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4:1.0/0003:046D:C52B.0001/input/input5";
  EXPECT_TRUE(input.Relevant(in, false));
  in.devpath += "/event3";
  EXPECT_FALSE(input.Relevant(in, false));
}

TEST(DeviceDescriber, DescribesAnInputDevice) {
  FakeEnv env;
  Uevent in;
  in.action = "add";
  in.subsystem = "input";
  in.devpath = "/devices/pci0000:00/0000:00:14.0/usb1/1-4/1-4:1.0/0003:046D:C52B.0001/input/input5";
  in.fields = {{"PRODUCT", "3/46d/c52b/111"}, {"NAME", "\"Logitech USB Receiver\""},
               {"PHYS", "\"usb-0000:00:14.0-4/input0\""}};
  const Json d = Describer(env, {"input"}).Describe(in);
  EXPECT_EQ(d["name"], "Logitech USB Receiver");
  EXPECT_EQ(d["phys"], "usb-0000:00:14.0-4/input0");
  EXPECT_EQ(d["vendor_id"], "046d");
  EXPECT_EQ(d["product_id"], "c52b");
  EXPECT_EQ(d["usb_devpath"], "/devices/pci0000:00/0000:00:14.0/usb1/1-4");
}

TEST(DeviceDescriber, ListsWhatIsPresent) {
  FakeEnv env;
  testdata::AddFlashSysfs(env);
  testdata::AddNetSysfs(env);
  // A fixed disk, a partition and a built-in serial port are left out.
  env.SetLink("/sys/class/block/sda", "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda");
  env.SetFile("/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/removable", "0\n");
  env.SetFile("/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/uevent",
              "DEVNAME=sda\nDEVTYPE=disk\n");
  env.SetLink("/sys/class/block/sdb1",
              "../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb/sdb1");
  env.SetFile("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb/sdb1/uevent",
              "DEVNAME=sdb1\nDEVTYPE=partition\n");
  env.SetLink("/sys/class/tty/ttyS0", "../../devices/platform/serial8250/tty/ttyS0");
  // A link that does not lead into /sys/devices is skipped.
  env.SetLink("/sys/class/net/odd", "../../../elsewhere");

  std::vector<std::string> devpaths;
  for (const Uevent& ev : Describer(env).ListPresent()) {
    EXPECT_EQ(ev.action, "present");
    devpaths.push_back(ev.devpath);
  }
  EXPECT_EQ(devpaths, (std::vector<std::string>{
                          std::string(testdata::kFlashDisk),
                          "/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0",
                          "/devices/virtual/net/lo",
                          std::string(testdata::kFlash),
                      }));
}

}  // namespace
}  // namespace vigil::peripheral
