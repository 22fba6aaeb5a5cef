#include "agent/collectors/firewall/firewall_events.h"

#include <gtest/gtest.h>

#include "agent/collectors/firewall/test_rulesets.h"

namespace vigil::firewall {
namespace {

Backend Nft(const std::string& objects) {
  Result<Backend> r = ParseNftJson("{\"nftables\":[" + objects + "]}");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Backend{};
}

FirewallView ViewOf(std::vector<BackendState> backends) {
  FirewallView v{std::move(backends), ""};
  ComputeDigest(v);
  return v;
}

std::string Chain(const std::string& family, const std::string& table, const std::string& name,
                  const std::string& hook = "", const std::string& policy = "") {
  std::string j = R"({"chain":{"family":")" + family + R"(","table":")" + table + R"(","name":")" + name + "\"";
  if (!hook.empty()) j += R"(,"type":"filter","hook":")" + hook + R"(","prio":0,"policy":")" + policy + "\"";
  return j + "}}";
}

std::string Rule(const std::string& family, const std::string& table, const std::string& chain,
                 const std::string& verdict) {
  return R"({"rule":{"family":")" + family + R"(","table":")" + table + R"(","chain":")" + chain + R"(","expr":[{")" +
         verdict + R"(":null}]}})";
}

Json PolicyOf(const Json& policies, const std::string& family, const std::string& hook) {
  for (const Json& p : policies)
    if (p["family"] == family && p["hook"] == hook) return p;
  return nullptr;
}

TEST(HookPolicies, NoChainsMeansAcceptEverywhere) {
  const Json p = HookPolicies(ViewOf({BackendState{"nftables", Nft(""), ""}}));
  ASSERT_EQ(p.size(), 6u);
  for (const Json& e : p) {
    EXPECT_EQ(e["policy"], "accept") << e.dump();
    EXPECT_EQ(e["chains"], 0) << e.dump();
  }
}

TEST(HookPolicies, InetCountsForBothFamiliesAndAnyDropOnThePathWins) {
  const Backend nft =
      Nft(R"({"table":{"family":"inet","name":"f"}},)" + Chain("inet", "f", "in", "input", "drop") +
          R"(,{"table":{"family":"ip","name":"n"}},)" + Chain("ip", "n", "pre", "prerouting", "accept") + "," +
          Chain("ip", "n", "out", "output", "accept") + "," + Chain("ip", "n", "regular"));
  const Backend legacy = *ParseIptablesSave("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n", "ip6");
  const Json p = HookPolicies(ViewOf({{"nftables", nft, ""}, {"iptables-legacy", legacy, ""}}));
  EXPECT_EQ(PolicyOf(p, "ip", "input"), (Json{{"family", "ip"}, {"hook", "input"}, {"policy", "drop"}, {"chains", 2}}));
  EXPECT_EQ(PolicyOf(p, "ip6", "input")["policy"], "drop");
  EXPECT_EQ(PolicyOf(p, "ip6", "input")["chains"], 2);  // inet input and legacy ip6 INPUT
  EXPECT_EQ(PolicyOf(p, "ip", "forward")["policy"], "accept");
  EXPECT_EQ(PolicyOf(p, "ip", "forward")["chains"], 1);  // the prerouting chain
  EXPECT_EQ(PolicyOf(p, "ip6", "forward")["policy"], "drop");
  EXPECT_EQ(PolicyOf(p, "ip", "output")["chains"], 1);
  EXPECT_EQ(PolicyOf(p, "ip6", "output")["chains"], 0);
}

