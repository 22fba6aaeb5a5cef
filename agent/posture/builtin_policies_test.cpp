// The built-in policies (policies/*.yml): they load without a single issue, hold enough checks
// with unique ids and complete texts, and give the expected results on a prepared hardened
// root and a prepared weak one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "agent/posture/builtin.h"
#include "agent/posture/scan.h"
#include "agent/posture/test_util.h"

namespace vigil::posture {
namespace {

using testing::TempRoot;

std::shared_ptr<const Policy> Builtin(std::string_view name) {
  const BuiltinPolicy* b = FindBuiltinPolicy(name);
  EXPECT_NE(b, nullptr) << name;
  if (!b) return nullptr;
  LoadedPolicy p = LoadPolicy(BuiltinPolicyText(*b), b->name);
  for (const PolicyIssue& i : p.issues) ADD_FAILURE() << i.ToString();
  return p.policy;
}

TEST(BuiltinPolicies, LoadWithoutIssuesAndHaveUniqueCompleteChecks) {
  ASSERT_EQ(BuiltinPolicies().size(), 2u);
  ASSERT_NE(DefaultBuiltinPolicy(), nullptr);
  EXPECT_EQ(DefaultBuiltinPolicy()->name, "builtin:policies/linux-baseline.yml");
  const std::map<std::string, size_t> minimum = {{"linux-baseline", 150}, {"openwrt-busybox", 30}};
  for (const auto& [name, min] : minimum) {
    auto policy = Builtin(name);
    ASSERT_NE(policy, nullptr);
    EXPECT_GE(policy->checks.size(), min) << name;
    std::set<std::string> ids;
    for (const Check& c : policy->checks) {
      EXPECT_TRUE(ids.insert(c.id).second) << c.id;
      EXPECT_FALSE(c.references.empty()) << c.id;
      EXPECT_TRUE(c.references[0].starts_with("CIS ")) << c.id;
      EXPECT_GE(c.rationale.size(), 20u) << c.id;
      EXPECT_GE(c.remediation.size(), 10u) << c.id;
    }
  }
}

TEST(BuiltinPolicies, BaselineCoversTheCisAreas) {
  auto policy = Builtin("linux-baseline");
  ASSERT_NE(policy, nullptr);
  std::map<std::string, size_t> per_group;
  std::set<RuleKind> kinds;
  for (const Check& c : policy->checks) {
    ++per_group[c.group];
    for (const Rule& r : c.rules.rules) kinds.insert(r.kind);
  }
  for (const char* g : {"filesystems", "kernel", "services", "network", "firewall", "ssh", "pam", "accounts", "files",
                        "logging", "time", "cron"})
    EXPECT_GE(per_group[g], 5u) << g;
  EXPECT_EQ(kinds.size(), 9u);  // every rule kind is used
}

// The files both roots share: accounts with the test's uid named root (owner rules resolve it).
void WriteAccounts(TempRoot& root, const std::string& extra_passwd, const std::string& shadow, mode_t shadow_mode) {
  std::string passwd = "root:x:0:0:root:/root:/bin/bash\n";
  if (getuid() != 0) passwd += "root:x:" + std::to_string(getuid()) + ":" + std::to_string(getgid()) + "::/:/bin/sh\n";
  passwd += "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" + extra_passwd;
  root.Write("/etc/passwd", passwd, 0644);
  std::string group = "root:x:0:\nshadow:x:42:\n";
  if (getgid() != 0) group += "root:x:" + std::to_string(getgid()) + ":\n";
  root.Write("/etc/group", group, 0644);
  root.Write("/etc/shadow", shadow, shadow_mode);
}

void WriteSysctls(TempRoot& root, const std::map<std::string, std::string>& values) {
  for (const auto& [k, v] : values) {
    std::string rel = k;
    for (char& c : rel)
      if (c == '.') c = '/';
    root.Write("/proc/sys/" + rel, v + "\n");
  }
}

const char* kDpkgHeader = "Status: install ok installed\nArchitecture: amd64\n";

std::string Dpkg(std::initializer_list<const char*> names) {
  std::string s;
  for (const char* n : names) s += std::string("Package: ") + n + "\n" + kDpkgHeader + "Version: 1.0-1\n\n";
  return s;
}

void PrepareHardened(TempRoot& root) {
  WriteAccounts(root, "", "root:$y$j9T$abc$def:19700:1:365:7:30::\ndaemon:*:19700:0:99999:7:::\n", 0640);
  root.Write("/etc/ssh/sshd_config",
             "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nMaxAuthTries 3\nLoginGraceTime 60\n"
             "X11Forwarding no\nAllowTcpForwarding no\nDisableForwarding yes\nClientAliveInterval 15\nBanner /etc/issue.net\n"
             "UsePAM yes\nAllowGroups sshusers\nLogLevel VERBOSE\nCiphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n",
             0600);
  root.Write("/etc/ssh/ssh_host_ed25519_key", "key", 0600);
  root.Write("/etc/ssh/ssh_host_ed25519_key.pub", "key", 0644);
  root.Write("/etc/login.defs", "PASS_MAX_DAYS 365\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\nUMASK 027\nENCRYPT_METHOD YESCRYPT\n");
  root.Write("/var/lib/dpkg/status", Dpkg({"openssh-server", "nftables", "auditd", "libpam-pwquality", "sudo"}));
  root.Write("/proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec 0 0\n"
                                  "tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec 0 0\n");
  root.Write("/proc/modules", "");
  root.Write("/lib/modules/6.1.0-test/modules.dep", "kernel/fs/ext4/ext4.ko.xz:\n");
  WriteSysctls(root, {{"net.ipv4.ip_forward", "0"}, {"kernel.randomize_va_space", "2"}, {"net.ipv4.tcp_syncookies", "1"},
                      {"kernel.yama.ptrace_scope", "1"}, {"fs.suid_dumpable", "0"}});
  root.Write("/etc/security/pwquality.conf", "minlen = 14\nminclass = 4\n");
  root.Mkdir("/etc/systemd/system/multi-user.target.wants");
  root.Symlink("/lib/systemd/system/auditd.service", "/etc/systemd/system/multi-user.target.wants/auditd.service");
  root.Write("/etc/crontab", "", 0600);
}

void PrepareWeak(TempRoot& root) {
  WriteAccounts(root, "toor:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/bash\n",
                "root:$1$abc$def:19700:0:99999:7:::\nguest::19700:0:99999:7:::\n", 0644);
  root.Write("/etc/ssh/sshd_config", "PermitRootLogin yes\nMaxAuthTries 6\nX11Forwarding yes\nCiphers aes128-cbc,3des-cbc\n",
             0644);
  root.Write("/etc/ssh/ssh_host_ed25519_key", "key", 0644);
  root.Write("/etc/login.defs", "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nUMASK 022\nENCRYPT_METHOD MD5\n");
  root.Write("/var/lib/dpkg/status", Dpkg({"openssh-server", "telnetd", "libpam-pwquality", "rsh-client"}));
  root.Write("/proc/self/mounts", "/dev/vda1 / ext4 rw 0 0\ntmpfs /tmp tmpfs rw,nosuid 0 0\n");
  root.Write("/proc/modules", "cramfs 16384 0 - Live 0x0\n");
  root.Write("/lib/modules/6.1.0-test/modules.dep", "kernel/fs/cramfs/cramfs.ko.xz:\nkernel/fs/udf/udf.ko.xz:\n");
  WriteSysctls(root, {{"net.ipv4.ip_forward", "1"}, {"kernel.randomize_va_space", "0"}, {"net.ipv4.tcp_syncookies", "0"},
                      {"kernel.yama.ptrace_scope", "0"}, {"fs.suid_dumpable", "2"}});
  root.Write("/etc/security/pwquality.conf", "minlen = 8\n");
  root.Write("/etc/rc2.d/S01telnetd", "#!/bin/sh\n", 0755);
  root.Write("/etc/crontab", "", 0644);
  root.Write("/proc/42/comm", "telnetd\n");
}

std::map<std::string, Outcome> Scan(const std::shared_ptr<const Policy>& policy, const TempRoot& root,
                                    ScanSummary* summary) {
  auto env = NewPlatformEnv();
  ScanReport r = RunScan(policy, ScanTarget{env.get(), root.path(), nullptr});
  std::map<std::string, Outcome> out;
  for (const CheckResult& c : r.results) {
    out[c.check->id] = c.outcome;
    EXPECT_NE(c.outcome, Outcome::kError) << c.check->id << ": " << c.evidence;
  }
  *summary = r.summary;
  return out;
}

const char* kContrasted[] = {
    "ssh-permit-root-login", "ssh-max-auth-tries", "ssh-x11-forwarding", "ssh-ciphers", "ssh-config-perms",
    "ssh-private-keys-perms", "perm-etc_shadow", "acct-uid0-root-only", "acct-no-empty-passwords",
    "acct-system-no-shell", "acct-default-umask", "pw-max-days", "pw-min-days", "pw-encrypt-method",
    "net-ip-forward", "net-tcp-syncookies", "kernel-aslr", "kernel-ptrace-scope", "kernel-suid-dumpable",
    "fs-tmp-noexec", "fs-devshm-separate", "fs-module-cramfs", "fs-module-udf", "svc-telnet-server",
    "svc-telnetd-not-running", "client-rsh", "fw-installed", "audit-installed", "pam-pwquality-minlen",
    "cron-crontab-perms",
};

TEST(BuiltinPolicies, BaselineOnHardenedAndWeakRoots) {
  auto policy = Builtin("linux-baseline");
  ASSERT_NE(policy, nullptr);
  TempRoot hardened, weak;
  PrepareHardened(hardened);
  PrepareWeak(weak);
  ScanSummary hs, ws;
  auto h = Scan(policy, hardened, &hs);
  auto w = Scan(policy, weak, &ws);
  for (const char* id : kContrasted) {
    EXPECT_EQ(h.at(id), Outcome::kPass) << "hardened: " << id;
    EXPECT_EQ(w.at(id), Outcome::kFail) << "weak: " << id;
  }
  // Checks whose target neither root has, and command checks (no runner under a root).
  EXPECT_EQ(h.at("fw-default-input-drop"), Outcome::kNotApplicable);
  EXPECT_EQ(h.at("time-chrony-sources"), Outcome::kNotApplicable);
  EXPECT_EQ(w.at("audit-enabled"), Outcome::kNotApplicable);  // auditd not installed
  EXPECT_EQ(h.at("audit-enabled"), Outcome::kPass);
  EXPECT_GT(*hs.Score(), *ws.Score());
  EXPECT_EQ(hs.error + ws.error, 0u);
  EXPECT_EQ(hs.pass + hs.fail + hs.not_applicable, policy->checks.size());
}

TEST(BuiltinPolicies, OpenWrtProfileOnAnOpenWrtRoot) {
  auto policy = Builtin("openwrt-busybox");
  ASSERT_NE(policy, nullptr);
  TempRoot good, bad, debian;
  for (TempRoot* r : {&good, &bad}) {
    r->Write("/etc/openwrt_release", "DISTRIB_ID='OpenWrt'\n");
    r->Write("/etc/passwd", "root:x:0:0:root:/root:/bin/ash\n", 0644);
    r->Write("/usr/lib/opkg/status", "Package: dropbear\nVersion: 2022.82-6\nStatus: install user installed\n\n");
  }
  good.Write("/etc/config/firewall", "config defaults\n\toption input 'REJECT'\n\toption syn_flood '1'\n");
  bad.Write("/etc/config/firewall", "config defaults\n\toption input 'ACCEPT'\n");
  good.Write("/etc/shadow", "root:$1$x$y:19700:0:99999:7:::\n", 0600);
  good.Write("/etc/config/dropbear",
             "config dropbear\n\toption PasswordAuth 'off'\n\toption RootPasswordAuth 'off'\n\toption Interface 'lan'\n");
  good.Write("/etc/rc.d/S19firewall", "", 0755);
  good.Write("/etc/inittab", "::sysinit:/etc/init.d/rcS S boot\n::askconsole:/usr/libexec/login.sh\n");
  bad.Write("/etc/shadow", "root:::0:99999:7:::\n", 0644);
  bad.Write("/etc/config/dropbear", "config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'on'\n");
  bad.Write("/etc/inittab", "::askfirst:/bin/ash --login\ntts/0::respawn:/usr/sbin/telnetd -F\n");
  bad.Write("/etc/rc.d/S50telnet", "", 0755);
  ScanSummary gs, bs, ds;
  auto g = Scan(policy, good, &gs);
  auto b = Scan(policy, bad, &bs);
  for (const char* id : {"root-password-set", "dropbear-password-auth", "dropbear-root-password-auth", "dropbear-interface",
                         "perm-shadow", "telnetd-not-started", "inittab-console-login", "fw-enabled", "fw-syn-flood"}) {
    EXPECT_EQ(g.at(id), Outcome::kPass) << "good: " << id;
    EXPECT_EQ(b.at(id), Outcome::kFail) << "bad: " << id;
  }
  EXPECT_EQ(g.at("fw-defaults-input"), Outcome::kNotApplicable);  // a command: live system only
  // A Debian root (no /etc/openwrt_release, no BusyBox): the whole profile does not apply.
  debian.Write("/etc/debian_version", "12.5\n");
  auto d = Scan(policy, debian, &ds);
  EXPECT_EQ(ds.not_applicable, policy->checks.size());
}

}  // namespace
}  // namespace vigil::posture
