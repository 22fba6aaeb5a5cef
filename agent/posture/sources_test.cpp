#include "agent/posture/sources.h"

#include <gtest/gtest.h>

namespace vigil::posture {
namespace {

TEST(PostureSources, MountsDecodeEscapesAndOptions) {
  auto m = ParseMounts("/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n"
                       "bad line\n/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\n");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].mount_point, "/tmp");
  EXPECT_EQ(m[1].options, (std::vector<std::string>{"rw", "nosuid", "nodev"}));
  EXPECT_EQ(m[1].line, 2u);
  EXPECT_EQ(m[2].mount_point, "/mnt/my disk");
  EXPECT_EQ(m[2].line, 4u);
}

TEST(PostureSources, ProcModulesAndModuleLists) {
  auto loaded = ParseProcModules("usb_storage 81920 0 - Live 0x0\nudf 118784 0 - Live 0x0\n");
  EXPECT_TRUE(loaded.count("usb_storage"));
  EXPECT_TRUE(loaded.count("udf"));
  auto list = ParseModuleList("kernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\nkernel/drivers/usb/storage/usb-storage.ko\n"
                              "kernel/fs/cramfs/cramfs.ko.zst:\nnonsense\n");
  EXPECT_TRUE(list.count("udf"));
  EXPECT_TRUE(list.count("usb_storage"));
  EXPECT_TRUE(list.count("cramfs"));
  EXPECT_FALSE(list.count("crc_itu_t"));  // a dependency, not a module of its own line
  EXPECT_FALSE(list.count("nonsense"));
}

TEST(PostureSources, ModprobeInstallAndBlacklist) {
  ModprobeConfig c;
  ParseModprobeConf("# comment\ninstall cramfs /bin/false\nblacklist usb-storage\ninstall udf \\\n  /bin/true\n"
                    "install cramfs /sbin/modprobe --ignore-install cramfs\n",
                    &c);
  EXPECT_EQ(c.install.at("cramfs"), "/sbin/modprobe --ignore-install cramfs");  // the last one counts
  EXPECT_EQ(c.install.at("udf"), "/bin/true");
  EXPECT_TRUE(c.blacklist.count("usb_storage"));
}

TEST(PostureSources, IdNamesFirstNameWins) {
  auto n = ParseIdNames("root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\nshadow:x:42:\nbad\n+nis::\nx:y:notanumber:\n");
  EXPECT_EQ(n.at(0), "root");
  EXPECT_EQ(n.at(42), "shadow");
  EXPECT_EQ(n.size(), 2u);
}

}  // namespace
}  // namespace vigil::posture

namespace vigil::posture {
namespace {

TEST(PostureSources, Utf8ValidationAndRepair) {
  EXPECT_EQ(FirstInvalidUtf8("plain \xC3\xA9t\xC3\xA9 \xF0\x9F\x94\x92"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("ab\x98" "cd"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);          // overlong
  EXPECT_EQ(FirstInvalidUtf8("x\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("\xE2\x82"), 0u);          // cut short
  EXPECT_EQ(ToValidUtf8("a\x98" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ToValidUtf8("ok"), "ok");
}

}  // namespace
}  // namespace vigil::posture
