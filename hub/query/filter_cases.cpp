#include "hub/query/filter_cases.h"

#include <nlohmann/json.hpp>

namespace vigil::hub::filter_cases {
namespace {

struct Spec {
  const char* device;
  uint64_t seq;
  const char* type;
  const char* action;
  const char* priority;
  uint32_t count;
  const char* data;  // JSON object text
};

// The events, by seq. Comments say what each one is there to test.
constexpr Spec kSpecs[] = {
    // Lowercase xmrig; ':' in a bare word; an array.
    {"dev-a", 1, "process", "exec", "high", 1,
     R"({"pid":100,"ppid":1,"uid":0,"user":"root","exe":"/usr/bin/xmrig","cmdline":"xmrig --url pool.example:3333",
         "argv":["xmrig","--url","pool.example:3333"],"cwd":"/tmp"})"},
    // '%' in a string; partial false; aggregated.
    {"dev-a", 2, "process", "exec", "medium", 4,
     R"({"pid":200,"ppid":100,"user":"alice","exe":"/bin/sh","cmdline":"sh -c echo 100%","cwd":"/home/alice",
         "partial":false})"},
    // Uppercase XMRIG (case-sensitivity); exit_code 0.
    {"dev-b", 3, "process", "exit", "medium", 1, R"({"pid":100,"exe":"/usr/bin/XMRIG","exit_code":0})"},
    {"dev-b", 4, "network", "connect", "medium", 3,
     R"({"pid":300,"exe":"/usr/bin/curl","protocol":"tcp","family":"ipv4","local_ip":"10.0.0.2","local_port":51000,
         "remote_ip":"10.0.0.1","remote_port":443,"initiated":true})"},
    {"dev-a", 5, "network", "listen", "low", 1,
     R"({"pid":22,"exe":"/usr/sbin/sshd","protocol":"tcp","family":"ipv6","local_ip":"::","local_port":22})"},
    // No pid nor exe; remote_port the number 8080.
    {"dev-b", 6, "network", "accept", "high", 1,
     R"({"protocol":"udp","family":"ipv4","local_ip":"0.0.0.0","local_port":8080,"remote_ip":"192.168.1.5",
         "remote_port":8080,"initiated":false})"},
    // Non-ASCII user; remote_ip on a type that has no Sigma DestinationIp.
    {"dev-c", 7, "login", "success", "high", 1, R"({"user":"émilie","tty":"pts/0","remote_ip":"192.168.1.5"})"},
    // No action; nested object; array of objects; an object with the key "0"; a real.
    {"dev-c", 8, "system_info", "", "low", 1,
     R"({"hostname":"gw-1","os":{"name":"Debian","version":"12"},
         "nics":[{"name":"eth0","mac":"aa:bb"},{"name":"wlan0","mac":"cc:dd"}],"uptime":3600.5,"tags":{"0":"zero"}})"},
    // Numeric strings; '%' and '_'.
    {"dev-c", 9, "peripheral", "add", "medium", 1,
     R"({"vendor":"ACME_Corp","product":"50% off","serial":"8080","port":"8080"})"},
    // exe is JSON null; pid 0.
    {"dev-a", 10, "process", "exit", "low", 1, R"({"pid":0,"exe":null,"exit_code":1})"},
    // No action; booleans beside 1; an integer beside a real.
    {"dev-b", 11, "heartbeat", "", "low", 1, R"({"uptime":7200,"partial":true,"enabled":1,"ratio":0.5})"},
    // data.type differs from the envelope's type; a real that equals an integer.
    {"dev-b", 12, "file", "modified", "medium", 1,
     R"({"path":"/etc/passwd","root":"/etc","type":"regular","size":1.5})"},
    // CJK text; negative number; an integer beyond 2^53; received a day late.
    {"dev-a", 13, "process", "exec", "high", 1,
     R"({"pid":-5,"user":"Émilie","exe":"/opt/日本/bin/run","cmdline":"run 日本語テキスト","cwd":"/opt/日本",
         "big":9007199254740993})"},
    // Quotes and backslash; deep nesting; a mixed array; '_' and '%'.
    {"dev-c", 14, "agent_stats", "", "low", 1,
     R"({"collected":1000000,"dropped":0,"note":"a_b%c","quote":"say \"hi\"\\now",
         "nested":{"deep":{"deeper":{"x":"y"}}},"list":[1,"1",true,null]})"},
};

