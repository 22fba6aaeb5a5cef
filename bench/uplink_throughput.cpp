// Uplink throughput: events per second end to end, from the spool through the uplink and a
// Mosquitto broker on loopback to a subscriber that decodes every batch, side by side in one run
// with what the same broker carries for raw messages of the same size.
//
// TARGET
//   events/s, first Write to the last event received   >= 50,000, with the spool synced every
//                                                          100 ms (sync `interval`), on the disk
//     - with the subscriber decoding each batch as it arrives (as a hub would, here on the
//       same cores as the agent), and
//     - with the subscriber keeping the batches and decoding them after the round (the
//       agent's side and the broker alone); both are printed with a verdict each
//   every seq 1..N received exactly once                  (else FAIL: the figures are not valid)
// REFERENCE (printed beside, no target of its own)
//   the broker's own rate for raw messages of the mean size of the batches just measured (random
//   bytes, so that the size is the same on the wire), QoS 1, 4 in flight (the uplink's default
//   max_inflight), to the same subscriber: messages/s, and events/s as messages/s x the mean
//   events per batch; the uplink's figures as a % of it.
//
// How, all in one process except the broker:
//   broker      /usr/sbin/mosquitto on 127.0.0.1 and a free port (config in a temp dir: `user
//               root` when run as root, no persistence, TCP_NODELAY, no limit on queued
//               messages so a slow subscriber is not dropped to); ready once a TCP connect
//               succeeds; stopped with SIGTERM at the end.
//   producer    a thread that writes N process exec events (seq 1..N) with Spool::Write and
//               calls Flush after every 256, as the pipeline does after each round. The events
//               come from a pool of 4,096 built like the process collector's (schema/events.yml
//               `process`: pid, ppid, uid, user, exe, cmdline, argv, cwd, comm, sha256,
//               parent_exe, parent_cmdline), varied in program, arguments, cwd, user, parent
//               and hash; each Write takes the next one with its own seq, ts and pid. The JSON
//               is serialised by Write, inside the timed part.
//   spool       Spool::Open in a fresh temp dir per round (default under /var/tmp: on the disk;
//               its file system is printed), sync `interval` 100 ms, segments of 1 MB (the
//               agent's default), max_bytes 1 GiB instead of the agent's 16 MB, so that nothing
//               is evicted while the producer, which is not paced, runs ahead of the uplink (the
//               peak backlog is printed).
//   uplink      Uplink with its defaults (256 KB messages, zstd level 3, 4 in flight), plain
//               mqtt:// to the broker; connected before the round starts.
//   subscriber  a libmosquitto client with its own network thread, subscribed at QoS 1 to the
//               events topic. Decoding as batches arrive: DecodeBatch on every message on that
//               thread, each seq counted; the round ends when every seq 1..N has arrived.
//               Decoding after the round: the thread only keeps each message (a copy); the
//               round ends when the uplink has had all N events acknowledged and the subscriber
//               holds as many messages as the uplink sent; then every message is decoded and
//               its seqs counted the same way. Either way the time is that of the last message
//               received.
//   raw         a libmosquitto publisher (MQTT 5, one thread calling mosquitto_loop as the
//               uplink's does) sends random payloads of the mean batch size, QoS 1, at most 4
//               unacknowledged, for --ref-seconds, to another topic the same subscriber counts.
// Each round runs both uplink cases (taking turns at going first), then the raw messages
// (default 3 rounds); medians are reported. Also printed: mean batch size and events per batch,
// JSON bytes per event, and CPU time per 1,000 events of the agent's side: the process's CPU
// (getrusage) during the round less the subscriber thread's (its CLOCK_THREAD_CPUTIME_ID), i.e.
// the producer thread (serialising and appending) plus the uplink thread (sync, spool reads,
// zstd, MQTT); the producer's own share is shown, and the subscriber's decoding. The broker's
// CPU (/proc/PID/stat) is shown too, and how many cores the process and the broker kept busy:
// they all compete for the same cores, so on a small machine a figure may be bounded by the CPU
// of the whole chain. The spool's syncs are counted: the mean time between two is printed
// beside the configured interval.
//
// Usage: vigil-bench-uplink-throughput [--events N] [--rounds N] [--ref-seconds N] [--dir DIR]
//                                      [--broker PATH] [--keep-temp]
// Exit status: 0 when it ran, whatever the throughput; 1 when it could not run or an event was
// lost or duplicated (FAIL); 2 on a usage error.

#include <arpa/inet.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/core/batch.h"
#include "agent/core/event.h"
#include "agent/platform/env.h"
#include "agent/uplink/spool.h"
#include "agent/uplink/uplink.h"
#include "bench/bench_util.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kTargetEventsPerSecond = 50'000;
constexpr int64_t kSyncIntervalMs = 100;
constexpr int kFlushEvery = 256;  // events per pipeline round
constexpr int kInflight = 4;      // the uplink's default max_inflight
constexpr size_t kPoolSize = 4096;
constexpr uint64_t kSpoolMaxBytes = uint64_t{1} << 30;
constexpr const char* kDevice = "7f3a9c2e51b84d06a1e9c4b2d8f06e13";  // like an /etc/machine-id
constexpr const char* kRawTopicSuffix = "raw";

// bench_util.h: ThreadCpuSeconds, ProcessCpuSeconds, MachineBusySeconds.

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string FileSystemName(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0) return "unknown";
  switch (static_cast<uint64_t>(st.f_type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0xF2F52010: return "f2fs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x24051905: return "ubifs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "0x%lx", static_cast<unsigned long>(st.f_type));
      return buf;
    }
  }
}

