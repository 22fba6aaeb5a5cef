#include "agent/posture/policy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace vigil::posture {
namespace {

const char* kHeader = R"(policy:
  id: test
  name: Test policy
  version: "1"
commands:
  - id: echo
    argv: [/bin/echo, hello]
    timeout: 3
)";

std::string WithChecks(const std::string& checks) {
  return std::string(kHeader) + "groups:\n  - id: g\n    title: G\n    checks:\n" + checks;
}

std::string CheckText(const std::string& id, const std::string& rules, const std::string& extra = "") {
  return "      - id: " + id +
         "\n        title: T\n        rationale: R\n        remediation: M\n        severity: high\n" + extra +
         "        rules:\n" + rules;
}

TEST(PolicyLoader, LoadsEveryRuleKind) {
  const std::string text = WithChecks(CheckText("c1",
                                            "          - file: /etc/ssh/sshd_config\n"
                                            "            capture: '^MaxAuthTries\\s+(\\d+)'\n"
                                            "            compare: '<= 4'\n"
                                            "            default: 6\n"
                                            "          - file: [/etc/a, /etc/b.d/*.conf]\n"
                                            "            mode_max: '0640'\n"
                                            "            owner: root\n"
                                            "            group: [root, shadow]\n"
                                            "          - directory: /etc/cron.d\n"
                                            "            not_contains: '^bad'\n"
                                            "          - sysctl: net.ipv4.ip_forward\n"
                                            "            value: '0'\n"
                                            "          - module: cramfs\n"
                                            "            loadable: false\n"
                                            "          - mount: /tmp\n"
                                            "            options: [nodev, nosuid]\n"
                                            "          - process: telnetd\n"
                                            "            running: false\n"
                                            "          - package: [telnetd, inetutils-telnetd]\n"
                                            "            installed: false\n"
                                            "          - service: ssh\n"
                                            "            enabled: true\n"
                                            "          - command: echo\n"
                                            "            matches: hello\n"
                                            "            exit: 0\n",
                                            "        references: [CIS 5.1.16]\n        condition: any\n"));
  LoadedPolicy p = LoadPolicy(text, "t.yml");
  ASSERT_TRUE(p.ok()) << (p.issues.empty() ? "" : p.issues[0].ToString());
  ASSERT_EQ(p.policy->checks.size(), 1u);
  const Check& c = p.policy->checks[0];
  EXPECT_EQ(c.severity, Severity::kHigh);
  EXPECT_EQ(c.rules.condition, Condition::kAny);
  EXPECT_EQ(c.references, std::vector<std::string>{"CIS 5.1.16"});
  ASSERT_EQ(c.rules.rules.size(), 10u);
  EXPECT_EQ(c.rules.rules[0].compare->ToString(), "<= 4");
  EXPECT_EQ(*c.rules.rules[0].default_value, 6);
  EXPECT_EQ(*c.rules.rules[1].mode_max, 0640u);
  EXPECT_EQ(c.rules.rules[1].targets.size(), 2u);
  EXPECT_EQ(c.rules.rules[9].kind, RuleKind::kCommand);
  EXPECT_EQ(c.rules.rules[9].line, 43u);
  EXPECT_EQ(p.policy->commands.at(0).timeout_ms, 3000);
  EXPECT_EQ(c.line, 13u);
}