std::vector<FixtureEvent> Build() {
  std::vector<FixtureEvent> out;
  for (const Spec& s : kSpecs) {
    FixtureEvent e;
    e.device = s.device;
    e.seq = s.seq;
    e.ts_ms = kBaseMs + static_cast<int64_t>(s.seq) * 60000;
    e.type = s.type;
    e.action = s.action;
    e.priority = s.priority;
    e.count = s.count;
    e.received_ms = s.seq == 13 ? e.ts_ms + 86400000 : e.ts_ms + 1000;
    nlohmann::json j;
    j["v"] = 1;
    j["device"] = e.device;
    j["seq"] = e.seq;
    j["ts"] = e.ts_ms;
    j["type"] = e.type;
    if (!e.action.empty()) j["action"] = e.action;
    j["priority"] = e.priority;
    if (e.count > 1) {
      j["count"] = e.count;
      j["first_ts"] = e.ts_ms;
      j["last_ts"] = e.ts_ms + 5000;
    }
    j["data"] = nlohmann::json::parse(s.data);
    e.json = j.dump();
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

const std::vector<FixtureEvent>& Events() {
  static const std::vector<FixtureEvent> kEvents = Build();
  return kEvents;
}

const std::vector<FilterCase>& Cases() {
  static const std::vector<FilterCase> kCases = {
      // Everything.
      {"", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"  \t ", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      // Envelope columns.
      {"type = process", {1, 2, 3, 10, 13}},
      {R"(type = "network" and action = connect)", {4}},
      {"type = process AND NOT action = exec", {3, 10}},
      {"device = dev-a", {1, 2, 5, 10, 13}},
      {R"(device in (dev-a, "dev-c"))", {1, 2, 5, 7, 8, 9, 10, 13, 14}},
      {"priority = high", {1, 6, 7, 13}},
      {"count > 1", {2, 4}},
      {"count = 1", {1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"seq >= 12", {12, 13, 14}},
      {"seq < 3 or seq > 13", {1, 2, 14}},
      {"seq in (2, 4, 99)", {2, 4}},
      {"action = null", {8, 11, 14}},
      {"action != null", {1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13}},
      {"device = null", {}},
      {R"(ts >= "2026-12-06T10:05:00Z" and ts < "2026-12-06T10:08:00Z")", {5, 6, 7}},
      {R"(ts < "2026-12-06T12:03:00+02:00")", {1, 2}},
      {"ts <= 1796551380000", {1, 2, 3}},
      {R"(received > "2026-12-06T12:00:00Z")", {13}},
      {R"(device > "dev-b")", {7, 8, 9, 14}},
      {R"(device contains "-b")", {3, 4, 6, 11, 12}},
      {"action startswith ex", {1, 2, 3, 10, 13}},
      {"action endswith ess", {7}},
      // JSON strings: case-sensitive, no LIKE wildcards, characters not bytes.
      {R"(exe = "/usr/bin/xmrig")", {1}},
      {R"(exe endswith "/xmrig")", {1}},
      {R"(exe contains "XMRIG")", {3}},
      {R"(exe startswith "/usr/")", {1, 3, 4, 5}},
      {"data.exe startswith /usr/bin/", {1, 3, 4}},
      {R"(exe != "/bin/sh")", {1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {R"(cmdline contains "100%")", {2}},
      {R"(product contains "%")", {9}},
      {R"(vendor contains "_")", {9}},
      {R"(note contains "_b%")", {14}},
      {R"(vendor contains "acme")", {}},
      {R"(vendor startswith "ACME")", {9}},
      {R"(cmdline endswith "テキスト")", {13}},
      {R"(cmdline startswith "run 日本")", {13}},
      {R"(cwd endswith "日本")", {13}},
      {R"(exe contains "日本/b")", {13}},
      {R"(user = "émilie")", {7}},
      {R"(user = "Émilie")", {13}},
      {R"(user contains "milie")", {7, 13}},
      {R"(user > "alice")", {1, 7, 13}},
      {R"(user < "b")", {2}},
      {R"(user < "Z")", {}},        // byte order: every lowercase letter sorts after 'Z'
      {R"(user >= "É")", {7, 13}},  // "é" is C3 A9, "É" C3 89
      {R"(user endswith "")", {1, 2, 7, 13}},
      {R"(user = "\u00e9milie")", {7}},
      {R"(quote = "say \"hi\"\\now")", {14}},
      {R"(quote = 'say "hi"\\now')", {14}},
      {"hostname = 'gw-1'", {8}},
      // Nested objects and arrays.
      {"os.name = Debian", {8}},
      {R"(data.os.version = "12")", {8}},
      {"data.os.version = 12", {}},
      {R"(nics.0.mac = "aa:bb")", {8}},
      {"nics.1.name = wlan0", {8}},
      {"nics.2.name = null", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {R"(tags.0 = "zero")", {}},
      {"tags.0 = null", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"nested.deep.deeper.x = y", {14}},
      {R"(list.1 = "1")", {14}},
      {"list.0 = 1", {14}},
      {"list.2 = true", {14}},
      {R"(list.0 = "1")", {}},
      {"list.3 = null and list.3 != 1", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"os = null", {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}},
      {"os.name.x = Debian", {}},
      // Numbers: numeric comparison, int and real alike, never numeric strings.
      {"pid = 100", {1, 3}},
      {"pid > 100", {2, 4}},
      {"pid < 0", {13}},
      {"pid <= 22", {5, 10, 13}},
      {"pid in (22, 300)", {4, 5}},
      {"remote_port = 8080", {6}},
      {R"(port = "8080")", {9}},
      {"port = 8080", {}},
      {"serial contains 8080", {9}},
      {"uptime > 3600", {8, 11}},
      {"uptime = 3600.5", {8}},
      {"uptime < 3600.6", {8}},
      {"ratio = 0.5", {11}},
      {"ratio = 5e-1", {11}},
      {"size > 1", {12}},
      {"size = 1.5", {12}},
      {"uptime = 7200.0", {11}},
      {"big = 9007199254740993", {13}},
      {"big = 9007199254740992", {}},
      {"collected >= 1e6", {14}},
      {"exit_code = 0", {3}},
      {"exit_code != 0", {1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"pid < 1e1", {10, 13}},
      // Booleans are not 1/0.
      {"partial = true", {11}},
      {"partial = false", {2}},
      {"partial != true", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}},
      {"enabled = true", {}},
      {"enabled = 1", {11}},
      {"partial = 0", {}},
      {"initiated = TRUE", {4}},
      // null and missing fields: two-valued logic.
      {"exe = null", {6, 7, 8, 9, 10, 11, 12, 14}},
      {"exe != null", {1, 2, 3, 4, 5, 13}},
      {"data.missing = null", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"data.missing != null", {}},
      {"not (missing = 1)", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {R"(hostname > "a" or not hostname > "a")", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"not pid > 100", {1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      // Precedence.
      {"type = process and pid = 100 or type = network and pid = 300", {1, 3, 4}},
      {"type = process and (pid = 100 or pid = 300)", {1, 3}},
      {"not type = process and device = dev-a", {5}},
      {"not (type = process and device = dev-a)", {3, 4, 5, 6, 7, 8, 9, 11, 12, 14}},
      {"NOT NOT type = login", {7}},
      {"((((type = login))))", {7}},
      // Sigma names: only on the types that declare them.
      {R"(Image endswith "/curl")", {4}},
      {R"(Image startswith "/usr")", {1, 3, 4, 5}},
      {R"(not Image startswith "/usr")", {2, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
      {"ProcessId = 100", {1, 3}},
      {"DestinationPort >= 443", {4, 6}},
      {R"(DestinationIp = "192.168.1.5")", {6}},
      {R"(remote_ip = "192.168.1.5")", {6, 7}},
      {R"(User = "root")", {1}},
      {R"(User contains "milie")", {13}},
      {"Initiated = false", {6}},
      {"TargetFilename = /etc/passwd", {12}},
      {R"(CommandLine contains "日本")", {13}},
      // A data field named like an envelope column; envelope keys through body.
      {"data.type = regular", {12}},
      {"type = regular", {}},
      {"body.count = 4", {2}},
      {"body.action = null", {8, 11, 14}},
      {R"(body.device = "dev-a")", {1, 2, 5, 10, 13}},
      // in lists.
      {R"(user in ("root", "alice", 42))", {1, 2}},
      {"action in (exec, exit)", {1, 2, 3, 10, 13}},
      {R"(exe in (null, "/bin/sh"))", {2, 6, 7, 8, 9, 10, 11, 12, 14}},
      {"not pid in (100, 200, 300)", {5, 6, 7, 8, 9, 10, 11, 12, 13, 14}},
  };
  return kCases;
}

}  // namespace vigil::hub::filter_cases
