// `vigil-agent scan posture` as a user runs it: the real binary on this machine with the
// built-in baseline (table and JSON), on a prepared root directory, with a policy file of
// its own, and with bad input (a broken policy, an unknown check, a bad format).
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::TempDir;

using testing::Shell;
using testing::ShellRun;

void Write(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

const std::string kAgent = VIGIL_AGENT_BIN;

TEST(PostureScan, BaselineOnThisMachineAsJson) {
  const ShellRun r = Shell(kAgent + " scan posture --format json");
  ASSERT_EQ(r.exit_code, 0);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["policy"]["id"], "vigil-linux-baseline");
  EXPECT_EQ(j["root"], "/");
  const json& s = j["summary"];
  const size_t total = s["pass"].get<size_t>() + s["fail"].get<size_t>() + s["not_applicable"].get<size_t>() +
                       s["error"].get<size_t>();
  EXPECT_EQ(total, j["results"].size());
  EXPECT_GE(total, 150u);
  EXPECT_GT(s["pass"].get<size_t>(), 0u);
  // This machine's own facts, read independently: the ASLR sysctl and the root account.
  std::ifstream aslr("/proc/sys/kernel/randomize_va_space");
  std::string v;
  aslr >> v;
  for (const json& c : j["results"]) {
    ASSERT_TRUE(c.contains("evidence"));
    EXPECT_LE(c["evidence"].get<std::string>().size(), 1024u);
    if (c["id"] == "kernel-aslr") {
      EXPECT_EQ(c["result"], v == "2" ? "pass" : "fail");
      EXPECT_EQ(c["evidence"], "kernel.randomize_va_space = " + v + (v == "2" ? "" : " (expected 2)"));
    }
    if (c["id"] == "acct-root-gid0") EXPECT_EQ(c["result"], "pass") << c.dump();
    // Commands run on the live system: their checks are never "commands run only on the live system".
    EXPECT_EQ(c["evidence"].get<std::string>().find("live system"), std::string::npos) << c.dump();
  }
  const double score = s["score"].get<double>();
  EXPECT_NEAR(score, 100.0 * s["pass"].get<double>() / (s["pass"].get<double>() + s["fail"].get<double>()), 0.051);
  std::printf("baseline on this machine: %s in %lld ms\n", s.dump().c_str(), j["duration_ms"].get<long long>());
}

