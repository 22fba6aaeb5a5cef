#include "agent/detect/lists.h"

#include <thread>

#include <gtest/gtest.h>

namespace vigil::detect {
namespace {

TEST(Ip, ParsesV4AndV6) {
  auto a = ParseIp("192.0.2.7");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->v6);
  EXPECT_EQ(a->bytes[0], 192);
  EXPECT_EQ(a->bytes[3], 7);
  auto b = ParseIp("2001:db8::1");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->v6);
  EXPECT_EQ(b->bytes[0], 0x20);
  EXPECT_EQ(b->bytes[15], 1);
  auto mapped = ParseIp("::ffff:198.51.100.2");
  ASSERT_TRUE(mapped);
  EXPECT_FALSE(mapped->v6);
  EXPECT_EQ(mapped->bytes[0], 198);
  EXPECT_TRUE(ParseIp("::"));
  EXPECT_TRUE(ParseIp("fe80::1%eth0"));
  EXPECT_TRUE(ParseIp("1:2:3:4:5:6:7:8"));
  for (const char* bad : {"300.1.2.3", "1.2.3", "1.2.3.4.5", "01234.1.1.1", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9",
                          "12345::", "g::1", "", "example.com", "1.2.3.4 "})
    EXPECT_FALSE(ParseIp(bad)) << bad;
}

TEST(Ip, ParsesCidr) {
  auto n = ParseCidr("10.0.0.0/8");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->second, 8);
  EXPECT_FALSE(ParseCidr("10.0.0.0/33").ok());
  EXPECT_FALSE(ParseCidr("10.0.0.0/").ok());
  EXPECT_FALSE(ParseCidr("2001:db8::/129").ok());
  EXPECT_EQ(ParseCidr("2001:db8::/32")->second, 32);
}

TEST(NamedList, MatchesAddressesNetworksV4AndV6) {
  std::vector<ListIssue> issues;
  auto l = ParseList("bad", "# threat intel\n192.0.2.7\n198.51.100.0/24\n2001:db8:bad::/48\n\n", "bad.txt", &issues);
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(l->entries, 3u);
  EXPECT_TRUE(l->Contains("192.0.2.7"));
  EXPECT_FALSE(l->Contains("192.0.2.8"));
  EXPECT_TRUE(l->Contains("198.51.100.255"));
  EXPECT_FALSE(l->Contains("198.51.101.0"));
  EXPECT_TRUE(l->Contains("2001:db8:bad:1::5"));
  EXPECT_FALSE(l->Contains("2001:db8:bae::5"));
  EXPECT_TRUE(l->Contains("::ffff:198.51.100.9"));  // IPv4-mapped written as IPv6
}

TEST(NamedList, DomainsMatchBySuffixStringsExactly) {
  auto l = ParseList("pools", "Example.COM\n*.pool.test\nxmrig\n", "pools.txt", nullptr);
  EXPECT_TRUE(l->Contains("example.com"));
  EXPECT_TRUE(l->Contains("pool.example.com"));
  EXPECT_TRUE(l->Contains("a.b.example.com"));
  EXPECT_FALSE(l->Contains("badexample.com"));
  EXPECT_FALSE(l->Contains("example.com.evil"));
  EXPECT_TRUE(l->Contains("eu.pool.test"));
  EXPECT_TRUE(l->Contains("xmrig"));
  EXPECT_FALSE(l->Contains("xmrig2"));
  EXPECT_FALSE(l->Contains("a.xmrig"));  // not a domain entry: no suffix matching
}

TEST(NamedList, PathsAreStringsNotNetworks) {
  std::vector<ListIssue> issues;
  auto l = ParseList("programs", "/usr/bin/ls\n/bin/busybox\nrelative/path\n", "programs.txt", &issues);
  EXPECT_TRUE(issues.empty()) << issues.front().ToString();
  EXPECT_EQ(l->entries, 3u);
  EXPECT_TRUE(l->Contains("/usr/bin/ls"));
  EXPECT_TRUE(l->Contains("relative/path"));
  EXPECT_FALSE(l->Contains("/usr/bin/lsof"));
}

TEST(NamedList, BadLinesAreReportedWithLineAndGoodLinesKept) {
  std::vector<ListIssue> issues;
  auto l = ParseList("x", "10.0.0.0/8\n300.1.2.3\nfoo bar\n10.1.0.0/40\ngood.example  # comment\n", "x.txt", &issues);
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0].line, 2);
  EXPECT_EQ(issues[1].line, 3);
  EXPECT_EQ(issues[2].line, 4);
  EXPECT_EQ(issues[0].ToString().substr(0, 8), "x.txt:2:");
  EXPECT_TRUE(l->Contains("10.2.3.4"));
  EXPECT_TRUE(l->Contains("good.example"));
  EXPECT_EQ(l->entries, 2u);
}

TEST(Lists, ReloadReplacesTheSnapshotBehindTheSlot) {
  Lists lists;
  auto slot = lists.Slot("ips");
  EXPECT_EQ(slot->current.load(), nullptr);
  lists.Load("ips", "192.0.2.1\n", "ips.txt");
  auto first = slot->current.load();
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->Contains("192.0.2.1"));
  lists.Load("ips", "192.0.2.2\n", "ips.txt");
  EXPECT_FALSE(slot->current.load()->Contains("192.0.2.1"));
  EXPECT_TRUE(slot->current.load()->Contains("192.0.2.2"));
  EXPECT_TRUE(first->Contains("192.0.2.1"));  // a held snapshot stays valid
  EXPECT_EQ(lists.Names(), std::vector<std::string>{"ips"});
}

TEST(Lists, ReloadWhileAnotherThreadReadsKeepsEverySnapshotWhole) {
  Lists lists;
  auto slot = lists.Slot("ips");
  lists.Load("ips", "192.0.2.0/24\n", "ips.txt");
  constexpr int kReloads = 2000;
  std::thread writer([&] {
    for (int i = 1; i <= kReloads; ++i) lists.Load("ips", i % 2 ? "198.51.100.0/24\n" : "192.0.2.0/24\n", "ips.txt");
  });
  int inconsistent = 0;
  for (int i = 0; i < 20000; ++i) {
    auto snap = slot->current.load();
    // Each snapshot holds exactly one of the two networks, never a mix or a freed list.
    if (snap->Contains("192.0.2.5") == snap->Contains("198.51.100.5")) ++inconsistent;
  }
  writer.join();
  EXPECT_EQ(inconsistent, 0);
  EXPECT_TRUE(slot->current.load()->Contains("192.0.2.5"));  // the last load (even)
}

}  // namespace
}  // namespace vigil::detect
