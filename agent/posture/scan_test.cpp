// Each rule kind against files prepared in a temporary root, read through the real Env.
#include "agent/posture/scan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "agent/posture/test_util.h"

namespace vigil::posture {
namespace {

using testing::FakeRunner;
using testing::TempRoot;

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = NewPlatformEnv();
    // Names for this process's uid and gid, so that owner/group rules resolve them.
    root_.Write("/etc/passwd", "root:x:" + std::to_string(getuid()) + ":" + std::to_string(getgid()) +
                                   ":root:/root:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n");
    root_.Write("/etc/group", "root:x:" + std::to_string(getgid()) + ":\nnogroup:x:65534:\n");
  }

  // Loads one check with the given rules (and condition) and runs it.
  CheckResult Run(const std::string& rules, const std::string& condition = "all",
                  const std::string& commands = "") {
    const std::string text = "policy: {id: t, name: t, version: '1'}\n" + commands +
                             "groups:\n  - id: g\n    title: G\n    checks:\n"
                             "      - id: c\n        title: T\n        rationale: R\n        remediation: M\n"
                             "        severity: low\n        condition: " + condition + "\n        rules:\n" + rules;
    LoadedPolicy p = LoadPolicy(text, "t.yml");
    EXPECT_TRUE(p.ok()) << (p.issues.empty() ? "" : p.issues[0].ToString());
    if (!p.ok()) return {};
    ScanTarget t;
    t.env = env_.get();
    t.root = root_.path();
    t.runner = runner_ ? &*runner_ : nullptr;
    ScanReport r = RunScan(p.policy, t);
    EXPECT_EQ(r.results.size(), 1u);
    report_ = r;
    return r.results.empty() ? CheckResult{} : r.results[0];
  }

  std::unique_ptr<Env> env_;
  TempRoot root_;
  std::optional<FakeRunner> runner_;
  ScanReport report_;
};

TEST_F(ScanTest, FileExistsAndAbsent) {
  root_.Write("/etc/present", "x");
  EXPECT_EQ(Run("          - file: /etc/present\n").outcome, Outcome::kPass);
  CheckResult absent = Run("          - file: /etc/nothing\n");
  EXPECT_EQ(absent.outcome, Outcome::kNotApplicable);
  EXPECT_EQ(absent.evidence, "not found: /etc/nothing");
  EXPECT_EQ(Run("          - file: /etc/nothing\n            exists: false\n").outcome, Outcome::kPass);
  CheckResult present = Run("          - file: /etc/present\n            exists: false\n");
  EXPECT_EQ(present.outcome, Outcome::kFail);
  EXPECT_EQ(present.evidence, "present: /etc/present");
  EXPECT_EQ(Run("          - file: /etc/nothing\n            missing: fail\n").outcome, Outcome::kFail);
}

TEST_F(ScanTest, FileContentMatchesAndNotMatches) {
  root_.Write("/etc/ssh/sshd_config", "# PermitRootLogin yes\nPort 22\nPermitRootLogin no\n");
  CheckResult m = Run("          - file: /etc/ssh/sshd_config\n            matches: '^PermitRootLogin\\s+no'\n");
  EXPECT_EQ(m.outcome, Outcome::kPass);
  EXPECT_EQ(m.evidence, "/etc/ssh/sshd_config:3: PermitRootLogin no");
  CheckResult n = Run("          - file: /etc/ssh/sshd_config\n            not_matches: '^\\s*Port\\s+22$'\n");
  EXPECT_EQ(n.outcome, Outcome::kFail);
  EXPECT_EQ(n.evidence, "/etc/ssh/sshd_config:2: Port 22");
  CheckResult none = Run("          - file: /etc/ssh/sshd_config\n            matches: '^Banner'\n");
  EXPECT_EQ(none.outcome, Outcome::kFail);
  EXPECT_NE(none.evidence.find("no line of /etc/ssh/sshd_config matches"), std::string::npos);
}