TEST(SummaryData, CarriesTotalsBackendsAndChains) {
  FirewallView v = ViewOf({BackendState{"nftables", *ParseNftJson(testdata::kNftJson), ""},
                           BackendState{"iptables-legacy", std::nullopt, "legacy tables exist but no tool"}});
  const Json d = SummaryData(v);
  EXPECT_EQ(d["digest"], v.digest);
  EXPECT_EQ(d["table_count"], 4);
  EXPECT_EQ(d["chain_count"], 7);
  EXPECT_EQ(d["rule_count"], 8);
  ASSERT_EQ(d["backends"].size(), 2u);
  EXPECT_EQ(d["backends"][0]["name"], "nftables");
  EXPECT_EQ(d["backends"][0]["available"], true);
  EXPECT_EQ(d["backends"][0]["rules"], 8);
  EXPECT_EQ(d["backends"][0]["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(d["backends"][1],
            (Json{{"name", "iptables-legacy"}, {"available", false}, {"error", "legacy tables exist but no tool"}}));
  ASSERT_EQ(d["chains"].size(), 7u);
  EXPECT_EQ(d["chains"][0], (Json{{"backend", "nftables"},
                                  {"family", "inet"},
                                  {"table", "filter"},
                                  {"chain", "forward_chain"},
                                  {"type", "filter"},
                                  {"hook", "forward"},
                                  {"priority", 0},
                                  {"policy", "drop"},
                                  {"rules", 0}}));
  EXPECT_EQ(
      d["chains"][2],
      (Json{{"backend", "nftables"}, {"family", "inet"}, {"table", "filter"}, {"chain", "my_chain"}, {"rules", 2}}));
  EXPECT_FALSE(d.contains("chains_omitted"));
  EXPECT_EQ(d["hook_policies"].size(), 6u);
}

TEST(SummaryData, BoundsTheChainList) {
  std::string objects = R"({"table":{"family":"ip","name":"t"}})";
  for (size_t i = 0; i < kMaxChains + 3; ++i) objects += "," + Chain("ip", "t", "c" + std::to_string(i));
  const Json d = SummaryData(ViewOf({BackendState{"nftables", Nft(objects), ""}}));
  EXPECT_EQ(d["chains"].size(), kMaxChains);
  EXPECT_EQ(d["chains_omitted"], 3);
  EXPECT_EQ(d["chain_count"], kMaxChains + 3);
}

TEST(ComputeDigest, BackendsWithoutARulesetDoNotCount) {
  const Backend nft = Nft("");
  FirewallView a = ViewOf({BackendState{"nftables", nft, ""}});
  FirewallView b = ViewOf({BackendState{"nftables", nft, ""}, BackendState{"iptables-legacy", std::nullopt, "x"}});
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.digest.size(), 64u);
}

TEST(ChangesData, ListsTablesAndChainsAddedRemovedAndChanged) {
  const std::string base = R"({"table":{"family":"inet","name":"f"}},)" + Chain("inet", "f", "in", "input", "accept") +
                           "," + Chain("inet", "f", "gone") + "," + Rule("inet", "f", "in", "accept");
  const std::string next = R"({"table":{"family":"inet","name":"f"}},)" + Chain("inet", "f", "in", "input", "drop") +
                           "," + Rule("inet", "f", "in", "accept") + "," + Rule("inet", "f", "in", "drop") +
                           R"(,{"table":{"family":"ip","name":"new"}},)" +
                           Chain("ip", "new", "out", "output", "accept");
  const FirewallView before = ViewOf({BackendState{"nftables", Nft(base), ""}});
  const FirewallView after = ViewOf({BackendState{"nftables", Nft(next), ""}});
  const Json c = ChangesData(before, after);
  EXPECT_EQ(c["tables_added"], (Json::array({{{"backend", "nftables"}, {"family", "ip"}, {"table", "new"}}})));
  EXPECT_FALSE(c.contains("tables_removed"));
  EXPECT_FALSE(c.contains("tables_changed"));
  ASSERT_EQ(c["chains_added"].size(), 1u);
  EXPECT_EQ(c["chains_added"][0]["chain"], "out");
  ASSERT_EQ(c["chains_removed"].size(), 1u);
  EXPECT_EQ(c["chains_removed"][0]["chain"], "gone");
  ASSERT_EQ(c["chains_changed"].size(), 1u);
  EXPECT_EQ(c["chains_changed"][0]["chain"], "in");
  EXPECT_EQ(c["chains_changed"][0]["policy"], "drop");
  EXPECT_EQ(c["chains_changed"][0]["previous_policy"], "accept");
  EXPECT_EQ(c["chains_changed"][0]["rules"], 2);
  EXPECT_EQ(c["chains_changed"][0]["previous_rules"], 1);
  EXPECT_FALSE(c.contains("omitted"));
}