TEST(PolicyLoader, ReportsEveryBadCheckWithLineAndFieldAndKeepsTheRest) {
  const std::string text = WithChecks(CheckText("good1", "          - file: /etc/passwd\n") +
                                      CheckText("bad-compare",
                                            "          - file: /etc/x\n"
                                            "            capture: '(\\d+)'\n"
                                            "            compare: 'about 4'\n") +
                                      CheckText("bad-key", "          - sysctl: kernel.x\n            valu: '1'\n") +
                                      CheckText("bad-regex", "          - file: /etc/x\n            matches: '(unclosed'\n") +
                                      CheckText("good2", "          - sysctl: kernel.x\n            value: '1'\n") +
                                      CheckText("bad-command", "          - command: nope\n            exit: 0\n"));
  LoadedPolicy p = LoadPolicy(text, "t.yml");
  ASSERT_NE(p.policy, nullptr);
  ASSERT_EQ(p.policy->checks.size(), 2u);
  EXPECT_EQ(p.policy->checks[0].id, "good1");
  EXPECT_EQ(p.policy->checks[1].id, "good2");
  ASSERT_EQ(p.issues.size(), 4u);
  EXPECT_EQ(p.issues[0].check, "bad-compare");
  EXPECT_EQ(p.issues[0].line, 28u);
  EXPECT_EQ(p.issues[0].field, "rules[0].compare");
  EXPECT_EQ(p.issues[1].check, "bad-key");
  EXPECT_EQ(p.issues[1].line, 36u);
  EXPECT_EQ(p.issues[1].field, "rules[0].valu");
  EXPECT_EQ(p.issues[2].check, "bad-regex");
  EXPECT_EQ(p.issues[2].field, "rules[0].matches");
  EXPECT_EQ(p.issues[2].line, 44u);
  EXPECT_EQ(p.issues[3].check, "bad-command");
  EXPECT_NE(p.issues[3].message.find("not declared"), std::string::npos);
  EXPECT_EQ(p.issues[0].ToString().substr(0, 47), "t.yml:28: check 'bad-compare': field 'rules[0].");
}

TEST(PolicyLoader, UnknownKeysAreErrors) {
  LoadedPolicy top = LoadPolicy(std::string(kHeader) + "group: []\ngroups: []\n", "t.yml");
  ASSERT_FALSE(top.issues.empty());
  EXPECT_EQ(top.issues[0].field, "group");
  EXPECT_EQ(top.issues[0].line, 9u);
  LoadedPolicy check = LoadPolicy(WithChecks(CheckText("c", "          - file: /etc/x\n", "        severty: low\n")), "t.yml");
  ASSERT_EQ(check.issues.size(), 1u);
  EXPECT_EQ(check.issues[0].field, "severty");
  EXPECT_EQ(check.issues[0].line, 18u);
}

TEST(PolicyLoader, RejectsUnsafeTargetsAndBadValues) {
  struct Case {
    std::string rules;
    std::string field;
  } cases[] = {
      {"          - file: etc/passwd\n", "rules[0].file"},
      {"          - file: /etc/../shadow\n", "rules[0].file"},
      {"          - file: /etc/*/x\n", "rules[0].file"},
      {"          - file: /etc/x\n            mode: '0999'\n", "rules[0].mode"},
      {"          - sysctl: ../../etc/shadow\n            value: '1'\n", "rules[0].sysctl"},
      {"          - sysctl: kernel.x\n", "rules[0]"},
      {"          - module: cramfs\n", "rules[0]"},
      {"          - file: /etc/x\n            capture: 'x'\n            compare: '< 1'\n", "rules[0].capture"},
      {"          - file: /etc/x\n            sysctl: kernel.x\n", "rules[0]"},
      {"          - file: /etc/x\n            exists: false\n            matches: y\n", "rules[0].exists"},
      {"          - process: telnetd\n            running: maybe\n", "rules[0].running"},
      {"          - file: /etc/x\n            missing: skip\n", "rules[0].missing"},
  };
  for (const Case& c : cases) {
    LoadedPolicy p = LoadPolicy(WithChecks(CheckText("c", c.rules)), "t.yml");
    ASSERT_EQ(p.issues.size(), 1u) << c.rules;
    EXPECT_EQ(p.issues[0].field, c.field) << c.rules << p.issues[0].ToString();
    EXPECT_EQ(p.issues[0].check, "c");
    EXPECT_GT(p.issues[0].line, 15u) << c.rules;
    EXPECT_TRUE(p.policy->checks.empty());
  }
}