TEST_F(ScanTest, CapturedNumberComparedToBound) {
  root_.Write("/etc/ssh/sshd_config.d/10-local.conf", "MaxAuthTries 3\n");
  root_.Write("/etc/ssh/sshd_config", "MaxAuthTries 6\nLoginGraceTime 2m\n");
  const std::string files = "          - file: [/etc/ssh/sshd_config.d/*.conf, /etc/ssh/sshd_config]\n";
  // The first match wins, as in sshd: the drop-in's 3.
  CheckResult first = Run(files + "            capture: '^MaxAuthTries\\s+(\\d+)'\n            compare: '<= 4'\n");
  EXPECT_EQ(first.outcome, Outcome::kPass);
  EXPECT_EQ(first.evidence, "/etc/ssh/sshd_config.d/10-local.conf:1: MaxAuthTries 3");
  root_.Remove("/etc/ssh/sshd_config.d");
  CheckResult over = Run(files + "            capture: '^MaxAuthTries\\s+(\\d+)'\n            compare: '<= 4'\n");
  EXPECT_EQ(over.outcome, Outcome::kFail);
  EXPECT_EQ(over.evidence, "/etc/ssh/sshd_config:1: MaxAuthTries 6 (expected <= 4)");
  CheckResult dflt = Run(files + "            capture: '^MaxSessions\\s+(\\d+)'\n            compare: '<= 10'\n"
                                 "            default: 10\n");
  EXPECT_EQ(dflt.outcome, Outcome::kPass);
  EXPECT_NE(dflt.evidence.find("default 10"), std::string::npos);
  CheckResult nan = Run(files + "            capture: '^LoginGraceTime\\s+(\\S+)'\n            compare: '<= 60'\n");
  EXPECT_EQ(nan.outcome, Outcome::kFail);
  EXPECT_NE(nan.evidence.find("not an integer"), std::string::npos);
}

TEST_F(ScanTest, FileModeOwnerGroup) {
  root_.Write("/etc/shadow", "root:*:1::::::\n", 0640);
  root_.Write("/etc/loose", "x", 0666);
  EXPECT_EQ(Run("          - file: /etc/shadow\n            mode_max: '0640'\n            owner: root\n            group: root\n")
                .outcome,
            Outcome::kPass);
  CheckResult loose = Run("          - file: /etc/loose\n            mode_max: '0644'\n");
  EXPECT_EQ(loose.outcome, Outcome::kFail);
  EXPECT_EQ(loose.evidence, "/etc/loose: mode 0666 (expected at most 0644)");
  EXPECT_EQ(Run("          - file: /etc/shadow\n            mode: '0600'\n").outcome, Outcome::kFail);
  EXPECT_EQ(Run("          - file: /etc/shadow\n            mode: '0640'\n").outcome, Outcome::kPass);
  CheckResult owner = Run("          - file: /etc/shadow\n            owner: nobody\n");
  EXPECT_EQ(owner.outcome, Outcome::kFail);
  EXPECT_NE(owner.evidence.find("owner root(" + std::to_string(getuid()) + ")"), std::string::npos);
  EXPECT_EQ(Run("          - file: /etc/shadow\n            group: [nogroup, '" + std::to_string(getgid()) + "']\n").outcome,
            Outcome::kPass);
}

TEST_F(ScanTest, GlobTargetsAllChecked) {
  root_.Write("/etc/ssh/ssh_host_rsa_key", "k", 0600);
  root_.Write("/etc/ssh/ssh_host_ed25519_key", "k", 0644);
  root_.Write("/etc/ssh/ssh_host_ed25519_key.pub", "k", 0644);
  CheckResult r = Run("          - file: /etc/ssh/ssh_host_*_key\n            mode_max: '0600'\n");
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_EQ(r.evidence, "/etc/ssh/ssh_host_ed25519_key: mode 0644 (expected at most 0600)");
}

