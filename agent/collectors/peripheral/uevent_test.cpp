#include "agent/collectors/peripheral/uevent.h"

#include <string>

#include <gtest/gtest.h>

#include "agent/collectors/peripheral/test_fixtures.h"

namespace vigil::peripheral {
namespace {

using testdata::Message;

TEST(ParseUevent, ReadsAUsbDeviceAdd) {
  auto ev = ParseUevent(testdata::FlashAdd());
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->action, "add");
  EXPECT_EQ(ev->devpath, testdata::kFlash);
  EXPECT_EQ(ev->subsystem, "usb");
  EXPECT_EQ(ev->seqnum, 4021u);
  EXPECT_EQ(ev->Get("DEVTYPE"), "usb_device");
  EXPECT_EQ(ev->Get("PRODUCT"), "781/5567/126");
  EXPECT_EQ(ev->Get("BUSNUM"), "001");
  EXPECT_EQ(ev->Get("NOPE"), "");
  EXPECT_TRUE(ev->Has("DEVNUM"));
  EXPECT_FALSE(ev->Has("DRIVER"));
  EXPECT_EQ(ev->fields.size(), 12u);
  EXPECT_EQ(ev->fields.front(), (std::pair<std::string, std::string>{"ACTION", "add"}));
}

TEST(ParseUevent, ReadsInterfaceBindAndNetRemove) {
  auto bind = ParseUevent(testdata::FlashInterfaceBind());
  ASSERT_TRUE(bind.ok()) << bind.status().ToString();
  EXPECT_EQ(bind->action, "bind");
  EXPECT_EQ(bind->Get("DRIVER"), "usb-storage");
  EXPECT_EQ(bind->Get("INTERFACE"), "8/6/80");

  auto rm = ParseUevent(testdata::VethRemove());
  ASSERT_TRUE(rm.ok()) << rm.status().ToString();
  EXPECT_EQ(rm->action, "remove");
  EXPECT_EQ(rm->subsystem, "net");
  EXPECT_EQ(rm->Get("INTERFACE"), "vigiltest0");
  EXPECT_EQ(rm->seqnum, 849u);
}

TEST(ParseUevent, KeepsValuesWithEqualsSignsAndSkipsEmptyFields) {
  std::string m = Message("change@/devices/virtual/misc/x",
                          {"ACTION=change", "DEVPATH=/devices/virtual/misc/x", "SUBSYSTEM=misc", "", "EVENT=a=b",
                           "EMPTY=", "SEQNUM=1"});
  m.push_back('\0');  // a doubled NUL at the end
  auto ev = ParseUevent(m);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->Get("EVENT"), "a=b");
  EXPECT_TRUE(ev->Has("EMPTY"));
  EXPECT_EQ(ev->fields.size(), 6u);
}

TEST(ParseUevent, AcceptsAMessageWithoutTheFinalNul) {
  std::string m = testdata::VethAdd();
  m.pop_back();
  auto ev = ParseUevent(m);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->seqnum, 833u);
}

TEST(ParseUevent, RefusesLibudevMessages) {
  std::string m("libudev\0\xfe\xed\xca\xfe", 12);
  m.append(std::string(28, '\0'));
  m += "ACTION=add";
  auto ev = ParseUevent(m);
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("libudev"), std::string::npos) << ev.status().ToString();
}

struct Malformed {
  const char* what;
  std::string message;
  const char* says;  // a part of the error message
};