TEST(PolicyLoader, DuplicateIdsAndBadSeverity) {
  LoadedPolicy p = LoadPolicy(WithChecks(CheckText("same", "          - file: /etc/x\n") +
                                         CheckText("same", "          - file: /etc/y\n") +
                                         "      - id: sev\n        title: T\n        rationale: R\n        remediation: M\n"
                                         "        severity: urgent\n        rules:\n          - file: /etc/x\n"),
                              "t.yml");
  ASSERT_EQ(p.issues.size(), 2u);
  EXPECT_NE(p.issues[0].message.find("given twice"), std::string::npos);
  EXPECT_EQ(p.issues[1].field, "severity");
  EXPECT_EQ(p.issues[1].line, 31u);
  EXPECT_EQ(p.policy->checks.size(), 1u);
}

TEST(PolicyLoader, CommandsMustBeAbsoluteWithoutShell) {
  LoadedPolicy p = LoadPolicy("policy: {id: p, name: n, version: '1'}\ncommands:\n  - id: sh\n    argv: [sh, -c, 'ls']\n"
                              "  - id: slow\n    argv: [/bin/true]\n    timeout: 100000\ngroups: []\n",
                              "t.yml");
  ASSERT_EQ(p.issues.size(), 2u);
  EXPECT_EQ(p.issues[0].field, "commands[0].argv[0]");
  EXPECT_EQ(p.issues[0].line, 4u);
  EXPECT_EQ(p.issues[1].field, "commands[1].timeout");
  EXPECT_EQ(p.issues[1].line, 7u);
  EXPECT_TRUE(p.policy->commands.empty());
}

TEST(PolicyLoader, SyntaxErrorsNameTheLine) {
  LoadedPolicy p = LoadPolicy("policy:\n  id: x\n  name: [unclosed\n", "bad.yml");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].file, "bad.yml");
  EXPECT_GE(p.issues[0].line, 3u);
  EXPECT_EQ(p.policy, nullptr);
  LoadedPolicy scalar = LoadPolicy("just text", "s.yml");
  ASSERT_EQ(scalar.issues.size(), 1u);
  EXPECT_EQ(scalar.issues[0].line, 1u);
}

TEST(PolicyLoader, RejectsTextThatIsNotUtf8) {
  LoadedPolicy p = LoadPolicy("policy:\n  id: x\n  name: N\x98\n  version: '1'\ngroups: []\n", "t.yml");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].line, 3u);
  EXPECT_NE(p.issues[0].message.find("UTF-8"), std::string::npos);
}

TEST(PolicyLoader, MissingHeaderFieldsAreReported) {
  LoadedPolicy p = LoadPolicy("policy:\n  id: x\ngroups: []\n", "t.yml");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].field, "policy.name");
  EXPECT_EQ(p.issues[0].line, 2u);
}

// docs/posture.md: its full example loads, and every rule kind has a section.
TEST(PolicyDocs, ExampleLoadsAndEveryKindIsDocumented) {
  std::ifstream in(VIGIL_POSTURE_DOCS);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t start = doc.find("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  const size_t end = doc.find("```\n", start + 8);
  LoadedPolicy p = LoadPolicy(doc.substr(start + 8, end - start - 8), "posture.md");
  ASSERT_TRUE(p.ok()) << (p.issues.empty() ? "" : p.issues[0].ToString());
  EXPECT_EQ(p.policy->checks.size(), 1u);
  for (RuleKind k : {RuleKind::kFile, RuleKind::kDirectory, RuleKind::kSysctl, RuleKind::kModule, RuleKind::kMount,
                     RuleKind::kProcess, RuleKind::kPackage, RuleKind::kService, RuleKind::kCommand})
    EXPECT_NE(doc.find("**" + std::string(RuleKindName(k)) + "**"), std::string::npos) << RuleKindName(k);
}

TEST(Comparison, ParsesAndHolds) {
  auto c = ParseComparison(" >= 14 ");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->Holds(14));
  EXPECT_FALSE(c->Holds(13));
  EXPECT_TRUE(ParseComparison("!=0")->Holds(1));
  EXPECT_TRUE(ParseComparison("< -1")->Holds(-2));
  EXPECT_FALSE(ParseComparison("=> 4"));
  EXPECT_FALSE(ParseComparison("<= four"));
  EXPECT_FALSE(ParseComparison("<="));
}

}  // namespace
}  // namespace vigil::posture