TEST_F(ScanTest, DirectoryContents) {
  root_.Mkdir("/root");
  root_.Write("/root/.profile", "");
  EXPECT_EQ(Run("          - directory: /root\n            not_contains: '^\\.(rhosts|netrc)$'\n").outcome, Outcome::kPass);
  root_.Write("/root/.netrc", "machine x");
  CheckResult bad = Run("          - directory: /root\n            not_contains: '^\\.(rhosts|netrc)$'\n");
  EXPECT_EQ(bad.outcome, Outcome::kFail);
  EXPECT_EQ(bad.evidence, "present: /root/.netrc");
  EXPECT_EQ(Run("          - directory: /root\n            contains: '^\\.profile$'\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - directory: /nowhere\n            contains: x\n").outcome, Outcome::kNotApplicable);
  EXPECT_EQ(Run("          - directory: /nowhere\n            exists: false\n").outcome, Outcome::kPass);
}

TEST_F(ScanTest, SysctlValues) {
  root_.Write("/proc/sys/net/ipv4/ip_forward", "1\n");
  root_.Write("/proc/sys/kernel/randomize_va_space", "2\n");
  root_.Write("/proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");
  CheckResult fwd = Run("          - sysctl: net.ipv4.ip_forward\n            value: '0'\n");
  EXPECT_EQ(fwd.outcome, Outcome::kFail);
  EXPECT_EQ(fwd.evidence, "net.ipv4.ip_forward = 1 (expected 0)");
  EXPECT_EQ(Run("          - sysctl: kernel.randomize_va_space\n            compare: '>= 2'\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - sysctl: net.ipv4.tcp_rmem\n            value: '4096 131072 6291456'\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - sysctl: net.ipv6.conf.all.accept_ra\n            value: '0'\n").outcome, Outcome::kNotApplicable);
}

TEST_F(ScanTest, ModuleLoadedAndLoadable) {
  root_.Write("/proc/modules", "udf 118784 0 - Live 0x0\n");
  root_.Write("/lib/modules/6.1.0-test/modules.dep",
              "kernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\nkernel/fs/cramfs/cramfs.ko.xz:\n"
              "kernel/drivers/usb/storage/usb-storage.ko.xz:\n");
  root_.Write("/etc/modprobe.d/cramfs.conf", "install cramfs /bin/false\nblacklist cramfs\n");
  root_.Write("/etc/modprobe.d/usb.conf", "blacklist usb-storage\n");
  CheckResult cramfs = Run("          - module: cramfs\n            loadable: false\n          - module: cramfs\n            loaded: false\n");
  EXPECT_EQ(cramfs.outcome, Outcome::kPass);
  EXPECT_NE(cramfs.evidence.find("/etc/modprobe.d/cramfs.conf: install cramfs /bin/false"), std::string::npos);
  CheckResult udf = Run("          - module: udf\n            loaded: false\n");
  EXPECT_EQ(udf.outcome, Outcome::kFail);
  EXPECT_EQ(udf.evidence, "udf is loaded");
  // Blacklisting alone does not stop `modprobe usb-storage`.
  CheckResult usb = Run("          - module: usb-storage\n            loadable: false\n");
  EXPECT_EQ(usb.outcome, Outcome::kFail);
  EXPECT_NE(usb.evidence.find("blacklisted"), std::string::npos);
  EXPECT_EQ(Run("          - module: hfsplus\n            loadable: false\n").outcome, Outcome::kPass);
}