// ---- the broker -------------------------------------------------------------------------

// bench_util.h: MosquittoProcess.

// ---- events -----------------------------------------------------------------------------

using Rng = std::mt19937_64;

std::string Hex(Rng& rng, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(digits, '0');
  for (char& c : s) c = kDigits[rng() % 16];
  return s;
}

int Pick(Rng& rng, int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1)); }

struct Program {
  const char* exe;
  std::vector<std::string> (*argv)(Rng&);
};

// What a gateway-like device runs: programs from its services, cron jobs and health checks.
const Program kPrograms[] = {
    {"/usr/bin/curl",
     [](Rng& r) -> std::vector<std::string> {
       return {"curl", "-sS", "-m", "10", "-H", "Content-Type: application/json", "--data-binary",
               "@/run/gateway/outbox/" + std::to_string(Pick(r, 1, 99999)) + ".json",
               "https://telemetry.example.net/v2/devices/" + Hex(r, 8) + "/metrics"};
     }},
    {"/usr/bin/busybox",
     [](Rng& r) -> std::vector<std::string> {
       return {"sh", "-c",
               "cat /sys/class/thermal/thermal_zone" + std::to_string(Pick(r, 0, 3)) + "/temp > /run/gateway/temp." +
                   std::to_string(Pick(r, 1, 9999))};
     }},
    {"/usr/bin/python3.11",
     [](Rng& r) -> std::vector<std::string> {
       return {"python3", "/opt/gateway/bin/modbus_poll.py", "--device", "/dev/ttyUSB" + std::to_string(Pick(r, 0, 3)),
               "--unit", std::to_string(Pick(r, 1, 247)), "--registers", std::to_string(Pick(r, 1, 4000)) + "-" +
               std::to_string(Pick(r, 4001, 9999)), "--timeout", "2.5"};
     }},
    {"/usr/sbin/ip",
     [](Rng& r) -> std::vector<std::string> {
       return {"ip", "-j", "-s", "link", "show", "dev", (r() % 2 ? "eth" : "wlan") + std::to_string(Pick(r, 0, 1))};
     }},
    {"/usr/bin/grep",
     [](Rng& r) -> std::vector<std::string> {
       return {"grep", "-E", "-c", "^(eth|wlan)[0-9]+:", "/proc/" + std::to_string(Pick(r, 300, 40000)) + "/net/dev"};
     }},
    {"/usr/bin/logger",
     [](Rng& r) -> std::vector<std::string> {
       return {"logger", "-t", "gatewayd", "-p", "daemon.info",
               "reading " + std::to_string(Pick(r, 1, 1000000)) + " stored in " + std::to_string(Pick(r, 1, 900)) +
                   " ms"};
     }},
    {"/usr/bin/mawk",
     [](Rng& r) -> std::vector<std::string> {
       return {"awk", "-F:", "$3 >= " + std::to_string(Pick(r, 100, 1000)) + " { print $1 }", "/etc/passwd"};
     }},
    {"/usr/bin/systemctl",
     [](Rng& r) -> std::vector<std::string> {
       static const char* kUnits[] = {"mosquitto.service", "gatewayd.service", "ssh.service", "chrony.service",
                                      "nginx.service"};
       return {"systemctl", "is-active", "--quiet", kUnits[r() % 5]};
     }},
    {"/usr/bin/date", [](Rng&) -> std::vector<std::string> { return {"date", "+%Y-%m-%dT%H:%M:%S%z"}; }},
    {"/usr/bin/openssl",
     [](Rng& r) -> std::vector<std::string> {
       return {"openssl", "dgst", "-sha256",
               "/var/lib/gateway/firmware/fw-" + std::to_string(Pick(r, 1, 9)) + "." + std::to_string(Pick(r, 0, 30)) +
                   "." + std::to_string(Pick(r, 0, 200)) + ".bin"};
     }},
    {"/usr/bin/find",
     [](Rng& r) -> std::vector<std::string> {
       return {"find", "/var/log/gateway", "-name", "*.gz", "-mtime", "+" + std::to_string(Pick(r, 1, 30)), "-delete"};
     }},
    {"/usr/bin/ping",
     [](Rng& r) -> std::vector<std::string> {
       return {"ping", "-c", "1", "-W", "1",
               "10.0." + std::to_string(Pick(r, 0, 255)) + "." + std::to_string(Pick(r, 1, 254))};
     }},
    {"/usr/sbin/xtables-nft-multi",
     [](Rng& r) -> std::vector<std::string> {
       return {"iptables", "-w", "-C", "INPUT", "-p", "tcp", "--dport", std::to_string(Pick(r, 1024, 65535)), "-j",
               "ACCEPT"};
     }},
    {"/usr/bin/cat",
     [](Rng& r) -> std::vector<std::string> { return {"cat", "/proc/" + std::to_string(Pick(r, 300, 40000)) + "/status"}; }},
    {"/usr/bin/node",
     [](Rng& r) -> std::vector<std::string> {
       return {"node", "/opt/edge-ui/server.js", "--port", std::to_string(Pick(r, 8000, 8999)), "--log-level", "info"};
     }},
    {"/usr/bin/tar",
     [](Rng& r) -> std::vector<std::string> {
       return {"tar", "-czf", "/var/backups/gateway-" + std::to_string(Pick(r, 20240101, 20251231)) + ".tar.gz", "-C",
               "/etc", "gateway"};
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
  uint32_t uid;
  const char* name;
};
const User kUsers[] = {{0, "root"}, {0, "root"}, {0, "root"}, {998, "gateway"}, {33, "www-data"}, {1000, "admin"},
                       {65534, "nobody"}};
const char* const kCwds[] = {"/", "/root", "/opt/gateway", "/var/lib/gateway", "/home/admin", "/tmp"};

std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// A pool of exec events as the process collector builds them (agent/collectors/process/tracker.cpp).
std::vector<Event> MakeEventPool(size_t n) {
  Rng rng(20240607);
  std::vector<std::string> hashes;
  for (size_t i = 0; i < std::size(kPrograms); ++i) hashes.push_back(Hex(rng, 64));
  std::vector<Event> pool;
  pool.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t p = rng() % std::size(kPrograms);
    const Program& prog = kPrograms[p];
    const std::vector<std::string> argv = prog.argv(rng);
    const User& user = kUsers[rng() % std::size(kUsers)];
    const Parent& parent = kParents[rng() % std::size(kParents)];
    Event e;
    e.device = kDevice;
    e.type = "process";
    e.action = "exec";
    e.priority = Priority::kMedium;
    e.collector = "process";
    Json& d = e.data;
    d["pid"] = 0;  // set per write
    d["ppid"] = Pick(rng, 200, 32000);
    d["uid"] = user.uid;
    d["user"] = user.name;
    d["exe"] = prog.exe;
    d["cmdline"] = Join(argv);
    Json a = Json::array();
    for (const auto& s : argv) a.push_back(s);
    d["argv"] = std::move(a);
    d["cwd"] = kCwds[rng() % std::size(kCwds)];
    d["comm"] = argv[0].substr(0, 15);
    d["sha256"] = hashes[p];
    d["parent_exe"] = parent.exe;
    d["parent_cmdline"] = parent.cmdline;
    pool.push_back(std::move(e));
  }
  return pool;
}

// ---- the subscriber ---------------------------------------------------------------------

// libmosquitto client with its own network thread (mosquitto_loop_start). Messages on the
// events topic are decoded and their seqs counted, on that thread as they arrive, or (deferred)
// only kept there and decoded by DecodeStored after the round; raw messages are only counted.
class Subscriber {
 public:
  struct Tally {
    uint64_t messages = 0;
    uint64_t bytes = 0;
    uint64_t events = 0;        // decoded, duplicates included
    uint64_t distinct = 0;      // seqs in 1..N seen
    uint64_t duplicates = 0;
    uint64_t out_of_range = 0;  // seqs outside 1..N
    uint64_t decode_errors = 0;
    std::string first_error;
    double last_receive_s = 0;  // MonotonicSeconds of the last message counted
  };

  ~Subscriber() {
    if (mosq_) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop_stop(mosq_, false);
      mosquitto_destroy(mosq_);
    }
  }

  std::string Connect(int port, const std::string& events_topic, const std::string& raw_topic) {
    events_topic_ = events_topic;
    raw_topic_ = raw_topic;
    mosq_ = mosquitto_new("vigil-bench-subscriber", true, this);
    if (!mosq_) return "mosquitto_new failed";
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_callback_set(mosq_, &Subscriber::OnConnect);
    mosquitto_subscribe_callback_set(mosq_, &Subscriber::OnSubscribe);
    mosquitto_message_callback_set(mosq_, &Subscriber::OnMessage);
    int rc = mosquitto_connect(mosq_, "127.0.0.1", port, 60);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) return std::string("subscriber: ") + mosquitto_strerror(rc);
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return connect_rc_ >= 0; }) || connect_rc_ != 0)
      return "subscriber: no CONNACK";
    lock.unlock();
    for (const std::string* topic : {&events_topic_, &raw_topic_})
      if (mosquitto_subscribe(mosq_, nullptr, topic->c_str(), 1) != MOSQ_ERR_SUCCESS) return "subscribe failed";
    lock.lock();
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return subacks_ == 2; })) return "subscriber: no SUBACK";
    return "";
  }

  // Starts counting afresh: events with seqs 1..n (uplink round), or raw messages.
  void Reset(uint64_t n, bool defer_decoding = false) {
    std::lock_guard lock(mu_);
    tally_ = Tally();
    expected_ = n;
    seen_.assign(n + 1, 0);
    defer_ = defer_decoding;
    stored_.clear();
  }
  // Deferred: decodes the messages kept, as OnMessage would have.
  void DecodeStored() {
    std::lock_guard lock(mu_);
    for (const std::string& m : stored_) CountLocked(DecodeBatch(m, kBatchMaxRawBytes));
    stored_.clear();
  }
  Tally tally() const {
    std::lock_guard lock(mu_);
    return tally_;
  }
  // Waits up to `ms` for every seq 1..n (true), or for `raw` raw messages when raw > 0.
  bool Wait(int64_t ms, uint64_t raw = 0) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] {
      return raw > 0 ? tally_.messages >= raw : expected_ > 0 && tally_.distinct >= expected_;
    });
  }
  // CPU time of the network thread, where the decoding runs.
  double CpuSeconds() const {
    std::lock_guard lock(mu_);
    return have_clock_ ? ThreadCpuSeconds(cpu_clock_) : 0;
  }

 private:
  static void OnConnect(mosquitto*, void* self_ptr, int rc) {
    auto* self = static_cast<Subscriber*>(self_ptr);
    std::lock_guard lock(self->mu_);
    self->have_clock_ = pthread_getcpuclockid(pthread_self(), &self->cpu_clock_) == 0;
    self->connect_rc_ = rc;
    self->cv_.notify_all();
  }
  static void OnSubscribe(mosquitto*, void* self_ptr, int, int, const int*) {
    auto* self = static_cast<Subscriber*>(self_ptr);
    std::lock_guard lock(self->mu_);
    ++self->subacks_;
    self->cv_.notify_all();
  }
  static void OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* msg) {
    auto* self = static_cast<Subscriber*>(self_ptr);
    const std::string_view payload(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    if (msg->topic && self->raw_topic_ == msg->topic) {
      std::lock_guard lock(self->mu_);
      ++self->tally_.messages;
      self->tally_.bytes += payload.size();
      self->tally_.last_receive_s = MonotonicSeconds();
      self->cv_.notify_all();
      return;
    }
    if (!msg->topic || self->events_topic_ != msg->topic) return;
    bool defer;
    {
      std::lock_guard lock(self->mu_);
      defer = self->defer_;
    }
    std::optional<Result<DecodedBatch>> batch;
    std::string copy;
    if (defer)
      copy.assign(payload);
    else
      batch.emplace(DecodeBatch(payload, kBatchMaxRawBytes));  // outside the lock
    std::lock_guard lock(self->mu_);
    Tally& t = self->tally_;
    ++t.messages;
    t.bytes += payload.size();
    if (defer)
      self->stored_.push_back(std::move(copy));
    else
      self->CountLocked(*batch);
    t.last_receive_s = MonotonicSeconds();
    self->cv_.notify_all();
  }

  void CountLocked(const Result<DecodedBatch>& batch) {
    Tally& t = tally_;
    if (!batch.ok()) {
      ++t.decode_errors;
      if (t.first_error.empty()) t.first_error = batch.status().ToString();
    } else {
      for (const Json& e : batch->events) {
        const uint64_t seq = e.at("seq").get<uint64_t>();
        ++t.events;
        if (seq == 0 || seq > expected_) {
          ++t.out_of_range;
        } else if (seen_[seq]) {
          ++t.duplicates;
        } else {
          seen_[seq] = 1;
          ++t.distinct;
        }
      }
    }
  }

  mosquitto* mosq_ = nullptr;
  std::string events_topic_, raw_topic_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int connect_rc_ = -1;
  int subacks_ = 0;
  bool have_clock_ = false;
  clockid_t cpu_clock_{};
  uint64_t expected_ = 0;
  std::vector<uint8_t> seen_;
  bool defer_ = false;
  std::vector<std::string> stored_;
  Tally tally_;
};

