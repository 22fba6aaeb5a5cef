#include "agent/collectors/network/dns_names.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/collectors/network/tracker.h"
#include "agent/platform/dns_responses.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::network {
namespace {

// DNS messages built byte by byte, as a resolver sends them.
std::string U16(int v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string U32(uint32_t v) { return U16(static_cast<int>(v >> 16)) + U16(static_cast<int>(v & 0xffff)); }
std::string Name(const std::vector<std::string>& labels) {
  std::string out;
  for (const std::string& l : labels) out += static_cast<char>(l.size()) + l;
  return out + '\0';
}
constexpr int kA = 1, kCname = 5, kAaaa = 28, kIn = 1;
std::string Record(const std::string& owner, int type, const std::string& rdata) {
  return owner + U16(type) + U16(kIn) + U32(300) + U16(static_cast<int>(rdata.size())) + rdata;
}
const std::string kQuestionName = "\xc0\x0c";  // a pointer to the question's name at offset 12

// flags 0x8180: a response, recursion desired and available, NOERROR.
std::string Response(const std::vector<std::string>& qname, int qtype, const std::vector<std::string>& answers,
                     int flags = 0x8180) {
  std::string m = U16(0x1234) + U16(flags) + U16(1) + U16(static_cast<int>(answers.size())) + U16(0) + U16(0);
  m += Name(qname) + U16(qtype) + U16(kIn);
  for (const std::string& a : answers) m += a;
  return m;
}

TEST(ParseDnsAnswer, AnARecordIsTheQuestionsNameInLowerCase) {
  auto a = ParseDnsAnswer(Response({"XMR-EU1", "Nanopool", "org"}, kA,
                                   {Record(kQuestionName, kA, std::string("\xc0\x00\x02\x07", 4))}));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "xmr-eu1.nanopool.org");
  ASSERT_EQ(a->addresses.size(), 1u);
  EXPECT_EQ(a->addresses[0].family, 4);
  EXPECT_EQ(a->addresses[0].addr[0], 192);
  EXPECT_EQ(a->addresses[0].addr[3], 7);
}

TEST(ParseDnsAnswer, ACnameChainKeepsTheNameAskedAndAaaaRecordsCount) {
  // pool.example -> CNAME edge.cdn.example (uncompressed) -> AAAA 2001:db8::1 and A 198.51.100.4
  const std::string edge = Name({"edge", "cdn", "example"});
  std::string v6(16, '\0');
  v6[0] = '\x20';
  v6[1] = '\x01';
  v6[2] = '\x0d';
  v6[3] = '\xb8';
  v6[15] = '\x01';
  auto a = ParseDnsAnswer(Response({"pool", "example"}, kAaaa,
                                   {Record(kQuestionName, kCname, edge), Record(edge, kAaaa, v6),
                                    Record(edge, kA, std::string("\xc6\x33\x64\x04", 4))}));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "pool.example");
  ASSERT_EQ(a->addresses.size(), 2u);
  EXPECT_EQ(a->addresses[0].family, 6);
  EXPECT_EQ(a->addresses[0].addr[15], 1);
  EXPECT_EQ(a->addresses[1].family, 4);
}

TEST(ParseDnsAnswer, AnARecordOfTheWrongLengthIsSkipped) {
  auto a = ParseDnsAnswer(Response({"x", "example"}, kA, {Record(kQuestionName, kA, "abc")}));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->addresses.empty());
}

TEST(ParseDnsAnswer, QueriesErrorsAndBrokenMessagesAreRefusedWithTheReason) {
  auto query = ParseDnsAnswer(Response({"x", "example"}, kA, {}, 0x0100));
  EXPECT_NE(query.status().message().find("a query"), std::string::npos) << query.status().ToString();
  auto nxdomain = ParseDnsAnswer(Response({"x", "example"}, kA, {}, 0x8183));
  EXPECT_NE(nxdomain.status().message().find("error"), std::string::npos);
  const std::string good =
      Response({"x", "example"}, kA, {Record(kQuestionName, kA, std::string("\x0a\x00\x00\x01", 4))});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto r = ParseDnsAnswer(good.substr(0, cut));
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    }
  }
  // A compression pointer that points at itself.
  std::string loop = good;
  loop[12 + Name({"x", "example"}).size() + 4] = '\xc0';
  loop[12 + Name({"x", "example"}).size() + 5] = static_cast<char>(12 + Name({"x", "example"}).size() + 4);
  EXPECT_FALSE(ParseDnsAnswer(loop).ok());
}

DnsAnswer Answer(const std::string& name, std::vector<std::array<uint8_t, 4>> v4s) {
  DnsAnswer a;
  a.name = name;
  for (const auto& v4 : v4s) {
    DnsAnswer::Address addr;
    std::copy(v4.begin(), v4.end(), addr.addr.begin());
    a.addresses.push_back(addr);
  }
  return a;
}

std::array<uint8_t, 16> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

TEST(DnsNames, RemembersTheLatestNameForAnAddressUntilItIsTooOld) {
  DnsNames names(16, 1000);
  names.Learn(Answer("a.example", {{10, 0, 0, 1}, {10, 0, 0, 2}}), 0);
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 2), 10), "a.example");
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 3), 10), "");
  names.Learn(Answer("b.example", {{10, 0, 0, 2}}), 500);
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 2), 600), "b.example");
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 1), 1001), "") << "learnt at 0, kept 1000 ms";
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 2), 1400), "b.example") << "learnt again at 500";
  EXPECT_EQ(names.size(), 2u);
}