TEST_F(ScanTest, MountOptionsAndSeparatePartitions) {
  root_.Write("/proc/self/mounts",
              "/dev/vda1 / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n"
              "tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec 0 0\n");
  EXPECT_EQ(Run("          - mount: /tmp\n            separate: true\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - mount: /tmp\n            options: [nodev, nosuid]\n").outcome, Outcome::kPass);
  CheckResult noexec = Run("          - mount: /tmp\n            options: noexec\n");
  EXPECT_EQ(noexec.outcome, Outcome::kFail);
  EXPECT_EQ(noexec.evidence, "/proc/self/mounts:2: tmpfs /tmp tmpfs rw,nosuid,nodev (no noexec)");
  EXPECT_EQ(Run("          - mount: /var/tmp\n            separate: true\n").outcome, Outcome::kFail);
  EXPECT_EQ(Run("          - mount: /var/tmp\n            options: nodev\n").outcome, Outcome::kNotApplicable);
  EXPECT_EQ(Run("          - mount: /\n            not_options: [ro]\n").outcome, Outcome::kPass);
  root_.Remove("/proc/self/mounts");
  EXPECT_EQ(Run("          - mount: /tmp\n            separate: true\n").outcome, Outcome::kNotApplicable);
}

TEST_F(ScanTest, ProcessRunningByCommOrExe) {
  root_.Write("/proc/1/comm", "init\n");
  root_.Write("/proc/42/comm", "telnetd\n");
  root_.Write("/proc/77/comm", "a-very-long-pro\n");  // comm is cut at 15 characters
  root_.Mkdir("/proc/sys");
  CheckResult t = Run("          - process: telnetd\n            running: false\n");
  EXPECT_EQ(t.outcome, Outcome::kFail);
  EXPECT_EQ(t.evidence, "pid 42 (telnetd) is running");
  EXPECT_EQ(Run("          - process: a-very-long-program-name\n            running: true\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - process: [auditd, rsyslogd]\n            running: true\n").outcome, Outcome::kFail);
}

TEST_F(ScanTest, PackagesFromDpkgAndOpkg) {
  root_.Write("/var/lib/dpkg/status",
              "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\nArchitecture: amd64\n\n"
              "Package: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17-44\n\n");
  CheckResult ssh = Run("          - package: openssh-server\n            installed: true\n");
  EXPECT_EQ(ssh.outcome, Outcome::kPass);
  EXPECT_EQ(ssh.evidence, "openssh-server 1:9.2p1-2 (deb) is installed");
  EXPECT_EQ(Run("          - package: telnetd\n            installed: false\n").outcome, Outcome::kPass);
  root_.Remove("/var/lib/dpkg");
  EXPECT_EQ(Run("          - package: telnetd\n            installed: false\n").outcome, Outcome::kNotApplicable);
  root_.Write("/usr/lib/opkg/status", "Package: dropbear\nVersion: 2022.82-6\nStatus: install user installed\n\n");
  EXPECT_EQ(Run("          - package: dropbear\n            installed: true\n").outcome, Outcome::kPass);
}

TEST_F(ScanTest, ServicesSystemdSysvAndOpenWrt) {
  root_.Mkdir("/etc/systemd/system/multi-user.target.wants");
  root_.Symlink("/lib/systemd/system/ssh.service", "/etc/systemd/system/multi-user.target.wants/ssh.service");
  root_.Symlink("/lib/systemd/system/avahi-daemon.service", "/etc/systemd/system/multi-user.target.wants/avahi-daemon.service");
  root_.Symlink("/dev/null", "/etc/systemd/system/avahi-daemon.service");  // masked
  CheckResult ssh = Run("          - service: ssh\n            enabled: true\n");
  EXPECT_EQ(ssh.outcome, Outcome::kPass);
  EXPECT_EQ(ssh.evidence, "enabled: /etc/systemd/system/multi-user.target.wants/ssh.service");
  EXPECT_EQ(Run("          - service: avahi-daemon\n            enabled: false\n").outcome, Outcome::kPass);
  EXPECT_EQ(Run("          - service: cups\n            enabled: false\n").outcome, Outcome::kPass);
  root_.Write("/etc/rc2.d/S01telnetd", "#!/bin/sh\n", 0755);
  EXPECT_EQ(Run("          - service: telnetd\n            enabled: false\n").outcome, Outcome::kFail);
  root_.Write("/etc/rc.d/S19firewall", "#!/bin/sh\n", 0755);
  EXPECT_EQ(Run("          - service: firewall\n            enabled: true\n").outcome, Outcome::kPass);
}

