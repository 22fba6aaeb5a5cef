#include "bench/hub_events.h"

#include <cstdio>
#include <iterator>

#include "schema/schema.h"

namespace vigil::bench {
namespace {

using Rng = FleetRng;

int Pick(Rng& r, int lo, int hi) { return lo + static_cast<int>(r() % static_cast<uint64_t>(hi - lo + 1)); }

std::string Hex(Rng& r, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(digits, '0');
  for (char& c : s) c = kDigits[r() % 16];
  return s;
}

std::string N(int v) { return std::to_string(v); }

struct Program {
  const char* exe;
  std::vector<std::string> (*argv)(Rng&);
};

// What a gateway-like device runs (as in uplink_throughput.cpp).
const Program kPrograms[] = {
    {"/usr/bin/curl",
     [](Rng& r) -> std::vector<std::string> {
       return {"curl", "-sS", "-m", "10", "-H", "Content-Type: application/json", "--data-binary",
               "@/run/gateway/outbox/" + N(Pick(r, 1, 99999)) + ".json",
               "https://telemetry.example.net/v2/devices/" + Hex(r, 8) + "/metrics"};
     }},
    {"/usr/bin/busybox",
     [](Rng& r) -> std::vector<std::string> {
       return {"sh", "-c",
               "cat /sys/class/thermal/thermal_zone" + N(Pick(r, 0, 3)) + "/temp > /run/gateway/temp." +
                   N(Pick(r, 1, 9999))};
     }},
    {"/usr/bin/python3.11",
     [](Rng& r) -> std::vector<std::string> {
       return {"python3", "/opt/gateway/bin/modbus_poll.py", "--device", "/dev/ttyUSB" + N(Pick(r, 0, 3)), "--unit",
               N(Pick(r, 1, 247)), "--registers", N(Pick(r, 1, 4000)) + "-" + N(Pick(r, 4001, 9999)), "--timeout",
               "2.5"};
     }},
    {"/usr/sbin/ip",
     [](Rng& r) -> std::vector<std::string> {
       return {"ip", "-j", "-s", "link", "show", "dev", (r() % 2 ? "eth" : "wlan") + N(Pick(r, 0, 1))};
     }},
    {"/usr/bin/logger",
     [](Rng& r) -> std::vector<std::string> {
       return {"logger", "-t", "gatewayd", "-p", "daemon.info",
               "reading " + N(Pick(r, 1, 1000000)) + " stored in " + N(Pick(r, 1, 900)) + " ms"};
     }},
    {"/usr/bin/systemctl",
     [](Rng& r) -> std::vector<std::string> {
       static const char* kUnits[] = {"mosquitto.service", "gatewayd.service", "ssh.service", "chrony.service",
                                      "nginx.service"};
       return {"systemctl", "is-active", "--quiet", kUnits[r() % 5]};
     }},
    {"/usr/bin/openssl",
     [](Rng& r) -> std::vector<std::string> {
       return {"openssl", "dgst", "-sha256",
               "/var/lib/gateway/firmware/fw-" + N(Pick(r, 1, 9)) + "." + N(Pick(r, 0, 30)) + "." +
                   N(Pick(r, 0, 200)) + ".bin"};
     }},
    {"/usr/bin/find",
     [](Rng& r) -> std::vector<std::string> {
       return {"find", "/var/log/gateway", "-name", "*.gz", "-mtime", "+" + N(Pick(r, 1, 30)), "-delete"};
     }},
    {"/usr/bin/ping",
     [](Rng& r) -> std::vector<std::string> {
       return {"ping", "-c", "1", "-W", "1", "10.0." + N(Pick(r, 0, 255)) + "." + N(Pick(r, 1, 254))};
     }},
    {"/usr/sbin/xtables-nft-multi",
     [](Rng& r) -> std::vector<std::string> {
       return {"iptables", "-w", "-C", "INPUT", "-p", "tcp", "--dport", N(Pick(r, 1024, 65535)), "-j", "ACCEPT"};
     }},
    {"/usr/bin/cat",
     [](Rng& r) -> std::vector<std::string> { return {"cat", "/proc/" + N(Pick(r, 300, 40000)) + "/status"}; }},
    {"/usr/bin/tar",
     [](Rng& r) -> std::vector<std::string> {
       return {"tar", "-czf", "/var/backups/gateway-" + N(Pick(r, 20240101, 20251231)) + ".tar.gz", "-C", "/etc",
               "gateway"};
     }},
};

struct Parent {
  const char* exe;
  const char* cmdline;
};
const Parent kParents[] = {
    {"/usr/bin/bash", "/bin/bash /usr/local/bin/healthcheck.sh --interval 5"},
    {"/usr/sbin/cron", "/usr/sbin/cron -f"},
    {"/usr/lib/systemd/systemd", "/sbin/init"},
    {"/usr/bin/python3.11", "python3 /opt/gateway/bin/gatewayd.py --config /etc/gateway/gateway.yaml"},
    {"/usr/bin/dash", "/bin/sh /etc/gateway/hooks/on-reading.sh"},
    {"/usr/sbin/sshd", "sshd: admin@pts/0"},
};

struct User {
  int uid;
  const char* name;
};
const User kUsers[] = {{0, "root"}, {0, "root"}, {0, "root"}, {998, "gateway"}, {33, "www-data"}, {1000, "admin"},
                       {65534, "nobody"}};
const char* const kCwds[] = {"/", "/root", "/opt/gateway", "/var/lib/gateway", "/home/admin", "/tmp"};

struct Peer {
  const char* exe;
  const char* user;
  int uid;
  const char* protocol;
  const char* ip;
  int port;
};
// Outbound peers: telemetry over HTTPS, the MQTT uplink, DNS, NTP, Modbus/TCP to PLCs.
const Peer kPeers[] = {
    {"/usr/bin/curl", "root", 0, "tcp", "203.0.113.10", 443},
    {"/usr/bin/curl", "gateway", 998, "tcp", "198.51.100.24", 443},
    {"/usr/sbin/vigil-agent", "root", 0, "tcp", "192.0.2.50", 8883},
    {"/usr/bin/python3.11", "gateway", 998, "tcp", "10.0.12.31", 502},
    {"/usr/bin/python3.11", "gateway", 998, "tcp", "10.0.12.32", 502},
    {"/usr/lib/systemd/systemd-resolved", "systemd-resolve", 991, "udp", "10.0.0.1", 53},
    {"/usr/sbin/chronyd", "_chrony", 105, "udp", "162.159.200.123", 123},
    {"/usr/bin/node", "www-data", 33, "tcp", "127.0.0.1", 6379},
};

std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Event ProcessEvent(Rng& r, const std::vector<std::string>& hashes, bool exec) {
  const size_t p = r() % std::size(kPrograms);
  const Program& prog = kPrograms[p];
  const std::vector<std::string> argv = prog.argv(r);
  const User& user = kUsers[r() % std::size(kUsers)];
  const Parent& parent = kParents[r() % std::size(kParents)];
  Event e;
  e.type = "process";
  e.action = exec ? "exec" : "exit";
  e.priority = Priority::kMedium;
  e.collector = "process";
  Json& d = e.data;
  d["pid"] = 0;  // set per use
  d["ppid"] = Pick(r, 200, 32000);
  d["uid"] = user.uid;
  d["user"] = user.name;
  d["exe"] = prog.exe;
  d["cmdline"] = Join(argv);
  Json a = Json::array();
  for (const auto& s : argv) a.push_back(s);
  d["argv"] = std::move(a);
  d["cwd"] = kCwds[r() % std::size(kCwds)];
  d["comm"] = argv[0].substr(0, 15);
  if (exec) {
    d["sha256"] = hashes[p];
    d["parent_exe"] = parent.exe;
    d["parent_cmdline"] = parent.cmdline;
  } else {
    const int k = Pick(r, 0, 99);
    if (k < 85) {
      d["exit_code"] = 0;
    } else if (k < 95) {
      static const int kCodes[] = {1, 2, 124};
      d["exit_code"] = kCodes[r() % 3];
    } else {
      static const int kSignals[] = {9, 15};
      const int sig = kSignals[r() % 2];
      d["exit_code"] = 128 + sig;
      d["signal"] = sig;
    }
  }
  return e;
}

Event NetworkEvent(Rng& r, bool accept) {
  Event e;
  e.type = "network";
  e.action = accept ? "accept" : "connect";
  e.priority = Priority::kMedium;
  e.collector = "network";
  Json& d = e.data;
  d["pid"] = 0;
  const std::string local_ip = "192.168." + N(Pick(r, 0, 3)) + "." + N(Pick(r, 2, 254));
  if (accept) {
    static const struct {
      const char* exe;
      const char* user;
      int uid;
      int port;
    } kServers[] = {{"/usr/sbin/sshd", "root", 0, 22},
                    {"/usr/sbin/nginx", "www-data", 33, 443},
                    {"/usr/sbin/nginx", "www-data", 33, 80},
                    {"/usr/bin/python3.11", "gateway", 998, 502}};
    const auto& s = kServers[r() % std::size(kServers)];
    d["exe"] = s.exe;
    d["uid"] = s.uid;
    d["user"] = s.user;
    d["protocol"] = "tcp";
    d["family"] = "ipv4";
    d["local_ip"] = local_ip;
    d["local_port"] = s.port;
    d["remote_ip"] = "10.0." + N(Pick(r, 0, 20)) + "." + N(Pick(r, 2, 254));
    d["remote_port"] = Pick(r, 32768, 60999);
    d["direction"] = "inbound";
    d["initiated"] = false;
  } else {
    const Peer& p = kPeers[r() % std::size(kPeers)];
    d["exe"] = p.exe;
    d["uid"] = p.uid;
    d["user"] = p.user;
    d["protocol"] = p.protocol;
    d["family"] = "ipv4";
    d["local_ip"] = std::string(p.ip) == "127.0.0.1" ? "127.0.0.1" : local_ip;
    d["local_port"] = Pick(r, 32768, 60999);
    d["remote_ip"] = p.ip;
    d["remote_port"] = p.port;
    d["direction"] = "outbound";
    d["initiated"] = true;
    if (r() % 3 == 0) {  // aggregated over the priority's interval
      e.count = static_cast<uint32_t>(Pick(r, 2, 20));
      const int closed = Pick(r, 1, static_cast<int>(e.count));
      d["closed"] = closed;
      d["bytes_in"] = closed * Pick(r, 200, 40000);
      d["bytes_out"] = closed * Pick(r, 100, 8000);
    }
  }
  return e;
}

Event LoginEvent(Rng& r) {
  Event e;
  e.type = "login";
  e.priority = Priority::kHigh;
  e.collector = "login";
  Json& d = e.data;
  const int k = Pick(r, 0, 3);
  const std::string ip = "203.0.113." + N(Pick(r, 1, 254));
  const int port = Pick(r, 30000, 65000);
  d["pid"] = 0;
  if (k <= 1) {  // failures, from the Internet
    static const char* kNames[] = {"root", "admin", "pi", "ubuntu", "oracle", "test"};
    const std::string user = kNames[r() % std::size(kNames)];
    const bool invalid = user != "root" && user != "admin";
    e.action = "failure";
    d["user"] = user;
    if (invalid) d["invalid_user"] = true;
    d["source_ip"] = ip;
    d["source_port"] = port;
    d["method"] = "password";
    d["service"] = "sshd";
    d["result"] = "failed";
    d["tty"] = "ssh:notty";
    d["source"] = "auth_log";
    d["message"] = std::string("Failed password for ") + (invalid ? "invalid user " : "") + user + " from " + ip +
                   " port " + N(port) + " ssh2";
  } else if (k == 2) {
    e.action = "success";
    const std::string lan = "10.0.1." + N(Pick(r, 2, 60));
    d["user"] = "admin";
    d["source_ip"] = lan;
    d["source_port"] = port;
    d["method"] = "publickey";
    d["service"] = "sshd";
    d["result"] = "accepted";
    d["tty"] = "pts/" + N(Pick(r, 0, 3));
    d["source"] = "auth_log";
    d["message"] = "Accepted publickey for admin from " + lan + " port " + N(port) + " ssh2: ED25519 SHA256:" +
                   Hex(r, 43);
  } else {
    e.action = "logout";
    d["user"] = "admin";
    d["result"] = "closed";
    d["tty"] = "pts/" + N(Pick(r, 0, 3));
    d["source"] = "wtmp";
    d["duration_s"] = Pick(r, 5, 7200);
  }
  return e;
}

Event HeartbeatEvent(Rng& r) {
  Event e;
  e.type = "heartbeat";
  e.priority = Priority::kHigh;
  e.collector = "heartbeat";
  e.data["uptime_s"] = Pick(r, 60, 3'000'000);
  return e;
}

}  // namespace

std::string FleetDeviceId(int i) {
  char buf[32];
  // A per-device suffix as a machine id would give: deterministic, not sequential.
  const uint64_t h = (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull;
  std::snprintf(buf, sizeof(buf), "gw-%04d-%08x", i, static_cast<unsigned>(h >> 32));
  return buf;
}

Result<std::vector<Event>> MakeFleetPool(size_t n, uint64_t seed) {
  const auto& schema = schema::BuiltinSchema();
  if (!schema.ok()) return schema.status();
  Rng r(seed);
  std::vector<std::string> hashes;
  for (size_t i = 0; i < std::size(kPrograms); ++i) hashes.push_back(Hex(r, 64));
  std::vector<Event> pool;
  pool.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int k = Pick(r, 0, 99);
    Event e = k < 44   ? ProcessEvent(r, hashes, true)
              : k < 74 ? ProcessEvent(r, hashes, false)
              : k < 90 ? NetworkEvent(r, false)
              : k < 94 ? NetworkEvent(r, true)
              : k < 96 ? HeartbeatEvent(r)
                       : LoginEvent(r);
    if (e.type != "heartbeat") e.data["pid"] = 1234;
    e.device = "gw-0000-00000000";
    e.seq = 1;
    e.ts_ms = 1765000000000;
    e.last_ts_ms = e.ts_ms + 1000;
    if (Status st = schema->Validate(EventToJson(e)); !st.ok())
      return Status::Internal("a benchmark event fails the schema: " + std::string(st.message()) + ": " +
                              EventToJsonLine(e));
    pool.push_back(std::move(e));
  }
  return pool;
}

std::string FleetEventJson(Event& e, const std::string& device, uint64_t seq, int64_t ts_ms) {
  e.device = device;
  e.seq = seq;
  e.ts_ms = ts_ms;
  if (e.count > 1) e.last_ts_ms = ts_ms + static_cast<int64_t>(seq % 60'000);
  if (e.type != "heartbeat") e.data["pid"] = 300 + static_cast<int64_t>((seq * 7919) % 4'000'000);
  return EventToJsonLine(e);
}

}  // namespace vigil::bench
