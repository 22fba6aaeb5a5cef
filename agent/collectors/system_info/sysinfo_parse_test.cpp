#include "agent/collectors/system_info/sysinfo_parse.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vigil::system_info {
namespace {

using namespace std::string_literals;

// --- SanitizeText -------------------------------------------------------------------------

TEST(SanitizeText, KeepsValidUtf8AndTrims) {
  EXPECT_EQ(SanitizeText("  Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n"), "Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(SanitizeText, ReplacesControlCharactersWithSpaces) {
  EXPECT_EQ(SanitizeText("a\tb\x01"
                         "c\x7F"
                         "d\0e"s),
            "a b c d e");
  EXPECT_EQ(SanitizeText("x\xC2\x85y"), "x y");  // C1 control NEL
}

TEST(SanitizeText, ReplacesInvalidUtf8) {
  const std::string rep = "\xEF\xBF\xBD";
  EXPECT_EQ(SanitizeText("a\xFFz"), "a" + rep + "z");
  EXPECT_EQ(SanitizeText("\xC0\xAF"), rep + rep);                      // overlong '/'
  EXPECT_EQ(SanitizeText("\xED\xA0\x80"), rep + rep + rep);            // UTF-16 surrogate
  EXPECT_EQ(SanitizeText("\xF4\x90\x80\x80"), rep + rep + rep + rep);  // above U+10FFFF
  EXPECT_EQ(SanitizeText("ab\xE2\x82"), "ab" + rep + rep);             // truncated sequence
}

TEST(SanitizeText, CutsAtCharacterBoundary) {
  // "é" is two bytes; a limit of 4 over "aaaé" would split it.
  EXPECT_EQ(SanitizeText("aaa\xC3\xA9", 4), "aaa");
  EXPECT_EQ(SanitizeText("aaa\xC3\xA9", 5), "aaa\xC3\xA9");
  EXPECT_EQ(SanitizeText(std::string(1000, 'x')).size(), kMaxValueBytes);
  EXPECT_EQ(SanitizeText("ab   cd", 4), "ab");  // no trailing blank after the cut
}

TEST(SanitizeText, ResultAlwaysSerialisesAsJson) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string s = SanitizeText(all + all, 300);
  EXPECT_NO_THROW(nlohmann::json(s).dump());
  EXPECT_LE(s.size(), 300u);
}

// --- ParseOsRelease -----------------------------------------------------------------------

TEST(OsRelease, ParsesQuotedAndUnquotedValues) {
  const auto m = ParseOsRelease(
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
      "NAME='Debian GNU/Linux'\n"
      "VERSION_ID=\"12\"\n"
      "ID=debian\n"
      "VERSION_CODENAME=bookworm\n");
  EXPECT_EQ(m.at("PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(m.at("NAME"), "Debian GNU/Linux");
  EXPECT_EQ(m.at("VERSION_ID"), "12");
  EXPECT_EQ(m.at("ID"), "debian");
  EXPECT_EQ(m.at("VERSION_CODENAME"), "bookworm");
}

TEST(OsRelease, ResolvesShellEscapes) {
  const auto m = ParseOsRelease(R"(NAME="say \"hi\" \\ \$HOME \`x\` \n"
ID=a\ b
MIXED="ab"'cd'ef)");
  EXPECT_EQ(m.at("NAME"), R"(say "hi" \ $HOME `x` \n)");
  EXPECT_EQ(m.at("ID"), "a b");
  EXPECT_EQ(m.at("MIXED"), "abcdef");
}

TEST(OsRelease, SkipsCommentsBlankAndMalformedLines) {
  const auto m = ParseOsRelease(
      "# comment\n"
      "\n"
      "   \n"
      "no equals sign\n"
      "=value\n"
      "1ID=x\n"
      "BAD-KEY=x\n"
      "  ID=openwrt  \r\n"
      "VERSION_ID=\"23.05.3\"\r\n");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("ID"), "openwrt");
  EXPECT_EQ(m.at("VERSION_ID"), "23.05.3");
}

TEST(OsRelease, UnterminatedQuoteRunsToEndOfLine) {
  const auto m = ParseOsRelease("NAME=\"Broken\nID=ok\n");
  EXPECT_EQ(m.at("NAME"), "Broken");
  EXPECT_EQ(m.at("ID"), "ok");
}

TEST(OsRelease, LaterAssignmentWinsAndUnquotedBlankEndsValue) {
  const auto m = ParseOsRelease("ID=first\nID=second trailing words\n");
  EXPECT_EQ(m.at("ID"), "second");
}

TEST(OsRelease, EmptyAndBinaryInputGiveNoCrashAndSafeValues) {
  EXPECT_TRUE(ParseOsRelease("").empty());
  const auto m = ParseOsRelease("ID=\xFF\x01\"\0\"\n"s);
  ASSERT_EQ(m.count("ID"), 1u);
  EXPECT_NO_THROW(nlohmann::json(m.at("ID")).dump());
}

// --- ParseCpuInfo -------------------------------------------------------------------------

TEST(CpuInfo, ReadsX86ModelVendorAndCount) {
  const CpuInfo c = ParseCpuInfo(
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) CPU E3845 @ 1.91GHz\n"
      "flags\t\t: fpu vme\n\n"
      "processor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) CPU E3845 @ 1.91GHz\n\n");
  EXPECT_EQ(c.model, "Intel(R) Atom(TM) CPU E3845 @ 1.91GHz");
  EXPECT_EQ(c.vendor, "GenuineIntel");
  EXPECT_EQ(c.count, 2);
  EXPECT_EQ(c.hardware, "");
}

TEST(CpuInfo, ReadsLegacyArm32ProcessorAndHardware) {
  // Older ARM kernels: one "Processor" line naming the core, numeric "processor" per CPU.
  const CpuInfo c = ParseCpuInfo(
      "Processor\t: ARMv7 Processor rev 5 (v7l)\n"
      "processor\t: 0\nBogoMIPS\t: 38.40\n\n"
      "processor\t: 1\nBogoMIPS\t: 38.40\n\n"
      "Features\t: swp half thumb fastmult vfp edsp neon vfpv3 tls vfpv4\n"
      "CPU implementer\t: 0x41\nCPU part\t: 0xc07\n\n"
      "Hardware\t: BCM2709\nRevision\t: a01041\nSerial\t\t: 00000000abcdef01\n");
  EXPECT_EQ(c.model, "ARMv7 Processor rev 5 (v7l)");  // the kernel's name beats the part table
  EXPECT_EQ(c.vendor, "ARM");
  EXPECT_EQ(c.hardware, "BCM2709");
  EXPECT_EQ(c.count, 2);
}

TEST(CpuInfo, ReadsArm32ModelNameAndBoardModel) {
  const CpuInfo c = ParseCpuInfo(
      "processor\t: 0\nmodel name\t: ARMv7 Processor rev 4 (v7l)\nCPU implementer\t: 0x41\n\n"
      "processor\t: 1\nmodel name\t: ARMv7 Processor rev 4 (v7l)\n\n"
      "Hardware\t: BCM2835\nRevision\t: a02082\nModel\t\t: Raspberry Pi 3 Model B Rev 1.2\n");
  EXPECT_EQ(c.model, "ARMv7 Processor rev 4 (v7l)");
  EXPECT_EQ(c.hardware, "BCM2835");
  EXPECT_EQ(c.board_model, "Raspberry Pi 3 Model B Rev 1.2");
  EXPECT_EQ(c.count, 2);
}

TEST(CpuInfo, NamesArm64CoreFromImplementerAndPart) {
  const CpuInfo c = ParseCpuInfo(
      "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
      "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n"
      "CPU revision\t: 3\n\n"
      "processor\t: 1\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\n"
      "processor\t: 2\n\nprocessor\t: 3\n");
  EXPECT_EQ(c.model, "Cortex-A72");
  EXPECT_EQ(c.vendor, "ARM");
  EXPECT_EQ(c.count, 4);
}

TEST(CpuInfo, UnknownArmPartLeavesModelEmpty) {
  const CpuInfo c = ParseCpuInfo("processor : 0\nCPU implementer : 0x51\nCPU part : 0x801\n");
  EXPECT_EQ(c.model, "");
  EXPECT_EQ(c.vendor, "Qualcomm");
  EXPECT_EQ(c.count, 1);
}

TEST(CpuInfo, ReadsMipsSystemTypeAndCpuModel) {
  const CpuInfo c = ParseCpuInfo(
      "system type\t\t: MediaTek MT7621 ver:1 eco:3\nmachine\t\t\t: Ubiquiti EdgeRouter X\n"
      "processor\t\t: 0\ncpu model\t\t: MIPS 1004Kc V2.15\nBogoMIPS\t\t: 586.13\n\n"
      "processor\t\t: 1\ncpu model\t\t: MIPS 1004Kc V2.15\n");
  EXPECT_EQ(c.model, "MIPS 1004Kc V2.15");
  EXPECT_EQ(c.hardware, "MediaTek MT7621 ver:1 eco:3");
  EXPECT_EQ(c.count, 2);
}

TEST(CpuInfo, ReadsRiscVUarch) {
  const CpuInfo c = ParseCpuInfo("processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc\nuarch\t\t: sifive,u74-mc\n");
  EXPECT_EQ(c.model, "sifive,u74-mc");
  EXPECT_EQ(c.count, 1);
}

TEST(CpuInfo, IgnoresMalformedLines) {
  const CpuInfo c = ParseCpuInfo(
      "processor\t: zero\nprocessor\t: \nprocessor\t: -1\nprocessor\n: 5\nmodel name\n"
      "garbage without colon\n\xFF\xFE:\xFF\nCPU implementer : 0xZZ\nCPU part : \n");
  EXPECT_EQ(c.count, 0);
  EXPECT_EQ(c.model, "");
  EXPECT_EQ(c.vendor, "");
}

TEST(CpuInfo, EmptyInputGivesEmptyInfo) {
  const CpuInfo c = ParseCpuInfo("");
  EXPECT_EQ(c.count, 0);
  EXPECT_TRUE(c.model.empty());
}

// --- ParseCpuListCount --------------------------------------------------------------------

TEST(CpuList, CountsRangesAndSingles) {
  EXPECT_EQ(ParseCpuListCount("0\n"), 1);
  EXPECT_EQ(ParseCpuListCount("0-3\n"), 4);
  EXPECT_EQ(ParseCpuListCount("0-3,5,7-8"), 7);
}

TEST(CpuList, RejectsMalformedLists) {
  for (const char* bad : {"", "\n", "a", "3-1", "1,,2", "-1", "1-", "0-3,", "0x1", "0-99999999", "1 2"}) {
    EXPECT_EQ(ParseCpuListCount(bad), std::nullopt) << bad;
  }
}

// --- ParseMemTotalBytes -------------------------------------------------------------------

TEST(MemInfo, ReadsMemTotalInKilobytes) {
  EXPECT_EQ(ParseMemTotalBytes("MemTotal:        1012340 kB\nMemFree:  100 kB\n"), 1012340ull * 1024);
  EXPECT_EQ(ParseMemTotalBytes("MemFree: 1 kB\nMemTotal: 2048 kB"), 2048ull * 1024);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 5000"), 5000ull);
}

TEST(MemInfo, RejectsMalformedValues) {
  EXPECT_EQ(ParseMemTotalBytes(""), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemFree: 1 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: lots kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: -5 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 5 MB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 18446744073709551615 kB\n"), std::nullopt);  // overflow
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 99999999999999999999999 kB\n"), std::nullopt);
}

// --- ParseBootTime ------------------------------------------------------------------------

TEST(ProcStat, ReadsBtime) {
  EXPECT_EQ(ParseBootTime("cpu  1 2 3\nintr 1 2\nctxt 5\nbtime 1700000000\nprocesses 9\n"), 1700000000);
}

TEST(ProcStat, RejectsMissingOrMalformedBtime) {
  EXPECT_EQ(ParseBootTime(""), std::nullopt);
  EXPECT_EQ(ParseBootTime("cpu 1 2 3\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime -5\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime 12x\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("xbtime 5\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime 9223372036854775807\n"), std::nullopt);  // ms would overflow
}

// --- ParseNulList / CompatibleVendor ------------------------------------------------------

TEST(DeviceTree, SplitsNulSeparatedCompatible) {
  const auto v = ParseNulList("raspberrypi,4-model-b\0brcm,bcm2711\0"s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "raspberrypi,4-model-b");
  EXPECT_EQ(v[1], "brcm,bcm2711");
  EXPECT_EQ(CompatibleVendor(v[0]), "raspberrypi");
}

TEST(DeviceTree, DropsEmptyItemsAndCapsCount) {
  EXPECT_EQ(ParseNulList("\0\0a\0\0b"s), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(ParseNulList(""s).empty());
  std::string many;
  for (int i = 0; i < 100; ++i) many += "x,y" + std::to_string(i) + '\0';
  EXPECT_EQ(ParseNulList(many, 16).size(), 16u);
}

TEST(DeviceTree, CompatibleWithoutCommaHasNoVendor) {
  EXPECT_EQ(CompatibleVendor("simple-board"), "");
  EXPECT_EQ(CompatibleVendor(",leading"), "");
}

// --- NormalizeMac / ParseDecimal ----------------------------------------------------------

TEST(Mac, NormalisesCaseAndWhitespace) {
  EXPECT_EQ(NormalizeMac("02:FC:00:00:00:01\n"), "02:fc:00:00:00:01");
  EXPECT_EQ(NormalizeMac("0a:0b:0c:0d"), "0a:0b:0c:0d");  // any whole number of bytes
  // InfiniBand: 20 bytes.
  EXPECT_EQ(NormalizeMac("80:00:02:08:FE:80:00:00:00:00:00:00:00:11:22:33:44:55:66:77\n"),
            "80:00:02:08:fe:80:00:00:00:00:00:00:00:11:22:33:44:55:66:77");
}

TEST(Mac, AllZerosOrMalformedIsEmpty) {
  for (const char* bad : {"00:00:00:00:00:00\n", "", "0", "0.0.0.0", "00:00:00:00", "02-fc-00-00-00-01",
                          "02:fc:00:00:00:0g", "02:fc:00:00:00:01:", "2:fc:00:00:00:01"}) {
    EXPECT_EQ(NormalizeMac(bad), "") << bad;
  }
}

TEST(Decimal, ParsesIntegersOnly) {
  EXPECT_EQ(ParseDecimal("1500\n"), 1500);
  EXPECT_EQ(ParseDecimal(" -3 "), -3);
  EXPECT_EQ(ParseDecimal(""), std::nullopt);
  EXPECT_EQ(ParseDecimal("15x"), std::nullopt);
  EXPECT_EQ(ParseDecimal("99999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace vigil::system_info