TEST_F(ScanTest, ServicesWithoutAnyInitAreNotApplicable) {
  EXPECT_EQ(Run("          - service: ssh\n            enabled: true\n").outcome, Outcome::kNotApplicable);
}

TEST_F(ScanTest, CommandsRunOnlyWhenDeclaredAndOnce) {
  const std::string cmds = "commands:\n  - id: ipt\n    argv: [/usr/sbin/iptables, -S]\n";
  const std::string rules = "          - command: ipt\n            matches: '^-P INPUT DROP'\n"
                            "          - command: ipt\n            not_matches: '^-A INPUT -j ACCEPT$'\n";
  EXPECT_EQ(Run(rules, "all", cmds).outcome, Outcome::kNotApplicable);  // no runner: not the live system
  runner_.emplace();
  runner_->outputs["/usr/sbin/iptables"] = {0, false, false, "-P INPUT DROP\n-P FORWARD DROP\n-A INPUT -i lo -j ACCEPT\n"};
  CheckResult ok = Run(rules, "all", cmds);
  EXPECT_EQ(ok.outcome, Outcome::kPass);
  EXPECT_EQ(runner_->calls, 1);  // both rules share one run
  EXPECT_NE(ok.evidence.find("command ipt:1: -P INPUT DROP"), std::string::npos);
  runner_->outputs["/usr/sbin/iptables"] = {0, false, false, "-P INPUT ACCEPT\n"};
  EXPECT_EQ(Run(rules, "all", cmds).outcome, Outcome::kFail);
  runner_->outputs["/usr/sbin/iptables"] = {137, true, false, ""};
  CheckResult slow = Run(rules, "all", cmds);
  EXPECT_EQ(slow.outcome, Outcome::kError);
  EXPECT_NE(slow.evidence.find("timed out"), std::string::npos);
  runner_->outputs.clear();
  EXPECT_EQ(Run(rules, "all", cmds).outcome, Outcome::kNotApplicable);  // program not there
  runner_->outputs["/usr/sbin/iptables"] = {1, false, false, ""};
  EXPECT_EQ(Run("          - command: ipt\n            exit: 0\n", "all", cmds).outcome, Outcome::kFail);
}

TEST_F(ScanTest, ConditionsCombineRules) {
  root_.Write("/etc/a", "yes\n");
  const std::string pass = "          - file: /etc/a\n            matches: yes\n";
  const std::string fail = "          - file: /etc/a\n            matches: no\n";
  const std::string na = "          - file: /etc/none\n            matches: x\n";
  EXPECT_EQ(Run(pass + fail, "all").outcome, Outcome::kFail);
  EXPECT_EQ(Run(pass + na, "all").outcome, Outcome::kPass);
  EXPECT_EQ(Run(na, "all").outcome, Outcome::kNotApplicable);
  EXPECT_EQ(Run(pass + fail, "any").outcome, Outcome::kPass);
  EXPECT_EQ(Run(fail + na, "any").outcome, Outcome::kFail);
  EXPECT_EQ(Run(fail, "none").outcome, Outcome::kPass);
  CheckResult none = Run(pass + fail, "none");
  EXPECT_EQ(none.outcome, Outcome::kFail);
  EXPECT_EQ(none.evidence, "/etc/a:1: yes");
}