TEST(PostureScan, TableWithSummaryLine) {
  const ShellRun r = Shell(kAgent + " scan posture 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("RESULT", 0), 0u);
  const std::regex summary(
      R"(vigil-linux-baseline 1\.0\.0 on /: (\d+) checks: (\d+) pass, (\d+) fail, (\d+) not applicable, (\d+) error; score [0-9.]+% \([0-9.]+ s\))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, summary)) << r.out.substr(r.out.size() > 400 ? r.out.size() - 400 : 0);
  EXPECT_EQ(std::stoul(m[1]), std::stoul(m[2]) + std::stoul(m[3]) + std::stoul(m[4]) + std::stoul(m[5]));
}

TEST(PostureScan, PreparedRootGivesExpectedResults) {
  TempDir root("/tmp/vigil-posture-root-");
  Write(root / "etc/ssh/sshd_config", "PermitRootLogin yes\nMaxAuthTries 3\n", 0600);
  Write(root / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\n");
  Write(root / "etc/shadow", "root:*:19700:0:99999:7:::\n", 0640);
  Write(root / "proc/sys/net/ipv4/ip_forward", "0\n");
  Write(root / "proc/self/mounts", "tmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n");
  const ShellRun r = Shell(kAgent + " scan posture --format json --root " + root.path() +
                      " --check ssh-permit-root-login --check ssh-max-auth-tries --check acct-uid0-root-only"
                      " --check net-ip-forward --check fs-tmp-noexec --check fw-default-input-drop");
  ASSERT_EQ(r.exit_code, 0);
  const json j = json::parse(r.out);
  ASSERT_EQ(j["results"].size(), 6u);
  std::map<std::string, std::string> got, evidence;  // results come in the policy's order
  for (const json& c : j["results"]) {
    got[c["id"]] = c["result"];
    evidence[c["id"]] = c["evidence"];
  }
  EXPECT_EQ(got["ssh-permit-root-login"], "fail");
  EXPECT_EQ(got["ssh-max-auth-tries"], "pass");
  EXPECT_EQ(got["acct-uid0-root-only"], "fail");
  EXPECT_EQ(got["net-ip-forward"], "pass");
  EXPECT_EQ(got["fs-tmp-noexec"], "pass");
  EXPECT_EQ(got["fw-default-input-drop"], "not_applicable");  // commands run only for /
  EXPECT_EQ(j["summary"]["pass"], 3);
  EXPECT_EQ(j["summary"]["fail"], 2);
  EXPECT_EQ(j["summary"]["score"], 60.0);
  // Both of the check's rules fail; the evidence joins theirs.
  EXPECT_EQ(evidence["ssh-permit-root-login"],
            "no line of /etc/ssh/sshd_config matches '^\\s*(?i:PermitRootLogin)\\s+no\\b'; "
            "/etc/ssh/sshd_config:1: PermitRootLogin yes");
}

TEST(PostureScan, OwnPolicyFileAndBadInput) {
  TempDir dir("/tmp/vigil-posture-policy-");
  Write(dir / "good.yml",
        "policy: {id: mine, name: Mine, version: '3'}\ncommands:\n  - id: true\n    argv: [/bin/true]\n"
        "groups:\n  - id: g\n    title: G\n    checks:\n"
        "      - {id: passwd, title: T, rationale: R, remediation: M, severity: low, rules: [{file: /etc/passwd, owner: root}]}\n"
        "      - {id: runs, title: T, rationale: R, remediation: M, severity: low, rules: [{command: 'true', exit: 0}]}\n");
  const ShellRun ok = Shell(kAgent + " scan posture --policy " + dir / "good.yml" + " --format json");
  ASSERT_EQ(ok.exit_code, 0);
  const json j = json::parse(ok.out);
  EXPECT_EQ(j["policy"]["id"], "mine");
  EXPECT_EQ(j["results"][0]["result"], "pass");
  EXPECT_EQ(j["results"][1]["result"], "pass");
  EXPECT_EQ(j["results"][1]["evidence"], "command true exited 0");

  Write(dir / "bad.yml", "policy: {id: bad, name: Bad, version: '1'}\ngroups:\n  - id: g\n    title: G\n    checks:\n"
                         "      - id: c\n        title: T\n        rationale: R\n        remediation: M\n"
                         "        severity: low\n        rules:\n          - sysctl: kernel.x\n            valeu: '1'\n");
  const ShellRun bad = Shell(kAgent + " scan posture --policy " + dir / "bad.yml" + " 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find(dir / "bad.yml" + ":13: check 'c': field 'rules[0].valeu': unknown key"), std::string::npos)
      << bad.out;
  EXPECT_EQ(Shell(kAgent + " scan posture --check no-such-check 2>/dev/null").exit_code, 2);
  EXPECT_EQ(Shell(kAgent + " scan posture --format xml 2>/dev/null").exit_code, 2);
  EXPECT_EQ(Shell(kAgent + " scan posture --root /nonexistent-vigil 2>/dev/null").exit_code, 2);
  EXPECT_EQ(Shell(kAgent + " scan posture --policy builtin:nothing 2>/dev/null").exit_code, 2);
  const ShellRun openwrt = Shell(kAgent + " scan posture --policy builtin:openwrt-busybox --format json");
  ASSERT_EQ(openwrt.exit_code, 0);
  EXPECT_EQ(json::parse(openwrt.out)["policy"]["id"], "vigil-openwrt-busybox");
}

}  // namespace
}  // namespace vigil
