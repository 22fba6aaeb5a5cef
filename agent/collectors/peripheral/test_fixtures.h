// Test fixtures for the peripheral collector's unit tests: uevent messages shaped like the
// kernel's (a USB flash drive with its interface and disk, a USB serial adapter, a veth pair)
// and the sysfs files of those devices in a FakeEnv.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "agent/platform/fake/fake_env.h"

namespace vigil::peripheral::testdata {

// "add@/x" + NUL + each field + NUL, as the kernel lays a message out.
inline std::string Message(std::string_view header, std::initializer_list<std::string_view> fields) {
  std::string m(header);
  m.push_back('\0');
  for (std::string_view f : fields) {
    m.append(f);
    m.push_back('\0');
  }
  return m;
}

inline constexpr std::string_view kFlash = "/devices/pci0000:00/0000:00:14.0/usb1/1-2";
inline constexpr std::string_view kFlashIf = "/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0";
inline constexpr std::string_view kFlashDisk =
    "/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb";

// A SanDisk Cruzer Blade (0781:5567): device, interface (mass storage, SCSI, bulk-only),
// the interface bound to usb-storage, the device bound, then its disk and a partition.
inline std::string FlashAdd() {
  return Message("add@/devices/pci0000:00/0000:00:14.0/usb1/1-2",
                 {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2", "SUBSYSTEM=usb", "MAJOR=189",
                  "MINOR=5", "DEVNAME=bus/usb/001/006", "DEVTYPE=usb_device", "PRODUCT=781/5567/126", "TYPE=0/0/0",
                  "BUSNUM=001", "DEVNUM=006", "SEQNUM=4021"});
}
inline std::string FlashInterfaceAdd() {
  return Message("add@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0",
                 {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_interface", "PRODUCT=781/5567/126", "TYPE=0/0/0", "INTERFACE=8/6/80",
                  "MODALIAS=usb:v0781p5567d0126dc00dsc00dp00ic08isc06ip50in00", "SEQNUM=4022"});
}
inline std::string FlashInterfaceBind() {
  return Message("bind@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0",
                 {"ACTION=bind", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_interface", "DRIVER=usb-storage", "PRODUCT=781/5567/126", "TYPE=0/0/0",
                  "INTERFACE=8/6/80", "MODALIAS=usb:v0781p5567d0126dc00dsc00dp00ic08isc06ip50in00", "SEQNUM=4023"});
}
inline std::string FlashBind() {
  return Message("bind@/devices/pci0000:00/0000:00:14.0/usb1/1-2",
                 {"ACTION=bind", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2", "SUBSYSTEM=usb", "MAJOR=189",
                  "MINOR=5", "DEVNAME=bus/usb/001/006", "DEVTYPE=usb_device", "DRIVER=usb", "PRODUCT=781/5567/126",
                  "TYPE=0/0/0", "BUSNUM=001", "DEVNUM=006", "SEQNUM=4030"});
}
inline std::string FlashDiskAdd() {
  return Message(
      "add@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb",
      {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb",
       "SUBSYSTEM=block", "MAJOR=8", "MINOR=16", "DEVNAME=sdb", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=4035"});
}
inline std::string FlashPartitionAdd() {
  return Message(
      "add@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb/sdb1",
      {"ACTION=add",
       "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb/sdb1",
       "SUBSYSTEM=block", "MAJOR=8", "MINOR=17", "DEVNAME=sdb1", "DEVTYPE=partition", "DISKSEQ=9", "PARTN=1",
       "SEQNUM=4036"});
}
inline std::string FlashDiskRemove() {
  return Message(
      "remove@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb",
      {"ACTION=remove",
       "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb",
       "SUBSYSTEM=block", "MAJOR=8", "MINOR=16", "DEVNAME=sdb", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=4051"});
}
inline std::string FlashInterfaceRemove() {
  return Message("remove@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0",
                 {"ACTION=remove", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_interface", "PRODUCT=781/5567/126", "TYPE=0/0/0", "INTERFACE=8/6/80", "SEQNUM=4055"});
}
inline std::string FlashRemove() {
  return Message("remove@/devices/pci0000:00/0000:00:14.0/usb1/1-2",
                 {"ACTION=remove", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2", "SUBSYSTEM=usb", "MAJOR=189",
                  "MINOR=5", "DEVNAME=bus/usb/001/006", "DEVTYPE=usb_device", "PRODUCT=781/5567/126", "TYPE=0/0/0",
                  "BUSNUM=001", "DEVNUM=006", "SEQNUM=4060"});
}

// The flash drive's sysfs files (present while it is plugged in).
inline void AddFlashSysfs(FakeEnv& env) {
  const std::string d(kFlash);
  env.SetFile("/sys" + d + "/idVendor", "0781\n");
  env.SetFile("/sys" + d + "/idProduct", "5567\n");
  env.SetFile("/sys" + d + "/bDeviceClass", "00\n");
  env.SetFile("/sys" + d + "/bDeviceSubClass", "00\n");
  env.SetFile("/sys" + d + "/bDeviceProtocol", "00\n");
  env.SetFile("/sys" + d + "/busnum", "1\n");
  env.SetFile("/sys" + d + "/devnum", "6\n");
  env.SetFile("/sys" + d + "/manufacturer", " SanDisk\n");
  env.SetFile("/sys" + d + "/product", "Cruzer Blade\n");
  env.SetFile("/sys" + d + "/serial", "4C530001230101117164\n");
  env.SetFile("/sys" + d + "/uevent",
              "MAJOR=189\nMINOR=5\nDEVNAME=bus/usb/001/006\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=781/5567/126\n"
              "TYPE=0/0/0\nBUSNUM=001\nDEVNUM=006\n");
  const std::string i(kFlashIf);
  env.SetFile("/sys" + i + "/bInterfaceClass", "08\n");
  env.SetFile("/sys" + i + "/bInterfaceSubClass", "06\n");
  env.SetFile("/sys" + i + "/bInterfaceProtocol", "50\n");
  env.SetLink("/sys" + i + "/driver", "../../../../../../bus/usb/drivers/usb-storage");
  const std::string b(kFlashDisk);
  env.SetFile("/sys" + b + "/removable", "1\n");
  env.SetFile("/sys" + b + "/size", "60063744\n");
  env.SetFile("/sys" + b + "/device/vendor", "SanDisk \n");
  env.SetFile("/sys" + b + "/device/model", "Cruzer Blade    \n");
  env.SetLink("/sys" + b + "/device/driver", "../../../../../../../../../../bus/scsi/drivers/sd");
  env.SetFile("/sys" + b + "/uevent", "MAJOR=8\nMINOR=16\nDEVNAME=sdb\nDEVTYPE=disk\nDISKSEQ=9\n");
  env.SetLink("/sys/bus/usb/devices/1-2", "../../../devices/pci0000:00/0000:00:14.0/usb1/1-2");
  env.SetLink("/sys/bus/usb/devices/1-2:1.0", "../../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0");
  env.SetLink("/sys/class/block/sdb", "../../devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb");
}

inline void RemoveFlashSysfs(FakeEnv& env) {
  env.RemovePath("/sys" + std::string(kFlash));
  env.RemovePath("/sys/bus/usb/devices/1-2");
  env.RemovePath("/sys/bus/usb/devices/1-2:1.0");
  env.RemovePath("/sys/class/block/sdb");
}

// An FTDI FT232R USB serial adapter (0403:6001): device, vendor-specific interface bound to
// ftdi_sio, and its tty.
inline constexpr std::string_view kSerial = "/devices/pci0000:00/0000:00:14.0/usb1/1-3";
inline constexpr std::string_view kSerialTty = "/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/ttyUSB0/tty/ttyUSB0";

inline std::string SerialAdd() {
  return Message("add@/devices/pci0000:00/0000:00:14.0/usb1/1-3",
                 {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3", "SUBSYSTEM=usb", "MAJOR=189",
                  "MINOR=6", "DEVNAME=bus/usb/001/007", "DEVTYPE=usb_device", "PRODUCT=403/6001/600", "TYPE=0/0/0",
                  "BUSNUM=001", "DEVNUM=007", "SEQNUM=5001"});
}
inline std::string SerialInterfaceAdd() {
  return Message("add@/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0",
                 {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_interface", "PRODUCT=403/6001/600", "TYPE=0/0/0", "INTERFACE=255/255/255",
                  "MODALIAS=usb:v0403p6001d0600dc00dsc00dp00icFFiscFFipFFin00", "SEQNUM=5002"});
}
inline std::string SerialInterfaceBind() {
  return Message("bind@/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0",
                 {"ACTION=bind", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_interface", "DRIVER=ftdi_sio", "PRODUCT=403/6001/600", "TYPE=0/0/0",
                  "INTERFACE=255/255/255", "SEQNUM=5006"});
}
inline std::string SerialTtyAdd() {
  return Message("add@/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/ttyUSB0/tty/ttyUSB0",
                 {"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/ttyUSB0/tty/ttyUSB0",
                  "SUBSYSTEM=tty", "MAJOR=188", "MINOR=0", "DEVNAME=ttyUSB0", "SEQNUM=5005"});
}
inline std::string SerialBind() {
  return Message("bind@/devices/pci0000:00/0000:00:14.0/usb1/1-3",
                 {"ACTION=bind", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-3", "SUBSYSTEM=usb",
                  "DEVTYPE=usb_device", "DRIVER=usb", "PRODUCT=403/6001/600", "TYPE=0/0/0", "BUSNUM=001",
                  "DEVNUM=007", "SEQNUM=5007"});
}

// A veth pair end appearing and going (as `ip link add ... type veth` makes it), with its
// queues (subsystem "queues", not reported).
inline std::string VethAdd() {
  return Message("add@/devices/virtual/net/vigiltest0",
                 {"ACTION=add", "DEVPATH=/devices/virtual/net/vigiltest0", "SUBSYSTEM=net", "INTERFACE=vigiltest0",
                  "IFINDEX=7", "SEQNUM=833"});
}
inline std::string VethQueueAdd() {
  return Message("add@/devices/virtual/net/vigiltest0/queues/rx-0",
                 {"ACTION=add", "DEVPATH=/devices/virtual/net/vigiltest0/queues/rx-0", "SUBSYSTEM=queues",
                  "SEQNUM=834"});
}
inline std::string VethRemove() {
  return Message("remove@/devices/virtual/net/vigiltest0",
                 {"ACTION=remove", "DEVPATH=/devices/virtual/net/vigiltest0", "SUBSYSTEM=net",
                  "INTERFACE=vigiltest0", "IFINDEX=7", "SEQNUM=849"});
}
// `echo add > /sys/class/net/lo/uevent`
inline std::string LoopbackSyntheticAdd() {
  return Message("add@/devices/virtual/net/lo", {"ACTION=add", "DEVPATH=/devices/virtual/net/lo", "SUBSYSTEM=net",
                                                 "SYNTH_UUID=0", "INTERFACE=lo", "IFINDEX=1", "SEQNUM=853"});
}

inline void AddNetSysfs(FakeEnv& env) {
  env.SetLink("/sys/class/net/lo", "../../devices/virtual/net/lo");
  env.SetFile("/sys/devices/virtual/net/lo/address", "00:00:00:00:00:00\n");
  env.SetFile("/sys/devices/virtual/net/lo/uevent", "INTERFACE=lo\nIFINDEX=1\n");
  env.SetLink("/sys/class/net/eth0", "../../devices/pci0000:00/0000:00:03.0/virtio2/net/eth0");
  env.SetFile("/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/address", "52:54:00:AB:cd:01\n");
  env.SetFile("/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/uevent", "INTERFACE=eth0\nIFINDEX=2\n");
  env.SetLink("/sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0/device/driver",
              "../../../../bus/virtio/drivers/virtio_net");
}

inline void AddVethSysfs(FakeEnv& env) {
  env.SetLink("/sys/class/net/vigiltest0", "../../devices/virtual/net/vigiltest0");
  env.SetFile("/sys/devices/virtual/net/vigiltest0/address", "6e:2f:10:aa:bb:cc\n");
  env.SetFile("/sys/devices/virtual/net/vigiltest0/uevent", "INTERFACE=vigiltest0\nIFINDEX=7\n");
}

inline void RemoveVethSysfs(FakeEnv& env) {
  env.RemovePath("/sys/class/net/vigiltest0");
  env.RemovePath("/sys/devices/virtual/net/vigiltest0");
}

}  // namespace vigil::peripheral::testdata