TEST_F(ScanTest, RequirementsMakeChecksNotApplicable) {
  const std::string text =
      "policy: {id: t, name: t, version: '1'}\ngroups:\n  - id: g\n    title: G\n    checks:\n"
      "      - id: c\n        title: T\n        rationale: R\n        remediation: M\n        severity: low\n"
      "        requirements:\n          rules:\n            - file: /etc/ssh/sshd_config\n"
      "        rules:\n          - file: /etc/ssh/sshd_config\n            matches: '^PermitRootLogin no'\n";
  LoadedPolicy p = LoadPolicy(text, "t.yml");
  ASSERT_TRUE(p.ok());
  ScanTarget t{env_.get(), root_.path(), nullptr};
  ScanReport r = RunScan(p.policy, t);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].outcome, Outcome::kNotApplicable);
  EXPECT_EQ(r.results[0].evidence, "requirement not met: not found: /etc/ssh/sshd_config");
  root_.Write("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
  EXPECT_EQ(RunScan(p.policy, t).results[0].outcome, Outcome::kFail);
}

TEST_F(ScanTest, EvidenceIsBounded) {
  root_.Write("/etc/long", std::string(5000, 'a') + "\n");
  CheckResult r = Run("          - file: /etc/long\n            matches: a\n");
  EXPECT_EQ(r.outcome, Outcome::kPass);
  EXPECT_LE(r.rules.at(0).evidence.size(), kMaxEvidenceBytes);
  EXPECT_TRUE(r.rules[0].evidence.ends_with("..."));
}

TEST_F(ScanTest, EvidenceFromNonUtf8FilesStillMakesJson) {
  root_.Write("/etc/latin1", "caf\xE9 yes\n");
  Run("          - file: /etc/latin1\n            matches: yes\n");
  const std::string dumped = ReportToJson(report_).dump();  // throws on invalid UTF-8
  EXPECT_NE(dumped.find("/etc/latin1:1: caf\xEF\xBF\xBD yes"), std::string::npos);
}

TEST_F(ScanTest, ReportJsonAndScore) {
  root_.Write("/etc/a", "yes\n");
  Run("          - file: /etc/a\n            matches: yes\n");
  nlohmann::json j = ReportToJson(report_);
  EXPECT_EQ(j["summary"]["pass"], 1);
  EXPECT_EQ(j["summary"]["score"], 100.0);
  EXPECT_EQ(j["results"][0]["result"], "pass");
  EXPECT_EQ(j["results"][0]["rules"][0]["kind"], "file");
  EXPECT_EQ(j["results"][0]["rules"][0]["evidence"], "/etc/a:1: yes");
  EXPECT_EQ(j["results"][0]["remediation"], "M");
  EXPECT_FALSE(ReportToJson(report_, false)["results"][0].contains("remediation"));
  ScanSummary s{3, 1, 5, 2};
  EXPECT_DOUBLE_EQ(*s.Score(), 75.0);
  EXPECT_FALSE(ScanSummary{}.Score());
}

TEST_F(ScanTest, OnlySelectedChecksRunWithProgress) {
  const std::string text =
      "policy: {id: t, name: t, version: '1'}\ngroups:\n  - id: g\n    title: G\n    checks:\n"
      "      - {id: a, title: T, rationale: R, remediation: M, severity: low, rules: [{file: /etc/passwd}]}\n"
      "      - {id: b, title: T, rationale: R, remediation: M, severity: low, rules: [{file: /etc/group}]}\n";
  LoadedPolicy p = LoadPolicy(text, "t.yml");
  ASSERT_TRUE(p.ok());
  ScanOptions o;
  o.only = {"b"};
  std::vector<std::string> seen;
  o.progress = [&](size_t i, size_t total, const Check& c) {
    EXPECT_EQ(total, 1u);
    EXPECT_EQ(i, 0u);
    seen.push_back(c.id);
  };
  ScanReport r = RunScan(p.policy, ScanTarget{env_.get(), root_.path(), nullptr}, o);
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].check->id, "b");
  EXPECT_EQ(seen, std::vector<std::string>{"b"});
}

}  // namespace
}  // namespace vigil::posture