TEST(DnsNames, AnIpv4MappedAddressIsLookedUpAsIpv4) {
  DnsNames names(16, 1000);
  names.Learn(Answer("a.example", {{192, 0, 2, 9}}), 0);
  std::array<uint8_t, 16> mapped{};
  mapped[10] = mapped[11] = 0xff;
  mapped[12] = 192;
  mapped[14] = 2;
  mapped[15] = 9;
  EXPECT_EQ(names.Lookup(6, mapped, 0), "a.example");
  mapped[10] = 0;
  EXPECT_EQ(names.Lookup(6, mapped, 0), "");
}

TEST(DnsNames, WhenFullTheLeastRecentlyAnsweredIsForgotten) {
  DnsNames names(2, 1'000'000);
  names.Learn(Answer("one", {{10, 0, 0, 1}}), 0);
  names.Learn(Answer("two", {{10, 0, 0, 2}}), 1);
  names.Learn(Answer("one", {{10, 0, 0, 1}}), 2);  // answered again: now the most recent
  names.Learn(Answer("three", {{10, 0, 0, 3}}), 3);
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.evicted(), 1u);
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 1), 4), "one");
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 2), 4), "");
  EXPECT_EQ(names.Lookup(4, V4(10, 0, 0, 3), 4), "three");
}

// An IPv4 packet (no options) carrying UDP from `sport`.
std::string Ipv4Udp(int sport, const std::string& payload, int protocol = 17, int frag = 0) {
  std::string udp = U16(sport) + U16(40000) + U16(static_cast<int>(8 + payload.size())) + U16(0) + payload;
  std::string ip = std::string("\x45\x00", 2) + U16(static_cast<int>(20 + udp.size())) + U16(1) + U16(frag) +
                   std::string(1, '\x40') + std::string(1, static_cast<char>(protocol)) + U16(0) +
                   std::string("\x7f\x00\x00\x01\x7f\x00\x00\x01", 8);
  return ip + udp;
}

TEST(ExtractDnsPayload, TheUdpPayloadFromPort53OverIpv4AndIpv6) {
  const std::string padded = Ipv4Udp(53, "answer") + "pad";  // link-level padding after the packet
  auto v4 = ExtractDnsPayload(0x0800, padded);
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(*v4, "answer");
  std::string udp = U16(53) + U16(40000) + U16(8 + 2) + U16(0) + "ok";
  std::string v6 = std::string("\x60\x00\x00\x00", 4) + U16(static_cast<int>(udp.size())) + std::string("\x11\x40", 2) +
                   std::string(32, '\0') + udp;
  auto six = ExtractDnsPayload(0x86dd, v6);
  ASSERT_TRUE(six.ok()) << six.status().ToString();
  EXPECT_EQ(*six, "ok");
}

TEST(ExtractDnsPayload, OtherTrafficIsNotFoundAndBrokenHeadersAreInvalid) {
  EXPECT_EQ(ExtractDnsPayload(0x0800, Ipv4Udp(5353, "x")).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ExtractDnsPayload(0x0800, Ipv4Udp(53, "x", 6)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ExtractDnsPayload(0x0800, Ipv4Udp(53, "x", 17, 0x0010)).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ExtractDnsPayload(0x0806, "arp").status().code(), Status::Code::kNotFound);
  const std::string good = Ipv4Udp(53, "answer");
  for (size_t cut = 0; cut < good.size(); ++cut)
    EXPECT_EQ(ExtractDnsPayload(0x0800, good.substr(0, cut)).status().code(), Status::Code::kInvalidArgument)
        << "cut at " << cut;
  std::string long_udp = good;
  long_udp[24] = '\x7f';  // UDP length past the packet
  EXPECT_EQ(ExtractDnsPayload(0x0800, long_udp).status().code(), Status::Code::kInvalidArgument);
}

TEST(DnsNamesInTracker, AConnectionToAnAnsweredAddressCarriesTheHostName) {
  FakeEnv env;
  env.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  env.SetLink("/proc/100/exe", "/tmp/xmrig");
  CollectorStats stats{"network"};
  common::UserNames users{env, stats};
  DnsNames names(16, 3'600'000);
  names.Learn(Answer("xmr-eu1.nanopool.org", {{192, 0, 2, 7}}), env.clock().MonotonicMs());
  TrackerOptions o;
  o.host_names = &names;
  std::vector<Event> events;
  ConnectionTracker t(env, stats, users, o, [&](Event&& e) { events.push_back(std::move(e)); });
  for (uint8_t last : {7, 8}) {
    ConnectionRecord r;
    r.kind = ConnectionRecord::Kind::kConnect;
    r.local.addr = {10, 0, 0, 1};
    r.local.port = 41000;
    r.remote.addr = {192, 0, 2, last};
    r.remote.port = 3333;
    r.pid = 100;
    r.uid = 0;
    r.socket_id = last;
    t.Handle(r);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data.value("remote_host", ""), "xmr-eu1.nanopool.org");
  EXPECT_FALSE(events[1].data.contains("remote_host")) << "192.0.2.8 was never answered";
}

}  // namespace
}  // namespace vigil::network