TEST(ParseUevent, RefusesMalformedMessagesNamingTheProblem) {
  const Malformed cases[] = {
      {"empty", "", "empty message"},
      {"no @", Message("add/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=1"}), "no '@'"},
      {"empty action", Message("@/devices/x", {"ACTION=", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=1"}),
       "empty action"},
      {"upper-case action", Message("ADD@/devices/x", {"SUBSYSTEM=x", "SEQNUM=1"}), "lower-case"},
      {"relative devpath", Message("add@devices/x", {"ACTION=add", "DEVPATH=devices/x", "SUBSYSTEM=x", "SEQNUM=1"}),
       "start with '/'"},
      {"dot-dot devpath",
       Message("add@/devices/../../etc", {"ACTION=add", "DEVPATH=/devices/../../etc", "SUBSYSTEM=x", "SEQNUM=1"}),
       "'..' component"},
      {"empty component", Message("add@/devices//x", {"ACTION=add", "DEVPATH=/devices//x", "SUBSYSTEM=x", "SEQNUM=1"}),
       "empty component"},
      {"control character", Message("add@/devices/x\ty", {"SUBSYSTEM=x", "SEQNUM=1"}), "control character"},
      {"field without =", Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "GARBAGE", "SEQNUM=1"}),
       "field 3 'GARBAGE': no '='"},
      {"empty key", Message("add@/devices/x", {"ACTION=add", "=v", "SUBSYSTEM=x", "SEQNUM=1"}), "empty key"},
      {"bad key", Message("add@/devices/x", {"ACTION=add", "KE Y=v", "SUBSYSTEM=x", "SEQNUM=1"}), "key has"},
      {"action mismatch",
       Message("add@/devices/x", {"ACTION=remove", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=1"}),
       "field 1 'ACTION': 'remove' differs"},
      {"devpath mismatch",
       Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/y", "SUBSYSTEM=x", "SEQNUM=1"}),
       "'DEVPATH': differs"},
      {"no action field", Message("add@/devices/x", {"DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=1"}),
       "no ACTION"},
      {"no devpath field", Message("add@/devices/x", {"ACTION=add", "SUBSYSTEM=x", "SEQNUM=1"}), "no DEVPATH"},
      {"no subsystem", Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SEQNUM=1"}), "no SUBSYSTEM"},
      {"empty subsystem", Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=", "SEQNUM=1"}),
       "'SUBSYSTEM': empty"},
      {"no seqnum", Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=x"}), "no SEQNUM"},
      {"seqnum not a number",
       Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=12a"}),
       "'SEQNUM': '12a' is not a decimal number"},
      {"seqnum too big",
       Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=99999999999999999999"}),
       "not a decimal number"},
      {"too long", "add@/devices/x" + std::string(kMaxUeventBytes, 'a'), "more than 8192"},
  };
  for (const Malformed& c : cases) {
    auto ev = ParseUevent(c.message);
    ASSERT_FALSE(ev.ok()) << c.what;
    EXPECT_EQ(ev.status().code(), Status::Code::kInvalidArgument) << c.what;
    EXPECT_NE(ev.status().message().find(c.says), std::string::npos) << c.what << ": " << ev.status().ToString();
  }
}

TEST(ParseUevent, RefusesTooManyFields) {
  std::string m = Message("add@/devices/x", {"ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=x", "SEQNUM=1"});
  for (size_t i = 0; i < kMaxUeventFields; ++i) m += "K" + std::to_string(i) + "=v" + std::string(1, '\0');
  auto ev = ParseUevent(m);
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("more than 128 fields"), std::string::npos) << ev.status().ToString();
}

TEST(ParseUevent, LongDevpathIsRefused) {
  const std::string devpath = "/devices/" + std::string(kMaxDevpathBytes, 'x');
  auto ev = ParseUevent(Message("add@" + devpath, {"SUBSYSTEM=x", "SEQNUM=1"}));
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("longer than"), std::string::npos);
}

TEST(UsbDeviceDevpath, FindsTheUsbDeviceADeviceSitsOn) {
  EXPECT_EQ(UsbDeviceDevpath(testdata::kFlashDisk), testdata::kFlash);
  EXPECT_EQ(UsbDeviceDevpath(testdata::kSerialTty), testdata::kSerial);
  EXPECT_EQ(UsbDeviceDevpath(testdata::kFlash), testdata::kFlash);
  EXPECT_EQ(UsbDeviceDevpath("/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4.2/1-1.4.2:1.0/net/eth1"),
            "/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4.2");
  EXPECT_EQ(UsbDeviceDevpath("/devices/virtual/net/lo"), "");
  EXPECT_EQ(UsbDeviceDevpath("/devices/pci0000:00/0000:00:14.0/usb1"), "");
  EXPECT_EQ(UsbDeviceDevpath("/devices/platform/serial8250/tty/ttyS0"), "");
  EXPECT_EQ(UsbDeviceDevpath("/devices/x/1-/y"), "");
  EXPECT_EQ(UsbDeviceDevpath("/devices/x/1-2./y"), "");
  EXPECT_EQ(UsbDeviceDevpath("/devices/x/a-2/y"), "");
}

TEST(BaseName, IsTheLastComponent) {
  EXPECT_EQ(BaseName("/devices/virtual/net/lo"), "lo");
  EXPECT_EQ(BaseName("lo"), "lo");
  EXPECT_EQ(BaseName("/a/"), "");
}

}  // namespace
}  // namespace vigil::peripheral