TEST(ChangesData, ARuleReplacedShowsTheChainWithoutPreviousCounts) {
  const std::string t = R"({"table":{"family":"ip","name":"t"}},)" + Chain("ip", "t", "c") + ",";
  const Json c = ChangesData(ViewOf({BackendState{"nftables", Nft(t + Rule("ip", "t", "c", "accept")), ""}}),
                             ViewOf({BackendState{"nftables", Nft(t + Rule("ip", "t", "c", "drop")), ""}}));
  ASSERT_EQ(c["chains_changed"].size(), 1u);
  EXPECT_FALSE(c["chains_changed"][0].contains("previous_rules"));
  EXPECT_FALSE(c["chains_changed"][0].contains("previous_policy"));
}

TEST(ChangesData, SetContentChangesShowAsTableChanged) {
  auto with = [](const std::string& elem) {
    return R"({"table":{"family":"inet","name":"t"}},{"set":{"family":"inet","table":"t","name":"allow","type":"ipv4_addr","elem":[")" +
           elem + R"("]}})";
  };
  const Json c = ChangesData(ViewOf({BackendState{"nftables", Nft(with("192.0.2.1")), ""}}),
                             ViewOf({BackendState{"nftables", Nft(with("198.51.100.7")), ""}}));
  EXPECT_EQ(c["tables_changed"], (Json::array({{{"backend", "nftables"}, {"family", "inet"}, {"table", "t"}}})));
}

TEST(ChangesData, UnreadBackendsAreNotCompared) {
  const FirewallView before = ViewOf({BackendState{"nftables", std::nullopt, "no"}});
  const FirewallView after = ViewOf({BackendState{"nftables", Nft(R"({"table":{"family":"ip","name":"t"}})"), ""}});
  EXPECT_EQ(ChangesData(before, after), Json::object());
}

TEST(ChangesData, ABackendThatAppearsHasAllItsTablesAdded) {
  const Backend legacy = *ParseIptablesSave("*filter\n:INPUT ACCEPT [0:0]\n:X - [0:0]\nCOMMIT\n", "ip");
  const Json c =
      ChangesData(ViewOf({BackendState{"nftables", Nft(""), ""}}),
                  ViewOf({BackendState{"nftables", Nft(""), ""}, BackendState{"iptables-legacy", legacy, ""}}));
  ASSERT_EQ(c["tables_added"].size(), 1u);
  EXPECT_EQ(c["tables_added"][0]["backend"], "iptables-legacy");
  ASSERT_EQ(c["chains_added"].size(), 2u);
  EXPECT_EQ(c["chains_added"][1]["chain"], "X");
}

TEST(ChangesData, BoundsEachListAndCountsTheRest) {
  std::string objects = R"({"table":{"family":"ip","name":"t"}})";
  for (size_t i = 0; i < kMaxChanges + 5; ++i) objects += "," + Chain("ip", "t", "c" + std::to_string(i));
  const Json c = ChangesData(ViewOf({BackendState{"nftables", Nft(""), ""}}),
                             ViewOf({BackendState{"nftables", Nft(objects), ""}}));
  EXPECT_EQ(c["chains_added"].size(), kMaxChanges);
  EXPECT_EQ(c["omitted"], 5);
}

}  // namespace
}  // namespace vigil::firewall