// ---- one uplink round -------------------------------------------------------------------

struct UplinkRound {
  std::string error;  // could not run
  bool deferred = false;  // the subscriber decoded after the round
  uint64_t events = 0;
  double seconds = 0;          // first Write to the last event received (or to the timeout)
  double produce_seconds = 0;  // first Write to the last Flush returned
  bool complete = false;       // every seq arrived before the timeout
  Subscriber::Tally tally;
  UplinkStats stats;
  SpoolStats spool;
  uint64_t peak_spool_bytes = 0;
  uint64_t write_errors = 0;
  double process_cpu = 0, subscriber_cpu = 0, producer_cpu = 0, broker_cpu = 0;
  double machine_cpu = 0;  // every process on the machine, this one and the broker included
  double rate() const { return seconds > 0 ? static_cast<double>(tally.distinct) / seconds : 0; }
};

// One round: a fresh spool and uplink, n events. With `deferred`, the subscriber keeps the
// messages and decodes them after the round; the round ends when the uplink has had every event
// acknowledged and the subscriber has as many messages as the uplink sent.
UplinkRound RunUplinkRound(Env& env, int port, pid_t broker_pid, const std::string& dir, uint64_t n,
                           std::vector<Event>& pool, Subscriber& sub, bool deferred, int64_t timeout_ms) {
  UplinkRound r;
  r.events = n;
  r.deferred = deferred;
  SpoolOptions so;
  so.dir = dir;
  so.max_bytes = kSpoolMaxBytes;
  so.segment_bytes = 1 << 20;
  so.sync = SpoolSync::kInterval;
  so.sync_interval_ms = kSyncIntervalMs;
  auto spool_or = Spool::Open(env, so);
  if (!spool_or.ok()) {
    r.error = "spool: " + spool_or.status().ToString();
    return r;
  }
  Spool& spool = **spool_or;
  UplinkOptions uo;
  uo.url = "mqtt://127.0.0.1:" + std::to_string(port);
  uo.device_id = kDevice;
  uo.agent_version = "bench";
  Uplink uplink(env, spool, uo, nullptr);
  if (Status st = uplink.Start(); !st.ok()) {
    r.error = st.ToString();
    return r;
  }
  const int64_t connect_deadline = MonotonicMs() + 10'000;
  while (!uplink.stats().connected) {
    if (MonotonicMs() > connect_deadline || g_interrupted.load()) {
      r.error = "the uplink did not connect within 10 s: " + uplink.stats().last_error;
      uplink.Stop();
      return r;
    }
    SleepMs(5);
  }
  sub.Reset(n, deferred);

  const uint64_t broker_ticks0 = CpuTicks(broker_pid).value_or(0);
  const double sub_cpu0 = sub.CpuSeconds();
  const double cpu0 = ProcessCpuSeconds();
  const double machine0 = MachineBusySeconds();
  std::atomic<double> t_first{0};
  std::atomic<bool> produced{false};
  std::thread producer([&] {
    clockid_t self_clock{};
    pthread_getcpuclockid(pthread_self(), &self_clock);
    const double c0 = ThreadCpuSeconds(self_clock);
    const int64_t ts0 = env.clock().NowMs();
    t_first.store(MonotonicSeconds());
    for (uint64_t seq = 1; seq <= n; ++seq) {
      Event& e = pool[seq % pool.size()];
      e.seq = seq;
      e.ts_ms = ts0 + static_cast<int64_t>(seq / 50);
      e.data["pid"] = 1000 + (seq * 2) % 4'000'000;
      if (!spool.Write(e).ok()) ++r.write_errors;
      if (seq % kFlushEvery == 0) (void)spool.Flush();
    }
    (void)spool.Flush();
    r.produce_seconds = MonotonicSeconds() - t_first.load();
    r.producer_cpu = ThreadCpuSeconds(self_clock) - c0;
    produced.store(true);
  });

  const int64_t deadline = MonotonicMs() + timeout_ms;
  bool done = false;
  while (!done && MonotonicMs() < deadline && !g_interrupted.load()) {
    if (deferred) {
      SleepMs(10);
      const UplinkStats st = uplink.stats();
      done = st.events_acked >= n && sub.tally().messages >= st.batches_sent;
    } else {
      done = sub.Wait(50);
    }
    r.peak_spool_bytes = std::max(r.peak_spool_bytes, spool.stats().bytes);
  }
  r.tally = sub.tally();
  r.seconds = (done ? r.tally.last_receive_s : MonotonicSeconds()) - t_first.load();
  r.process_cpu = ProcessCpuSeconds() - cpu0;
  r.machine_cpu = MachineBusySeconds() - machine0;
  r.subscriber_cpu = sub.CpuSeconds() - sub_cpu0;
  r.broker_cpu = static_cast<double>(CpuTicks(broker_pid).value_or(0) - broker_ticks0) /
                 static_cast<double>(sysconf(_SC_CLK_TCK));
  producer.join();
  r.peak_spool_bytes = std::max(r.peak_spool_bytes, spool.stats().bytes);
  r.stats = uplink.stats();
  uplink.Stop();
  r.spool = spool.stats();
  if (deferred) {
    sub.DecodeStored();
    r.tally = sub.tally();
  }
  r.complete = done && r.tally.distinct >= n;
  return r;
}

