#include "agent/collectors/firewall/ruleset.h"

#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "agent/collectors/firewall/test_rulesets.h"

namespace vigil::firewall {
namespace {

const Chain* FindChain(const Backend& b, std::string_view family, std::string_view table, std::string_view name) {
  for (const Chain& c : b.chains)
    if (c.family == family && c.table == table && c.name == name) return &c;
  return nullptr;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

Backend MustParseNft(const std::string& text) {
  Result<Backend> r = ParseNftJson(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Backend{};
}

TEST(NftJsonParser, SummarisesTablesAndChains) {
  const Backend b = MustParseNft(testdata::kNftJson);
  EXPECT_EQ(b.name, "nftables");
  EXPECT_EQ(b.problem_count, 0u) << (b.problems.empty() ? "" : b.problems[0]);
  ASSERT_EQ(b.tables.size(), 4u);
  EXPECT_EQ(b.tables[0].family, "inet");  // sorted by family, name
  EXPECT_EQ(b.tables[0].name, "filter");
  EXPECT_EQ(b.tables[0].sets, 1u);
  EXPECT_EQ(b.tables[1].family, "ip");
  EXPECT_EQ(b.tables[1].name, "filter");
  ASSERT_EQ(b.chains.size(), 7u);
  EXPECT_EQ(b.rule_count(), 8u);

  const Chain* input = FindChain(b, "inet", "filter", "input");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->type, "filter");
  EXPECT_EQ(input->hook, "input");
  EXPECT_EQ(input->priority, 0);
  EXPECT_EQ(input->policy, "drop");
  EXPECT_EQ(input->rules, 4u);
  EXPECT_TRUE(std::regex_match(input->digest, std::regex("[0-9a-f]{64}"))) << input->digest;

  const Chain* regular = FindChain(b, "inet", "filter", "my_chain");
  ASSERT_NE(regular, nullptr);
  EXPECT_TRUE(regular->hook.empty());
  EXPECT_TRUE(regular->policy.empty());
  EXPECT_FALSE(regular->priority.has_value());
  EXPECT_EQ(regular->rules, 2u);

  const Chain* ingress = FindChain(b, "netdev", "ingress", "ing");
  ASSERT_NE(ingress, nullptr);
  EXPECT_EQ(ingress->priority, -500);

  const Chain* iptables_nft = FindChain(b, "ip", "filter", "OUTPUT");  // made by iptables-nft
  ASSERT_NE(iptables_nft, nullptr);
  EXPECT_EQ(iptables_nft->rules, 1u);
}

TEST(NftJsonParser, CountersHandlesAndVersionDoNotChangeTheDigest) {
  const Backend a = MustParseNft(testdata::kNftJson);
  std::string text = Replace(testdata::kNftJson, "\"packets\":0", "\"packets\":98765");
  text = Replace(text, "\"bytes\":0", "\"bytes\":1234567");
  text = Replace(text, "\"handle\":1,", "\"handle\":91,");
  text = Replace(text, "\"handle\":6,", "\"handle\":96,");
  text = Replace(text, "\"version\":\"1.0.6\"", "\"version\":\"1.1.1\"");
  ASSERT_NE(text, testdata::kNftJson);
  const Backend b = MustParseNft(text);
  EXPECT_EQ(a.digest, b.digest);
  ASSERT_EQ(a.chains.size(), b.chains.size());
  for (size_t i = 0; i < a.chains.size(); ++i) EXPECT_EQ(a.chains[i].digest, b.chains[i].digest) << a.chains[i].name;
  ASSERT_EQ(a.tables.size(), b.tables.size());
  for (size_t i = 0; i < a.tables.size(); ++i) EXPECT_EQ(a.tables[i].digest, b.tables[i].digest) << a.tables[i].name;
}

TEST(NftJsonParser, QuotaUseLastUsedAndElementExpiryDoNotChangeTheDigest) {
  auto doc = [](const std::string& used, const std::string& last, const std::string& expires) {
    return R"({"nftables":[{"table":{"family":"inet","name":"t","handle":1}},
      {"quota":{"family":"inet","name":"q","table":"t","handle":2,"bytes":1000,"used":)" +
           used + R"(,"inv":false}},
      {"set":{"family":"inet","name":"s","table":"t","type":"ipv4_addr","handle":3,"flags":["timeout"],
              "elem":[{"elem":{"val":"192.0.2.1","timeout":60,"expires":)" +
           expires + R"(}}]}},
      {"chain":{"family":"inet","table":"t","name":"c","handle":4}},
      {"rule":{"family":"inet","table":"t","chain":"c","handle":5,"expr":[{"last":{"used":)" +
           last + R"(}},
               {"quota":{"val":5,"val_unit":"mbytes","used":)" +
           used + R"(,"used_unit":"bytes"}},{"accept":null}]}}]})";
  };
  const Backend a = MustParseNft(doc("0", "10", "59"));
  const Backend b = MustParseNft(doc("777", "99999", "3"));
  EXPECT_EQ(a.digest, b.digest);
}

TEST(NftJsonParser, ARuleChangeChangesItsChainAndTheBackendOnly) {
  const Backend a = MustParseNft(testdata::kNftJson);
  const Backend b =
      MustParseNft(Replace(testdata::kNftJson, "\"right\":{\"set\":[22,80]}", "\"right\":{\"set\":[22,80,8080]}"));
  EXPECT_NE(a.digest, b.digest);
  for (size_t i = 0; i < a.chains.size(); ++i) {
    const bool is_input = a.chains[i].table == "filter" && a.chains[i].name == "input";
    EXPECT_EQ(a.chains[i].digest != b.chains[i].digest, is_input) << a.chains[i].name;
  }
}

TEST(NftJsonParser, ARuleMovedChangesTheDigest) {
  const std::string text =
      R"({"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},
      {"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null}]}},
      {"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}]}}]})";
  const std::string swapped =
      R"({"nftables":[{"table":{"family":"ip","name":"t"}},{"chain":{"family":"ip","table":"t","name":"c"}},
      {"rule":{"family":"ip","table":"t","chain":"c","expr":[{"drop":null}]}},
      {"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null}]}}]})";
  EXPECT_NE(MustParseNft(text).digest, MustParseNft(swapped).digest);
}

TEST(NftJsonParser, TableAndChainOrderDoNotMatter) {
  const std::string a = R"({"nftables":[{"table":{"family":"ip","name":"a"}},{"table":{"family":"ip","name":"b"}},
      {"chain":{"family":"ip","table":"a","name":"x"}},{"chain":{"family":"ip","table":"a","name":"y"}}]})";
  const std::string b = R"({"nftables":[{"table":{"family":"ip","name":"b"}},{"table":{"family":"ip","name":"a"}},
      {"chain":{"family":"ip","table":"a","name":"y"}},{"chain":{"family":"ip","table":"a","name":"x"}}]})";
  EXPECT_EQ(MustParseNft(a).digest, MustParseNft(b).digest);
}

TEST(NftJsonParser, StaticSetElementsCountDynamicOnesDoNot) {
  auto doc = [](const std::string& flags, const std::string& elem) {
    return R"({"nftables":[{"table":{"family":"inet","name":"t"}},
      {"set":{"family":"inet","name":"s","table":"t","type":"ipv4_addr","flags":[)" +
           flags + R"(],"elem":[)" + elem + R"(]}}]})";
  };
  EXPECT_NE(MustParseNft(doc("\"interval\"", "\"192.0.2.1\"")).digest,
            MustParseNft(doc("\"interval\"", "\"192.0.2.2\"")).digest);
  EXPECT_EQ(MustParseNft(doc("\"dynamic\"", "\"192.0.2.1\"")).digest,
            MustParseNft(doc("\"dynamic\"", "\"192.0.2.2\"")).digest);
  const Backend b = MustParseNft(doc("\"interval\"", "\"192.0.2.1\""));
  ASSERT_EQ(b.tables.size(), 1u);
  EXPECT_EQ(b.tables[0].sets, 1u);
  EXPECT_NE(MustParseNft(doc("\"interval\"", "\"192.0.2.1\"")).tables[0].digest,
            MustParseNft(doc("\"interval\"", "\"192.0.2.9\"")).tables[0].digest);
}

TEST(NftJsonParser, EmptyRulesetIsValid) {
  const Backend b = MustParseNft(R"({"nftables":[{"metainfo":{"version":"1.0.6"}}]})");
  EXPECT_TRUE(b.tables.empty());
  EXPECT_TRUE(b.chains.empty());
  EXPECT_EQ(b.digest.size(), 64u);
}

TEST(NftJsonParser, RefusesDocumentsOfTheWrongShape) {
  for (const char* bad : {"", "not json", "[1,2]", "{\"nftables\":{}}", "{\"other\":[]}", "{\"nftables\":[", "null"}) {
    Result<Backend> r = ParseNftJson(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().ToString().find("nft JSON"), std::string::npos) << r.status().ToString();
  }
}

TEST(NftJsonParser, RefusesDeepNesting) {
  std::string deep = "{\"nftables\":[" + std::string(200, '[') + std::string(200, ']') + "]}";
  Result<Backend> r = ParseNftJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("nested deeper"), std::string::npos) << r.status().ToString();
}

TEST(NftJsonParser, SkipsBadObjectsNamingThemAndKeepsTheRest) {
  const std::string text = R"({"nftables":[
      {"table":{"family":"ip","name":"t"}},
      42,
      {"chain":{"family":"ip","table":"t","name":"c","type":"filter","hook":"input","prio":0,"policy":"accept"}},
      {"rule":{"family":"ip","table":"t","chain":"nope","expr":[]}},
      {"rule":{"table":"t","chain":"c","expr":[]}},
      {"chain":{"family":"ip","table":"t"}},
      {"chain":{"family":"ip","table":"t","name":"d","hook":"output","policy":"reject"}},
      {"rule":{"family":"ip","table":"t","chain":"c","expr":[{"accept":null}]}},
      {"a":1,"b":2}]})";
  const Backend b = MustParseNft(text);
  ASSERT_EQ(b.chains.size(), 2u);
  EXPECT_EQ(b.chains[0].rules, 1u);
  EXPECT_EQ(b.chains[1].policy, "");
  ASSERT_EQ(b.problem_count, 6u);
  ASSERT_EQ(b.problems.size(), 6u);
  EXPECT_EQ(b.problems[0], "nftables[1]: not an object with one key");
  EXPECT_EQ(b.problems[1], "nftables[3] (rule): rule of unknown chain 'nope'");
  EXPECT_EQ(b.problems[2], "nftables[4] (rule): no 'family'");
  EXPECT_EQ(b.problems[3], "nftables[5] (chain): no 'name'");
  EXPECT_EQ(b.problems[4], "nftables[6] (chain): unknown policy 'reject'");
  EXPECT_EQ(b.problems[5], "nftables[8]: not an object with one key");
}

TEST(NftJsonParser, KeepsAtMostKMaxProblemsButCountsAll) {
  std::string text = R"({"nftables":[)";
  for (int i = 0; i < 100; ++i) text += (i ? "," : "") + std::string("7");
  text += "]}";
  const Backend b = MustParseNft(text);
  EXPECT_EQ(b.problem_count, 100u);
  EXPECT_EQ(b.problems.size(), kMaxProblems);
}

TEST(IptablesSaveParser, SummarisesTablesChainsAndPolicies) {
  Result<Backend> r = ParseIptablesSave(testdata::kIptablesSave, "ip");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Backend& b = *r;
  EXPECT_EQ(b.name, "iptables-legacy");
  EXPECT_EQ(b.problem_count, 0u) << (b.problems.empty() ? "" : b.problems[0]);
  ASSERT_EQ(b.tables.size(), 2u);
  EXPECT_EQ(b.tables[0].name, "filter");
  ASSERT_EQ(b.chains.size(), 8u);
  EXPECT_EQ(b.rule_count(), 2u);
  const Chain* input = FindChain(b, "ip", "filter", "INPUT");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->hook, "input");
  EXPECT_EQ(input->policy, "accept");
  EXPECT_EQ(input->rules, 1u);
  EXPECT_TRUE(input->type.empty());
  const Chain* forward = FindChain(b, "ip", "filter", "FORWARD");
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ(forward->policy, "drop");
  const Chain* user = FindChain(b, "ip", "filter", "VIGIL");
  ASSERT_NE(user, nullptr);
  EXPECT_TRUE(user->hook.empty());
  EXPECT_TRUE(user->policy.empty());
  const Chain* post = FindChain(b, "ip", "nat", "POSTROUTING");
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->hook, "postrouting");
}

TEST(IptablesSaveParser, CountersDoNotChangeTheDigestRulesDo) {
  const Backend plain = *ParseIptablesSave(testdata::kIptablesSave, "ip");
  std::string counted = Replace(testdata::kIptablesSave, "[0:0]", "[17:2048]");
  counted = Replace(counted, "-A INPUT", "[3:180] -A INPUT");
  counted = Replace(counted, "Mon Nov 23", "Tue Nov 24");
  const Backend with_counters = *ParseIptablesSave(counted, "ip");
  EXPECT_EQ(plain.digest, with_counters.digest);
  const Backend changed = *ParseIptablesSave(Replace(testdata::kIptablesSave, "10.0.0.0/8", "10.0.0.0/9"), "ip");
  EXPECT_NE(plain.digest, changed.digest);
  const Backend policy = *ParseIptablesSave(Replace(testdata::kIptablesSave, ":INPUT ACCEPT", ":INPUT DROP"), "ip");
  EXPECT_NE(plain.digest, policy.digest);
  EXPECT_NE(plain.digest, ParseIptablesSave(testdata::kIptablesSave, "ip6")->digest);  // the family counts
}

TEST(IptablesSaveParser, NamesBadLinesAndKeepsTheRest) {
  const std::string text =
      "-A INPUT -j DROP\n"           // 1 outside a table
      "*filter\n"                    // 2
      ":INPUT ACCEPT [0:0]\n"        // 3
      ":BROKEN\n"                    // 4 no policy
      "-A NOPE -j DROP\n"            // 5 undeclared chain
      "[1:2 -A INPUT -j DROP\n"      // 6 unterminated counters
      "-I INPUT -j DROP\n"           // 7 not in save output
      ":OUTPUT QUEUE [0:0]\n"        // 8 not a policy
      "-A INPUT -j ACCEPT\n"         // 9 ok
      "*nat\n"                       // 10 filter not committed
      ":PREROUTING ACCEPT [0:0]\n";  // end without COMMIT
  Result<Backend> r = ParseIptablesSave(text, "ip");
  ASSERT_TRUE(r.ok());
  const Backend& b = *r;
  ASSERT_EQ(b.chains.size(), 3u);
  const Chain* input = FindChain(b, "ip", "filter", "INPUT");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->rules, 1u);
  EXPECT_EQ(FindChain(b, "ip", "filter", "OUTPUT")->policy, "");
  ASSERT_EQ(b.problems.size(), 8u);
  EXPECT_EQ(b.problems[0], "line 1: outside a table: '-A INPUT -j DROP'");
  EXPECT_EQ(b.problems[1], "line 4: expected ':CHAIN POLICY [packets:bytes]', got ':BROKEN'");
  EXPECT_EQ(b.problems[2], "line 5: -A for undeclared chain 'NOPE'");
  EXPECT_EQ(b.problems[3], "line 6: unterminated counters in '[1:2 -A INPUT -j DROP'");
  EXPECT_EQ(b.problems[4], "line 7: unexpected '-I INPUT -j DROP'");
  EXPECT_EQ(b.problems[5], "line 8: unknown policy 'QUEUE' of chain 'OUTPUT'");
  EXPECT_EQ(b.problems[6], "line 10: table 'filter' has no COMMIT before this one");
  EXPECT_EQ(b.problems[7], "table 'nat' has no COMMIT (output cut short?)");
}

TEST(IptablesSaveParser, RefusesUnknownFamiliesAndBadNames) {
  EXPECT_FALSE(ParseIptablesSave("", "inet").ok());
  Result<Backend> r = ParseIptablesSave("*fil\xfftr\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "ip");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->tables.empty());
  EXPECT_EQ(r->problem_count, 3u);  // the table, then its two lines outside any table
  EXPECT_EQ(r->problems[0], "line 1: bad table name 'fil?tr'");
}

TEST(IptablesSaveParser, EmptyOutputIsNoTables) {
  Result<Backend> r = ParseIptablesSave("", "ip6");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->chains.empty());
}

TEST(MergeBackends, JoinsFamiliesInOrder) {
  const Backend ip = *ParseIptablesSave(testdata::kIptablesSave, "ip");
  const Backend ip6 = *ParseIptablesSave("*filter\n:INPUT DROP [0:0]\nCOMMIT\n", "ip6");
  const Backend both = MergeBackends("iptables-legacy", {ip, ip6});
  EXPECT_EQ(both.chains.size(), 9u);
  EXPECT_EQ(both.tables.size(), 3u);
  EXPECT_EQ(both.chains.back().family, "ip6");
  EXPECT_NE(both.digest, ip.digest);
  EXPECT_EQ(both.digest, MergeBackends("iptables-legacy", {ip, ip6}).digest);
}

TEST(Sha256Hex, MatchesTheKnownDigestOfAbc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace vigil::firewall