// ---- one raw round ----------------------------------------------------------------------

struct RawRound {
  std::string error;
  uint64_t sent = 0;
  uint64_t received = 0;
  size_t size = 0;
  double seconds = 0;  // first publish to the last message received
  double rate() const { return seconds > 0 ? static_cast<double>(received) / seconds : 0; }
};

struct RawPublisher {
  int inflight = 0;
  uint64_t acked = 0;
  int connect_rc = -1;
  static void OnConnect(mosquitto*, void* p, int rc, int, const mosquitto_property*) {
    static_cast<RawPublisher*>(p)->connect_rc = rc;
  }
  static void OnPublish(mosquitto*, void* p, int, int, const mosquitto_property*) {
    auto* self = static_cast<RawPublisher*>(p);
    --self->inflight;
    ++self->acked;
  }
};

// Publishes `payload` at QoS 1, at most kInflight unacknowledged, for `ms`, from this thread
// (mosquitto_loop, as the uplink's thread does); then waits for the subscriber to have them all.
RawRound RunRawRound(int port, const std::string& topic, const std::string& payload, int64_t ms, Subscriber& sub) {
  RawRound r;
  r.size = payload.size();
  sub.Reset(0);
  RawPublisher state;
  mosquitto* m = mosquitto_new("vigil-bench-raw", true, &state);
  if (!m) {
    r.error = "mosquitto_new failed";
    return r;
  }
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(m, &RawPublisher::OnConnect);
  mosquitto_publish_v5_callback_set(m, &RawPublisher::OnPublish);
  int rc = mosquitto_connect_bind_v5(m, "127.0.0.1", port, 60, nullptr, nullptr);
  const int64_t connect_deadline = MonotonicMs() + 10'000;
  while (rc == MOSQ_ERR_SUCCESS && state.connect_rc < 0 && MonotonicMs() < connect_deadline)
    rc = mosquitto_loop(m, 100, 1);
  if (rc != MOSQ_ERR_SUCCESS || state.connect_rc != 0) {
    r.error = std::string("raw publisher: ") + (rc != MOSQ_ERR_SUCCESS ? mosquitto_strerror(rc) : "no CONNACK");
    mosquitto_destroy(m);
    return r;
  }
  const double t0 = MonotonicSeconds();
  const int64_t end = MonotonicMs() + ms;
  for (;;) {
    const bool sending = MonotonicMs() < end && !g_interrupted.load();
    while (sending && state.inflight < kInflight) {
      rc = mosquitto_publish_v5(m, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false,
                                nullptr);
      if (rc != MOSQ_ERR_SUCCESS) break;
      ++state.inflight;
      ++r.sent;
    }
    if (rc != MOSQ_ERR_SUCCESS || (!sending && state.inflight == 0)) break;
    rc = mosquitto_loop(m, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS) break;
    if (MonotonicMs() > end + 30'000) {
      r.error = "raw publisher: no PUBACK for 30 s";
      break;
    }
  }
  if (rc != MOSQ_ERR_SUCCESS) r.error = std::string("raw publisher: ") + mosquitto_strerror(rc);
  if (r.sent == 0 && r.error.empty()) r.error = "raw publisher: nothing sent";
  mosquitto_disconnect_v5(m, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
  for (int i = 0; i < 10 && mosquitto_loop(m, 20, 1) == MOSQ_ERR_SUCCESS; ++i) {
  }
  mosquitto_destroy(m);
  if (r.sent > 0 && !sub.Wait(30'000, r.sent) && r.error.empty()) r.error = "the subscriber did not get every raw message";
  const Subscriber::Tally t = sub.tally();
  r.received = t.messages;
  r.seconds = t.last_receive_s - t0;
  return r;
}

void Usage() {
  std::fprintf(stderr,
               "usage: vigil-bench-uplink-throughput [--events N] [--rounds N] [--ref-seconds N] [--dir DIR]\n"
               "                                     [--broker PATH] [--keep-temp]\n");
}

int Main(int argc, char** argv) {
  int events = 200'000, rounds = 3, ref_seconds = 2;
  std::string parent_dir = "/var/tmp";
  std::string broker_bin = "/usr/sbin/mosquitto";
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--events" && ParseInt(next, 1000, 100'000'000, &events)) {
      ++i;
    } else if (a == "--rounds" && ParseInt(next, 1, 100, &rounds)) {
      ++i;
    } else if (a == "--ref-seconds" && ParseInt(next, 1, 600, &ref_seconds)) {
      ++i;
    } else if (a == "--dir" && next) {
      parent_dir = next;
      ++i;
    } else if (a == "--broker" && next) {
      broker_bin = next;
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      Usage();
      return 2;
    }
  }
  CatchInterrupts();
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);  // the uplink's "connected" lines would fill the report
  mosquitto_lib_init();

  std::string tmp = parent_dir + "/vigil-bench-uplink-XXXXXX";
  if (!mkdtemp(tmp.data())) {
    std::fprintf(stderr, "uplink throughput: cannot create a temp dir in %s: %s\n", parent_dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::error_code ec;
  auto cleanup = [&] {
    if (keep_temp)
      std::printf("  temp files kept in %s\n", tmp.c_str());
    else
      fs::remove_all(tmp, ec);
  };

  std::printf("Uplink throughput: spool (sync every %lld ms) -> uplink (zstd, 256 KB messages, %d in flight) ->\n"
              "mosquitto on loopback -> subscriber decoding every batch; beside it, raw messages of the same size\n",
              static_cast<long long>(kSyncIntervalMs), kInflight);
  std::printf("   %s events per round, %d rounds each, raw rounds of %d s; spool in %s (%s)\n",
              Thousands(static_cast<uint64_t>(events)).c_str(), rounds, ref_seconds, tmp.c_str(),
              FileSystemName(tmp).c_str());
  if (FileSystemName(tmp) == "tmpfs")
    std::printf("   note: the spool is on tmpfs, where fdatasync costs nothing: use --dir on a disk\n");
  if (auto load = ReadText("/proc/loadavg")) std::printf("   load average before: %s\n", LastLines(*load, 1).c_str());
  std::fflush(stdout);

  MosquittoProcess broker;
  if (std::string err = broker.Start(broker_bin, tmp); !err.empty()) {
    std::printf("uplink throughput: cannot start the broker: %s\n", err.c_str());
    cleanup();
    return 1;
  }
  const std::string events_topic = std::string("vigil/v1/") + kDevice + "/events";
  const std::string raw_topic = std::string("vigil/v1/") + kDevice + "/" + kRawTopicSuffix;
  auto sub = std::make_unique<Subscriber>();
  if (std::string err = sub->Connect(broker.port(), events_topic, raw_topic); !err.empty()) {
    std::printf("uplink throughput: %s\n", err.c_str());
    sub.reset();
    broker.Stop();
    cleanup();
    return 1;
  }

  std::unique_ptr<Env> env = NewPlatformEnv();
  std::vector<Event> pool = MakeEventPool(kPoolSize);
  size_t json_min = SIZE_MAX, json_max = 0, json_sum = 0;
  for (Event& e : pool) {
    e.seq = 123456;
    e.ts_ms = 1763900000123;
    e.data["pid"] = 23456;
    const size_t len = EventToJsonLine(e).size();
    json_min = std::min(json_min, len);
    json_max = std::max(json_max, len);
    json_sum += len;
  }
  std::printf("   events: process exec, JSON %zu to %zu bytes, mean %.0f (pool of %zu)\n\n", json_min, json_max,
              static_cast<double>(json_sum) / static_cast<double>(pool.size()), pool.size());
  std::printf("  round  subscriber decodes   events/s  batches  mean KB  ev/batch  producer ev/s  peak spool MB\n");
  std::fflush(stdout);

  Rng rng(42);
  std::vector<UplinkRound> ups;
  std::vector<RawRound> raws;
  std::string error;
  const int64_t timeout_ms = std::max<int64_t>(60'000, events / 2);  // at least 2,000 events/s
  auto mean_batch_so_far = [&] {
    uint64_t bytes = 0, messages = 0, decoded = 0;
    for (const auto& x : ups) {
      bytes += x.tally.bytes;
      messages += x.tally.messages;
      decoded += x.tally.events;
    }
    return std::pair{messages > 0 ? static_cast<double>(bytes) / static_cast<double>(messages) : 0.0,
                     messages > 0 ? static_cast<double>(decoded) / static_cast<double>(messages) : 0.0};
  };
  for (int round = 0; round < rounds && error.empty() && !g_interrupted.load(); ++round) {
    // Both ways of decoding, taking turns at going first, then the raw messages.
    for (int k = 0; k < 2 && error.empty() && !g_interrupted.load(); ++k) {
      const bool deferred = (round + k) % 2 == 1;
      const std::string dir = tmp + "/spool-" + std::to_string(round + 1) + (deferred ? "-deferred" : "");
      UplinkRound u = RunUplinkRound(*env, broker.port(), broker.pid(), dir, static_cast<uint64_t>(events), pool,
                                     *sub, deferred, timeout_ms);
      fs::remove_all(dir, ec);
      if (!u.error.empty()) {
        error = u.error;
        break;
      }
      ups.push_back(u);
      std::printf("  %5d  %-18s %10s  %7s  %7.1f  %8.0f  %13s  %13.1f%s\n", round + 1,
                  deferred ? "after the round" : "as batches arrive", Thousands(static_cast<uint64_t>(u.rate())).c_str(),
                  Thousands(u.tally.messages).c_str(),
                  u.tally.messages > 0
                      ? static_cast<double>(u.tally.bytes) / static_cast<double>(u.tally.messages) / 1024
                      : 0.0,
                  u.tally.messages > 0 ? static_cast<double>(u.tally.events) / static_cast<double>(u.tally.messages)
                                       : 0.0,
                  Thousands(static_cast<uint64_t>(
                                u.produce_seconds > 0 ? static_cast<double>(events) / u.produce_seconds : 0))
                      .c_str(),
                  static_cast<double>(u.peak_spool_bytes) / 1e6, u.complete ? "" : "  (INCOMPLETE)");
      std::fflush(stdout);
    }
    if (!error.empty() || g_interrupted.load()) break;
    // The raw messages take the mean size of the batches measured so far.
    const auto [mean_size, ev_per_batch] = mean_batch_so_far();
    std::string payload(static_cast<size_t>(mean_size), '\0');
    for (char& c : payload) c = static_cast<char>(rng());
    RawRound raw = RunRawRound(broker.port(), raw_topic, payload, int64_t{ref_seconds} * 1000, *sub);
    if (!raw.error.empty()) {
      error = raw.error;
      break;
    }
    raws.push_back(raw);
    std::printf("  %5d  raw MQTT, %s-byte messages: %.1f messages/s = %s events/s\n", round + 1,
                Thousands(raw.size).c_str(), raw.rate(),
                Thousands(static_cast<uint64_t>(raw.rate() * ev_per_batch)).c_str());
    std::fflush(stdout);
  }
  sub.reset();
  broker.Stop();

  if (g_interrupted.load()) {
    std::printf("uplink throughput: interrupted\n");
    cleanup();
    return 1;
  }
  if (!error.empty() || ups.empty() || raws.empty()) {
    std::printf("uplink throughput: could not run: %s\n", error.empty() ? "no round" : error.c_str());
    if (auto log = ReadText(broker.log_path()); log && !log->empty())
      std::printf("  broker log: %s\n", LastLines(*log, 5).c_str());
    cleanup();
    return 1;
  }

  // Medians and totals, per way of decoding.
  struct Mode {
    std::vector<double> rates, produce_rates;
    double seconds = 0, events = 0, process_cpu = 0, subscriber_cpu = 0, producer_cpu = 0, broker_cpu = 0;
    double machine_cpu = 0;
    double json_bytes = 0, wire_bytes = 0;
    double rate() const { return Median(rates); }
  } modes[2];  // [0] as batches arrive, [1] after the round
  uint64_t messages = 0, bytes = 0, decoded = 0, raw_bytes = 0, sent_bytes = 0, syncs = 0;
  uint64_t missing = 0, duplicates = 0, out_of_range = 0, decode_errors = 0, write_errors = 0, evicted = 0;
  double all_seconds = 0;
  std::string first_error;
  for (const UplinkRound& u : ups) {
    Mode& m = modes[u.deferred ? 1 : 0];
    m.rates.push_back(u.rate());
    if (u.produce_seconds > 0) m.produce_rates.push_back(static_cast<double>(u.events) / u.produce_seconds);
    m.seconds += u.seconds;
    m.events += static_cast<double>(u.events);
    m.process_cpu += u.process_cpu;
    m.subscriber_cpu += u.subscriber_cpu;
    m.producer_cpu += u.producer_cpu;
    m.broker_cpu += u.broker_cpu;
    m.machine_cpu += u.machine_cpu;
    m.json_bytes += static_cast<double>(u.stats.raw_bytes_sent);
    m.wire_bytes += static_cast<double>(u.tally.bytes);
    messages += u.tally.messages;
    bytes += u.tally.bytes;
    decoded += u.tally.events;
    raw_bytes += u.stats.raw_bytes_sent;
    sent_bytes += u.stats.bytes_sent;
    syncs += u.spool.syncs;
    all_seconds += u.seconds;
    missing += u.events - std::min(u.events, u.tally.distinct);
    duplicates += u.tally.duplicates;
    out_of_range += u.tally.out_of_range;
    decode_errors += u.tally.decode_errors;
    write_errors += u.write_errors;
    for (uint64_t e : u.spool.evicted) evicted += e;
    if (first_error.empty()) first_error = u.tally.first_error;
  }
  std::vector<double> raw_rates;
  for (const RawRound& r : raws) raw_rates.push_back(r.rate());
  const double total_events = static_cast<double>(ups.size()) * events;
  const double raw_rate = Median(raw_rates);
  const double mean_batch = messages > 0 ? static_cast<double>(bytes) / static_cast<double>(messages) : 0;
  const double ev_per_batch = messages > 0 ? static_cast<double>(decoded) / static_cast<double>(messages) : 0;
  const double raw_ev_rate = raw_rate * ev_per_batch;
  const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  auto per_k = [](double cpu, double n) { return n > 0 ? cpu * 1e6 / n : 0.0; };  // ms per 1,000 events
  auto pct = [&](double rate) { return raw_ev_rate > 0 ? 100.0 * rate / raw_ev_rate : 0.0; };

  std::printf("\n");
  const char* const kModeNames[2] = {"subscriber decoding as batches arrive", "subscriber decoding after the round"};
  for (int i = 0; i < 2; ++i) {
    const Mode& m = modes[i];
    if (m.rates.empty()) continue;
    std::printf("  uplink, %s: median of %zu rounds %s events/s (%.1f MB/s of JSON in, %.2f MB/s on the wire);\n"
                "    the producer alone (Write and Flush into the spool) %s events/s\n",
                kModeNames[i], m.rates.size(), Thousands(static_cast<uint64_t>(m.rate())).c_str(),
                m.rate() * m.json_bytes / m.events / 1e6, m.rate() * m.wire_bytes / m.events / 1e6,
                Thousands(static_cast<uint64_t>(Median(m.produce_rates))).c_str());
  }
  std::printf("    mean batch %.1f KB (%s bytes), %.0f events per batch, %.0f bytes of JSON per event (%.1fx by zstd)\n",
              mean_batch / 1024, Thousands(static_cast<uint64_t>(mean_batch)).c_str(), ev_per_batch,
              static_cast<double>(raw_bytes) / total_events,
              sent_bytes > 0 ? static_cast<double>(raw_bytes) / static_cast<double>(sent_bytes) : 0.0);
  std::printf("    spool: %s syncs, one every %.0f ms on average (interval %lld ms); %s write errors, %s evicted\n",
              Thousands(syncs).c_str(), syncs > 0 ? 1000.0 * all_seconds / static_cast<double>(syncs) : 0.0,
              static_cast<long long>(kSyncIntervalMs), Thousands(write_errors).c_str(), Thousands(evicted).c_str());
  std::printf("  raw MQTT, %s-byte messages, QoS 1, %d in flight, median of %zu rounds: %.1f messages/s\n",
              Thousands(static_cast<uint64_t>(mean_batch)).c_str(), kInflight, raws.size(), raw_rate);
  std::printf("    = %s events/s at %.0f events per message (%.1f MB/s); the uplink reaches %.2f %% of it (decoding as\n"
              "    batches arrive) and %.2f %% (after the round)\n",
              Thousands(static_cast<uint64_t>(raw_ev_rate)).c_str(), ev_per_batch, raw_rate * mean_batch / 1e6,
              pct(modes[0].rate()), pct(modes[1].rate()));
  const Mode& a = modes[0];
  const Mode& b = modes[1];
  std::printf(
      "  CPU per 1,000 events, agent side (the process less the subscriber thread: the producer thread, serialising\n"
      "  and appending to the spool, and the uplink thread: sync, spool reads, zstd, MQTT): %.2f ms, of it the\n"
      "  producer %.2f ms; the subscriber's decoding %.2f ms; the broker %.2f ms\n",
      per_k(a.process_cpu + b.process_cpu - a.subscriber_cpu - b.subscriber_cpu, a.events + b.events),
      per_k(a.producer_cpu + b.producer_cpu, a.events + b.events), per_k(a.subscriber_cpu, a.events),
      per_k(a.broker_cpu + b.broker_cpu, a.events + b.events));
  double others_max = 0;
  for (int i = 0; i < 2; ++i) {
    const Mode& m = modes[i];
    if (m.seconds <= 0) continue;
    const double others = std::max(0.0, (m.machine_cpu - m.process_cpu - m.broker_cpu) / m.seconds);
    others_max = std::max(others_max, others);
    std::printf("  cores busy, %s: this process %.2f of %ld (its subscriber thread %.2f), the broker %.2f,\n"
                "    other processes %.2f\n",
                kModeNames[i], m.process_cpu / m.seconds, cores, m.subscriber_cpu / m.seconds, m.broker_cpu / m.seconds,
                others);
  }
  if (others_max > 0.25)
    std::printf("  note: other processes kept %.2f cores busy during the rounds: the machine was not quiet, the\n"
                "  figures are lower than it can do\n",
                others_max);

  const bool exact = missing == 0 && duplicates == 0 && out_of_range == 0 && decode_errors == 0;
  if (!exact) {
    std::printf("\n  ERROR: events not delivered exactly once: %s missing, %s duplicated, %s outside 1..N, %s batches\n"
                "  that did not decode%s%s\n",
                Thousands(missing).c_str(), Thousands(duplicates).c_str(), Thousands(out_of_range).c_str(),
                Thousands(decode_errors).c_str(), first_error.empty() ? "" : ": ", first_error.c_str());
  }

  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  const char* const kTargetNames[2] = {"events/s >= 50,000, decoding as batches arrive",
                                       "events/s >= 50,000, decoding after the round"};
  for (int i = 0; i < 2; ++i) {
    if (modes[i].rates.empty()) continue;
    PrintTarget(kTargetNames[i], Thousands(static_cast<uint64_t>(modes[i].rate())) + " events/s",
                modes[i].rate() >= kTargetEventsPerSecond ? "PASS" : "MISS");
  }
  PrintTarget("every seq 1..N received exactly once",
              Thousands(static_cast<uint64_t>(total_events) - missing) + " of " +
                  Thousands(static_cast<uint64_t>(total_events)),
              exact ? "PASS" : "FAIL");
  PrintTarget("reference: raw MQTT, same size (no target)", Thousands(static_cast<uint64_t>(raw_ev_rate)) + " events/s",
              "-");
  cleanup();
  std::fflush(stdout);
  return exact ? 0 : 1;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
