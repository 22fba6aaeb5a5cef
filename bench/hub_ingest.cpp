// Hub ingest: events per second a fleet's devices send that the hub stores, sustained, with
// 1,000 devices each its own MQTT client, side by side in one run with what the same broker
// delivers to a bare subscriber for the same messages.
//
// TARGET
//   events/s stored, sustained (SQLite)     >= 50,000: events the store committed between the
//                                              end of the warm-up and the end of sending, over
//                                              that time, with the offered rate above the target
//   every event sent stored exactly once     the store's event count = events sent, nothing
//                                              rejected (else FAIL, exit status 1)
//   ingest latency p50, p99                  printed, no target: publish (the device client's
//                                              mosquitto_publish) to the store's commit
// REFERENCE (printed beside, no target of its own)
//   the broker's own delivery rate: the same 1,000 clients send the same messages, unpaced, at
//   most 4 unacknowledged each, QoS 1, to a bare subscriber on the hub's topic pattern
//   ($share/vigil-hub/vigil/v1/+/events) that only counts them: messages/s, and events/s as
//   messages/s x the mean events per message.
//
// How, all in one process except the broker:
//   broker      /usr/sbin/mosquitto on 127.0.0.1 and a free port, plain TCP (what is measured is
//               the hub's work; TLS would add the same cost to both sides of the comparison on
//               the broker), no persistence, no limit on queued messages; RLIMIT_NOFILE raised
//               for it and for this process (1,000 clients); stopped with SIGTERM at the end.
//   messages    made before anything is timed: for each device, one batch per --interval-ms
//               (1 s, as an agent's uplink sends what a round collected) over the warm-up and
//               the measured time, each of (offered rate x interval / devices) events on
//               average, varied 50-150 % per message, encoded with BatchEncoder (zstd level 3,
//               as the agent). Events are a realistic mix (hub_events.h: process exec and exit,
//               network connect and accept, heartbeats, logins; each template passes the
//               built-in event schema), seqs 1..N per device, ts the message's planned time.
//   devices     --devices libmosquitto clients (client id and topic vigil/v1/<device>/events,
//               clean session, MQTT 3.1.1), spread over --threads threads; each thread drives
//               its clients without libmosquitto's own threads: poll() over their sockets,
//               mosquitto_loop_read/loop_write on the ready ones, loop_misc every 500 ms.
//               Paced: device d publishes its message i at start + d's offset (spread over one
//               interval) + i x interval, QoS 1 (libmosquitto's 20 in flight, more queue in the
//               client). The publish time is kept per message. (libmosquitto's own loop, which the
//               bare subscriber and the Ingestor use, calls select(): 64 low descriptors are kept
//               free for them while the clients connect.)
//   (a) broker  the bare subscriber (MQTT 5, its own network thread) counts every message; the
//               clients send all their messages unpaced; the rate is messages received / (last
//               received - first sent).
//   (b) hub     the hub's Ingestor in process (hub/ingest/ingest.h, default IngestOptions:
//               the shared subscription, persistent session, the Inbox in the temp dir, decode
//               and schema validation, rounds of up to 50,000 events per transaction) over
//               OpenStore("sqlite:TEMP/hub.db"). Its OnStored hook gives each committed round's
//               batches; a batch's (device, first seq) finds its message and publish time. After
//               the measured time, the run waits until every event sent is stored (or 120 s
//               with no progress), then reads the store's count (Store::Stats).
// CPU: the hub's (this process less the device threads, each timed by its thread clock), the
// broker's (/proc/PID/stat), the device clients', and other processes on the machine (from
// /proc/stat) during the measured time; a note says when the machine was not quiet.
//
// Usage: vigil-bench-hub-ingest [--devices N] [--rate EVENTS_PER_S] [--seconds N] [--warmup N]
//                               [--interval-ms N] [--threads N] [--dir DIR] [--broker PATH]
//                               [--keep-temp]
// Exit status: 0 when it ran, whatever the rate; 1 when it could not run or an event sent was
// not stored exactly once (FAIL); 2 on a usage error.

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/core/batch.h"
#include "bench/bench_util.h"
#include "bench/hub_events.h"
#include "hub/ingest/inbox.h"
#include "hub/ingest/ingest.h"
#include "hub/store/store.h"
#include "schema/schema.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kTargetEventsPerSecond = 50'000;
constexpr int kFloodInflight = 4;  // the uplink's default max_inflight
constexpr const char* kShareTopic = "$share/vigil-hub/vigil/v1/+/events";
constexpr const char* kProbeDevice = "bench-probe";

// bench_util.h: ThreadCpuSeconds, ProcessCpuSeconds, MachineBusySeconds.

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string LoadAverage() { return LastLines(ReadText("/proc/loadavg").value_or("?"), 1); }

// ---- the broker (bench_util.h: MosquittoProcess) -------------------------------------------

double BrokerCpuSeconds(pid_t pid) {
  return static_cast<double>(CpuTicks(pid).value_or(0)) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---- the messages -----------------------------------------------------------------------

struct Message {
  std::string payload;
  uint64_t first_seq = 0;
  uint32_t events = 0;
};

struct Fleet {
  std::vector<std::string> ids;
  std::unordered_map<std::string, int> index;
  std::vector<std::vector<Message>> messages;  // [device][tick]
  std::vector<double> offset_s;                // each device's offset within an interval
  uint64_t events = 0, json_bytes = 0, wire_bytes = 0, count = 0;
  uint32_t min_events = UINT32_MAX, max_events = 0;
};

// Builds every device's messages, on `threads` threads.
std::string MakeFleet(int devices, int ticks, double mean_events, int64_t interval_ms, int64_t ts0,
                      const std::vector<Event>& pool, int threads, Fleet& fleet) {
  fleet.ids.resize(static_cast<size_t>(devices));
  fleet.messages.resize(static_cast<size_t>(devices));
  fleet.offset_s.resize(static_cast<size_t>(devices));
  for (int d = 0; d < devices; ++d) {
    fleet.ids[static_cast<size_t>(d)] = FleetDeviceId(d);
    fleet.index[fleet.ids[static_cast<size_t>(d)]] = d;
    fleet.offset_s[static_cast<size_t>(d)] =
        static_cast<double>(interval_ms) / 1000.0 * static_cast<double>(d) / static_cast<double>(devices);
  }
  std::mutex mu;
  std::string error;
  auto work = [&](int part) {
    std::vector<Event> local = pool;  // FleetEventJson changes its event
    FleetRng rng(1000 + static_cast<uint64_t>(part));
    BatchEncoder::Options opts;
    BatchEncoder enc(opts);
    uint64_t events = 0, json = 0, wire = 0, count = 0;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int d = part; d < devices; d += threads) {
      const std::string& id = fleet.ids[static_cast<size_t>(d)];
      auto& msgs = fleet.messages[static_cast<size_t>(d)];
      msgs.reserve(static_cast<size_t>(ticks));
      uint64_t seq = 1;
      for (int t = 0; t < ticks; ++t) {
        const uint32_t n = std::max<uint32_t>(
            1, static_cast<uint32_t>(mean_events * (0.5 + static_cast<double>(rng() % 1001) / 1000.0) + 0.5));
        const int64_t planned = ts0 + static_cast<int64_t>(fleet.offset_s[static_cast<size_t>(d)] * 1000) +
                                int64_t{t} * interval_ms;
        enc.Begin(id);
        Message m;
        m.first_seq = seq;
        for (uint32_t k = 0; k < n; ++k) {
          Event& e = local[rng() % local.size()];
          const int64_t ts = planned - interval_ms + static_cast<int64_t>(rng() % static_cast<uint64_t>(interval_ms));
          const std::string json_line = FleetEventJson(e, id, seq, ts);
          if (enc.Add(json_line, seq) != BatchEncoder::AddResult::kAdded) {
            std::lock_guard lock(mu);
            error = "a message of " + std::to_string(n) + " events does not fit in 256 KB: lower --rate";
            return;
          }
          json += json_line.size();
          ++seq;
        }
        m.events = n;
        m.payload.assign(enc.Finish());
        wire += m.payload.size();
        events += n;
        ++count;
        lo = std::min(lo, n);
        hi = std::max(hi, n);
        msgs.push_back(std::move(m));
      }
    }
    std::lock_guard lock(mu);
    fleet.events += events;
    fleet.json_bytes += json;
    fleet.wire_bytes += wire;
    fleet.count += count;
    fleet.min_events = std::min(fleet.min_events, lo);
    fleet.max_events = std::max(fleet.max_events, hi);
  };
  std::vector<std::thread> workers;
  for (int p = 0; p < threads; ++p) workers.emplace_back(work, p);
  for (auto& w : workers) w.join();
  return error;
}

// ---- the device clients -----------------------------------------------------------------

struct DeviceClient {
  mosquitto* m = nullptr;
  int index = 0;
  std::string topic;
  int connect_rc = -1;
  bool connected = false;
  int inflight = 0;
  size_t next = 0;  // next message to publish, in this phase
  uint64_t acked = 0;
  uint64_t errors = 0;
  std::unique_ptr<std::atomic<double>[]> published_s;  // per message, MonotonicSeconds

  static void OnConnect(mosquitto*, void* p, int rc) {
    auto* c = static_cast<DeviceClient*>(p);
    c->connect_rc = rc;
    c->connected = rc == 0;
  }
  static void OnDisconnect(mosquitto*, void* p, int) { static_cast<DeviceClient*>(p)->connected = false; }
  static void OnPublish(mosquitto*, void* p, int) {
    auto* c = static_cast<DeviceClient*>(p);
    --c->inflight;
    ++c->acked;
  }
};

enum class Mode { kConnect, kFlood, kPaced };

struct DriveResult {
  double cpu_s = 0;
  uint64_t published = 0;
  uint64_t errors = 0;
  bool complete = false;
};

// Drives clients [lo, hi) on this thread until the phase is done (kConnect: all connected;
// kFlood, kPaced: every message published and acknowledged) or the deadline.
DriveResult Drive(std::vector<DeviceClient>& clients, size_t lo, size_t hi, Mode mode, const Fleet& fleet,
                  double start_s, double interval_s, double deadline_s) {
  DriveResult r;
  const double cpu0 = ThreadCpuSeconds();
  std::vector<pollfd> fds;
  std::vector<DeviceClient*> by_fd;
  double last_misc = MonotonicSeconds();
  for (;;) {
    const double now = MonotonicSeconds();
    bool done = true;
    for (size_t i = lo; i < hi; ++i) {
      DeviceClient& c = clients[i];
      const auto& msgs = fleet.messages[static_cast<size_t>(c.index)];
      if (mode == Mode::kConnect) {
        done = done && c.connected;
        continue;
      }
      while (c.connected && c.next < msgs.size()) {
        if (mode == Mode::kFlood && c.inflight >= kFloodInflight) break;
        if (mode == Mode::kPaced &&
            start_s + fleet.offset_s[static_cast<size_t>(c.index)] + static_cast<double>(c.next) * interval_s > now)
          break;
        const Message& m = msgs[c.next];
        c.published_s[c.next].store(MonotonicSeconds(), std::memory_order_relaxed);
        const int rc = mosquitto_publish(c.m, nullptr, c.topic.c_str(), static_cast<int>(m.payload.size()),
                                         m.payload.data(), 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
          ++c.errors;
          break;
        }
        ++c.inflight;
        ++c.next;
        ++r.published;
      }
      done = done && c.next >= msgs.size() && c.inflight == 0;
    }
    if (done) {
      r.complete = true;
      break;
    }
    if (now > deadline_s || g_interrupted.load()) break;
    fds.clear();
    by_fd.clear();
    for (size_t i = lo; i < hi; ++i) {
      const int fd = mosquitto_socket(clients[i].m);
      if (fd < 0) continue;
      fds.push_back({fd, static_cast<short>(POLLIN | (mosquitto_want_write(clients[i].m) ? POLLOUT : 0)), 0});
      by_fd.push_back(&clients[i]);
    }
    poll(fds.data(), fds.size(), mode == Mode::kPaced ? 2 : 5);
    for (size_t k = 0; k < fds.size(); ++k) {
      DeviceClient& c = *by_fd[k];
      if (fds[k].revents & (POLLIN | POLLERR | POLLHUP)) {
        if (mosquitto_loop_read(c.m, 1) != MOSQ_ERR_SUCCESS) ++c.errors;
      }
      if (fds[k].revents & POLLOUT) {
        if (mosquitto_loop_write(c.m, 1) != MOSQ_ERR_SUCCESS) ++c.errors;
      }
    }
    if (MonotonicSeconds() - last_misc > 0.5) {
      for (size_t i = lo; i < hi; ++i) mosquitto_loop_misc(clients[i].m);
      last_misc = MonotonicSeconds();
    }
  }
  for (size_t i = lo; i < hi; ++i) r.errors += clients[i].errors;
  r.cpu_s = ThreadCpuSeconds() - cpu0;
  return r;
}

struct PhaseResult {
  double device_cpu_s = 0;
  uint64_t published = 0;
  uint64_t errors = 0;
  bool complete = true;
};

PhaseResult RunPhase(std::vector<DeviceClient>& clients, int threads, Mode mode, const Fleet& fleet, double start_s,
                     double interval_s, double deadline_s) {
  std::vector<DriveResult> results(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const size_t n = clients.size();
  for (int t = 0; t < threads; ++t) {
    const size_t lo = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
    const size_t hi = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
    workers.emplace_back([&, t, lo, hi] {
      results[static_cast<size_t>(t)] = Drive(clients, lo, hi, mode, fleet, start_s, interval_s, deadline_s);
    });
  }
  for (auto& w : workers) w.join();
  PhaseResult p;
  for (const auto& r : results) {
    p.device_cpu_s += r.cpu_s;
    p.published += r.published;
    p.errors += r.errors;
    p.complete = p.complete && r.complete;
  }
  return p;
}

// ---- the bare subscriber ----------------------------------------------------------------

class CountingSubscriber {
 public:
  ~CountingSubscriber() {
    if (mosq_) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop_stop(mosq_, false);
      mosquitto_destroy(mosq_);
    }
  }
  std::string Connect(int port) {
    mosq_ = mosquitto_new("vigil-bench-bare-subscriber", true, this);
    if (!mosq_) return "mosquitto_new failed";
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(mosq_, [](mosquitto*, void* p, int rc, int, const mosquitto_property*) {
      auto* s = static_cast<CountingSubscriber*>(p);
      std::lock_guard lock(s->mu_);
      s->connect_rc_ = rc;
      s->cv_.notify_all();
    });
    mosquitto_subscribe_v5_callback_set(mosq_, [](mosquitto*, void* p, int, int, const int*, const mosquitto_property*) {
      auto* s = static_cast<CountingSubscriber*>(p);
      std::lock_guard lock(s->mu_);
      s->subscribed_ = true;
      s->cv_.notify_all();
    });
    mosquitto_message_v5_callback_set(
        mosq_, [](mosquitto*, void* p, const mosquitto_message* msg, const mosquitto_property*) {
          auto* s = static_cast<CountingSubscriber*>(p);
          std::lock_guard lock(s->mu_);
          ++s->messages_;
          s->bytes_ += static_cast<uint64_t>(msg->payloadlen);
          s->last_s_ = MonotonicSeconds();
          s->cv_.notify_all();
        });
    int rc = mosquitto_connect_bind_v5(mosq_, "127.0.0.1", port, 60, nullptr, nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) return std::string("bare subscriber: ") + mosquitto_strerror(rc);
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return connect_rc_ >= 0; }) || connect_rc_ != 0)
      return "bare subscriber: no CONNACK";
    lock.unlock();
    if (mosquitto_subscribe_v5(mosq_, nullptr, kShareTopic, 1, 0, nullptr) != MOSQ_ERR_SUCCESS)
      return "bare subscriber: subscribe failed";
    lock.lock();
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return subscribed_; })) return "bare subscriber: no SUBACK";
    return "";
  }
  bool Wait(uint64_t messages, int64_t ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return messages_ >= messages; });
  }
  uint64_t messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  double last_s() const {
    std::lock_guard lock(mu_);
    return last_s_;
  }

 private:
  mosquitto* mosq_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int connect_rc_ = -1;
  bool subscribed_ = false;
  uint64_t messages_ = 0, bytes_ = 0;
  double last_s_ = 0;
};

// ---- the hub's side ---------------------------------------------------------------------

// What OnStored reported: one entry per stored batch.
struct StoredBatch {
  double stored_s = 0;
  double published_s = 0;
  uint32_t events = 0;
};

void RaiseFileLimit(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t target = std::min(want, rl.rlim_max);
  if (geteuid() == 0 && rl.rlim_max < want) {
    rl.rlim_max = want;
    target = want;
  }
  rl.rlim_cur = std::max(rl.rlim_cur, target);
  setrlimit(RLIMIT_NOFILE, &rl);
}

void Usage() {
  std::fprintf(stderr,
               "usage: vigil-bench-hub-ingest [--devices N] [--rate EVENTS_PER_S] [--seconds N] [--warmup N]\n"
               "                              [--interval-ms N] [--threads N] [--dir DIR] [--broker PATH]\n"
               "                              [--keep-temp]\n");
}

int Main(int argc, char** argv) {
  int devices = 1000, rate = 60'000, seconds = 25, warmup = 5, interval_ms = 1000, threads = 4;
  std::string parent_dir = "/var/tmp";
  std::string broker_bin = "/usr/sbin/mosquitto";
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--devices" && ParseInt(next, 1, 20'000, &devices)) {
      ++i;
    } else if (a == "--rate" && ParseInt(next, 1, 10'000'000, &rate)) {
      ++i;
    } else if (a == "--seconds" && ParseInt(next, 1, 3600, &seconds)) {
      ++i;
    } else if (a == "--warmup" && ParseInt(next, 0, 600, &warmup)) {
      ++i;
    } else if (a == "--interval-ms" && ParseInt(next, 10, 60'000, &interval_ms)) {
      ++i;
    } else if (a == "--threads" && ParseInt(next, 1, 64, &threads)) {
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
  threads = std::min(threads, devices);
  CatchInterrupts();
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);
  RaiseFileLimit(static_cast<rlim_t>(devices) * 2 + 1024);  // inherited by the broker
  mosquitto_lib_init();

  std::string tmp = parent_dir + "/vigil-bench-hub-ingest-XXXXXX";
  if (!mkdtemp(tmp.data())) {
    std::fprintf(stderr, "hub ingest: cannot create a temp dir in %s: %s\n", parent_dir.c_str(), std::strerror(errno));
    return 1;
  }
  std::error_code ec;
  auto cleanup = [&] {
    if (keep_temp)
      std::printf("  temp files kept in %s\n", tmp.c_str());
    else
      fs::remove_all(tmp, ec);
  };

  const double interval_s = interval_ms / 1000.0;
  const int ticks = static_cast<int>((int64_t{warmup + seconds} * 1000 + interval_ms - 1) / interval_ms);
  const double mean_events = static_cast<double>(rate) * interval_s / static_cast<double>(devices);
  std::printf("Hub ingest: %s devices, each its own MQTT client (libmosquitto, %d threads), QoS 1, plain TCP on\n"
              "loopback -> mosquitto -> the hub's Ingestor (inbox, decode, schema, SQLite store); beside it, the\n"
              "broker's delivery of the same messages to a bare subscriber\n",
              Thousands(static_cast<uint64_t>(devices)).c_str(), threads);
  std::printf("   offered %s events/s: one message per device every %d ms of %.1f events on average (50-150 %%);\n"
              "   %d s warm-up, %d s measured; temp dir %s\n",
              Thousands(static_cast<uint64_t>(rate)).c_str(), interval_ms, mean_events, warmup, seconds, tmp.c_str());
  std::printf("   load average before: %s\n", LoadAverage().c_str());
  std::fflush(stdout);

  auto pool = MakeFleetPool(4096, 20261206);
  if (!pool.ok()) {
    std::printf("hub ingest: %s\n", pool.status().ToString().c_str());
    cleanup();
    return 1;
  }
  Fleet fleet;
  const double gen0 = MonotonicSeconds();
  const int64_t ts0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (std::string err = MakeFleet(devices, ticks, mean_events, interval_ms, ts0, *pool, 2, fleet); !err.empty()) {
    std::printf("hub ingest: %s\n", err.c_str());
    cleanup();
    return 1;
  }
  const double mean_msg_events = static_cast<double>(fleet.events) / static_cast<double>(fleet.count);
  std::printf("   messages: %s of %u-%u events (mean %.1f), mean %s bytes zstd (%.0f bytes of JSON per event,\n"
              "   %.1fx by zstd); %s events in all, made in %.1f s before the run\n",
              Thousands(fleet.count).c_str(), fleet.min_events, fleet.max_events, mean_msg_events,
              Thousands(fleet.wire_bytes / fleet.count).c_str(),
              static_cast<double>(fleet.json_bytes) / static_cast<double>(fleet.events),
              static_cast<double>(fleet.json_bytes) / static_cast<double>(fleet.wire_bytes),
              Thousands(fleet.events).c_str(), MonotonicSeconds() - gen0);
  std::fflush(stdout);

  MosquittoProcess broker;
  if (std::string err = broker.Start(broker_bin, tmp); !err.empty()) {
    std::printf("hub ingest: cannot start the broker: %s\n", err.c_str());
    cleanup();
    return 1;
  }
  std::string error;

  // libmosquitto's own network loop (the bare subscriber's, the Ingestor's) uses select(), which
  // takes no descriptor above FD_SETSIZE (1,024): keep low ones free for them while the device
  // clients take theirs.
  std::vector<int> reserved;
  for (int i = 0; i < 64; ++i) reserved.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  // The device clients, connected before anything is timed.
  std::vector<DeviceClient> clients(static_cast<size_t>(devices));
  for (int d = 0; d < devices && error.empty(); ++d) {
    DeviceClient& c = clients[static_cast<size_t>(d)];
    c.index = d;
    c.topic = "vigil/v1/" + fleet.ids[static_cast<size_t>(d)] + "/events";
    c.published_s = std::make_unique<std::atomic<double>[]>(static_cast<size_t>(ticks));
    c.m = mosquitto_new(fleet.ids[static_cast<size_t>(d)].c_str(), true, &c);
    if (!c.m) {
      error = "mosquitto_new failed";
      break;
    }
    mosquitto_connect_callback_set(c.m, &DeviceClient::OnConnect);
    mosquitto_disconnect_callback_set(c.m, &DeviceClient::OnDisconnect);
    mosquitto_publish_callback_set(c.m, &DeviceClient::OnPublish);
    const int rc = mosquitto_connect(c.m, "127.0.0.1", broker.port(), 60);
    if (rc != MOSQ_ERR_SUCCESS) error = "device " + std::to_string(d) + ": connect: " + mosquitto_strerror(rc);
  }
  if (error.empty()) {
    const PhaseResult p = RunPhase(clients, threads, Mode::kConnect, fleet, 0, interval_s, MonotonicSeconds() + 30);
    if (!p.complete) error = "not every device client was connected within 30 s";
  }

  for (int fd : reserved)
    if (fd >= 0) close(fd);
  // (a) The broker's own delivery rate to a bare subscriber.
  double ref_msg_rate = 0;
  uint64_t ref_messages = 0;
  double ref_seconds = 0;
  if (error.empty()) {
    auto sub = std::make_unique<CountingSubscriber>();
    error = sub->Connect(broker.port());
    if (error.empty()) {
      const double b0 = BrokerCpuSeconds(broker.pid());
      const double t0 = MonotonicSeconds();
      const PhaseResult p = RunPhase(clients, threads, Mode::kFlood, fleet, t0, interval_s, t0 + 300);
      if (!p.complete || p.errors > 0) {
        error = "reference: the clients did not have every message acknowledged (" + Thousands(p.errors) + " errors)";
      } else if (!sub->Wait(fleet.count, 60'000)) {
        error = "reference: the bare subscriber got " + Thousands(sub->messages()) + " of " + Thousands(fleet.count);
      } else {
        ref_messages = sub->messages();
        ref_seconds = sub->last_s() - t0;
        ref_msg_rate = static_cast<double>(ref_messages) / ref_seconds;
        std::printf("\n  (a) broker -> bare subscriber (%s, QoS 1, counting only), clients unpaced, %d in flight each:\n"
                    "      %s messages in %.2f s: %s messages/s = %s events/s (broker CPU %.1f s, device clients %.1f s)\n",
                    kShareTopic, kFloodInflight, Thousands(ref_messages).c_str(), ref_seconds,
                    Thousands(static_cast<uint64_t>(ref_msg_rate)).c_str(),
                    Thousands(static_cast<uint64_t>(ref_msg_rate * mean_msg_events)).c_str(),
                    BrokerCpuSeconds(broker.pid()) - b0, p.device_cpu_s);
        std::fflush(stdout);
      }
    }
    sub.reset();  // its clean session ends: the hub gets every message of (b)
    for (auto& c : clients) {
      c.next = 0;
      for (int i = 0; i < ticks; ++i) c.published_s[static_cast<size_t>(i)].store(0);
    }
  }

  // (b) The hub.
  bool exact = false;
  double stored_rate = 0, offered_rate = 0, p50 = 0, p99 = 0, lat_max = 0;
  uint64_t sent_events = 0, store_events = 0;
  nlohmann::json istats;
  if (error.empty()) {
    const auto& schema = schema::BuiltinSchema();
    auto store = hub::OpenStore("sqlite:" + tmp + "/hub.db");
    auto inbox = hub::Inbox::Open(tmp + "/inbox", hub::Inbox::Options{});
    if (!schema.ok() || !store.ok() || !inbox.ok()) {
      error = !schema.ok() ? schema.status().ToString()
              : !store.ok() ? store.status().ToString()
                            : inbox.status().ToString();
    } else {
      hub::IngestOptions io;
      io.url = "mqtt://127.0.0.1:" + std::to_string(broker.port());
      std::mutex rec_mu;
      std::vector<StoredBatch> stored;
      stored.reserve(fleet.count + 16);
      uint64_t stored_events = 0;
      hub::Ingestor ingestor(io, **store, **inbox, *schema, [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      });
      ingestor.OnStored([&](std::span<const hub::BatchRows> batches) {
        const double now = MonotonicSeconds();
        std::lock_guard lock(rec_mu);
        for (const auto& b : batches) {
          auto it = fleet.index.find(b.device);
          if (it == fleet.index.end() || b.events.empty()) continue;
          uint64_t first = UINT64_MAX;
          for (const auto& e : b.events) first = std::min(first, e.seq);
          const auto& msgs = fleet.messages[static_cast<size_t>(it->second)];
          auto m = std::upper_bound(msgs.begin(), msgs.end(), first,
                                    [](uint64_t s, const Message& x) { return s < x.first_seq; });
          if (m == msgs.begin()) continue;
          const size_t tick = static_cast<size_t>(m - msgs.begin()) - 1;
          stored.push_back({now, clients[static_cast<size_t>(it->second)].published_s[tick].load(),
                            static_cast<uint32_t>(b.events.size())});
          stored_events += b.events.size();
        }
      });
      if (Status st = ingestor.Start(); !st.ok()) {
        error = "the hub's ingest did not start: " + st.ToString();
      } else {
        // Its subscriptions are in force once its own status probe comes back through them.
        (void)ingestor.Publish(std::string("vigil/v1/") + kProbeDevice + "/status", R"({"state":"online"})", false);
        const int64_t probe_deadline = MonotonicMs() + 10'000;
        bool probed = false;
        while (!probed && MonotonicMs() < probe_deadline) {
          auto dev = (*store)->Device(kProbeDevice);
          probed = dev.ok() && dev->has_value();
          if (!probed) SleepMs(20);
        }
        if (!probed) error = "the hub's subscription did not take its own probe within 10 s";
      }
      if (error.empty()) {
        std::printf("\n  (b) devices -> broker -> hub (Ingestor, SQLite %s), paced at %s events/s offered:\n",
                    (tmp + "/hub.db").c_str(), Thousands(static_cast<uint64_t>(rate)).c_str());
        std::printf("        second  offered ev/s   stored ev/s\n");
        std::fflush(stdout);
        const double t0 = MonotonicSeconds() + 0.2;
        const double w0 = t0 + warmup;
        const double w1 = w0 + seconds;
        // The measured window's CPU, taken by a thread at its edges.
        double cpu_at[2] = {0, 0}, broker_at[2] = {0, 0}, machine_at[2] = {0, 0};
        PhaseResult paced;
        std::thread driver([&] {
          paced = RunPhase(clients, threads, Mode::kPaced, fleet, t0, interval_s, w1 + 120);
        });
        // Progress: offered and stored per 5 s slice.
        int slice = 0;
        uint64_t prev_stored = 0, prev_offered = 0;
        auto offered_until = [&](double t) {
          uint64_t n = 0;
          for (size_t d = 0; d < fleet.messages.size(); ++d)
            for (size_t i = 0; i < fleet.messages[d].size(); ++i) {
              const double p = clients[d].published_s[i].load(std::memory_order_relaxed);
              if (p > 0 && p < t) n += fleet.messages[d][i].events;
            }
          return n;
        };
        for (int edge = 0; edge < 2; ++edge) {
          const double at = edge == 0 ? w0 : w1;
          while (MonotonicSeconds() < at && !g_interrupted.load()) {
            const double next = t0 + 5.0 * (slice + 1);
            if (next <= at && MonotonicSeconds() >= next) {
              uint64_t s;
              {
                std::lock_guard lock(rec_mu);
                s = stored_events;
              }
              const uint64_t o = offered_until(next);
              std::printf("        %6.0f  %12s  %12s\n", next - t0, Thousands((o - prev_offered) / 5).c_str(),
                          Thousands((s - prev_stored) / 5).c_str());
              std::fflush(stdout);
              prev_stored = s;
              prev_offered = o;
              ++slice;
            }
            SleepMs(20);
          }
          cpu_at[edge] = ProcessCpuSeconds();
          broker_at[edge] = BrokerCpuSeconds(broker.pid());
          machine_at[edge] = MachineBusySeconds();
        }
        const std::string load_during = LoadAverage();
        driver.join();
        sent_events = 0;
        for (size_t d = 0; d < fleet.messages.size(); ++d)
          for (size_t i = 0; i < clients[d].next; ++i) sent_events += fleet.messages[d][i].events;
        // Wait for the hub to store everything that was sent.
        uint64_t last = 0;
        double last_progress = MonotonicSeconds();
        for (;;) {
          uint64_t s;
          {
            std::lock_guard lock(rec_mu);
            s = stored_events;
          }
          if (s >= sent_events || g_interrupted.load()) break;
          if (s != last) {
            last = s;
            last_progress = MonotonicSeconds();
          } else if (MonotonicSeconds() - last_progress > 120) {
            break;
          }
          SleepMs(50);
        }
        const double drained_s = MonotonicSeconds() - w1;
        ingestor.WaitIdle(std::chrono::seconds(30));
        istats = ingestor.Stats();
        ingestor.Stop();
        auto ss = (*store)->Stats();
        store_events = ss.ok() ? ss->events : 0;

        std::vector<double> lat;
        uint64_t in_window = 0;
        {
          std::lock_guard lock(rec_mu);
          for (const auto& b : stored) {
            if (b.stored_s >= w0 && b.stored_s < w1) in_window += b.events;
            if (b.published_s >= w0 && b.published_s < w1) lat.push_back((b.stored_s - b.published_s) * 1000);
          }
        }
        stored_rate = static_cast<double>(in_window) / seconds;
        offered_rate = static_cast<double>(offered_until(w1) - offered_until(w0)) / seconds;
        lat_max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
        p99 = Percentile(lat, 99);
        p50 = Percentile(lat, 50);
        const double hub_cpu = cpu_at[1] - cpu_at[0] - paced.device_cpu_s * seconds / (w1 + 0.0 - t0);
        const double broker_cpu = broker_at[1] - broker_at[0];
        const double others =
            std::max(0.0, machine_at[1] - machine_at[0] - (cpu_at[1] - cpu_at[0]) - broker_cpu) / seconds;
        const uint64_t rejected = istats.value("rejected", uint64_t{0});
        exact = store_events == sent_events && rejected == 0 && istats.value("duplicates", uint64_t{0}) == 0 &&
                paced.errors == 0;
        std::printf("      measured %d s: offered %s events/s, stored %s events/s; latency publish -> stored p50 %.0f ms,\n"
                    "      p99 %.0f ms, max %.0f ms (%s messages); the rest stored %.1f s after sending ended\n",
                    seconds, Thousands(static_cast<uint64_t>(offered_rate)).c_str(),
                    Thousands(static_cast<uint64_t>(stored_rate)).c_str(), p50, p99, lat_max,
                    Thousands(lat.size()).c_str(), drained_s);
        std::printf("      hub: %s rounds (transactions), %s messages, %s rejected, %s duplicates, %s store failures\n",
                    Thousands(istats.value("rounds", uint64_t{0})).c_str(),
                    Thousands(istats.value("messages", uint64_t{0})).c_str(), Thousands(rejected).c_str(),
                    Thousands(istats.value("duplicates", uint64_t{0})).c_str(),
                    Thousands(istats.value("store_failures", uint64_t{0})).c_str());
        const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
        std::printf("      cores busy while measured (of %ld): the hub %.2f, the broker %.2f, the device clients %.2f,\n"
                    "      other processes %.2f; hub CPU per 1,000 events stored %.2f ms; load average %s\n",
                    cores, hub_cpu / seconds, broker_cpu / seconds, paced.device_cpu_s / (w1 - t0), others,
                    in_window > 0 ? hub_cpu * 1e6 / static_cast<double>(in_window) : 0.0, load_during.c_str());
        if (others > 0.25)
          std::printf("      note: other processes kept %.2f cores busy: the machine was not quiet, the figures are\n"
                      "      lower than it can do\n",
                      others);
        if (!paced.complete)
          std::printf("      note: the device clients did not have every message acknowledged in time\n");
      }
    }
  }
  for (auto& c : clients) {
    if (c.m) {
      mosquitto_disconnect(c.m);
      mosquitto_destroy(c.m);
    }
  }
  broker.Stop();

  if (g_interrupted.load()) {
    std::printf("hub ingest: interrupted\n");
    cleanup();
    return 1;
  }
  if (!error.empty()) {
    std::printf("hub ingest: could not run: %s\n", error.c_str());
    if (auto log = ReadText(broker.log_path()); log && !log->empty())
      std::printf("  broker log: %s\n", LastLines(*log, 5).c_str());
    cleanup();
    return 1;
  }
  if (!exact) {
    std::printf("\n  ERROR: %s events sent, %s in the store; hub stats: %s\n", Thousands(sent_events).c_str(),
                Thousands(store_events).c_str(), istats.dump().c_str());
  }
  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  PrintTarget("events/s stored, sustained, SQLite >= 50,000", Thousands(static_cast<uint64_t>(stored_rate)) +
                                                                  " (offered " +
                                                                  Thousands(static_cast<uint64_t>(offered_rate)) + ")",
              stored_rate >= kTargetEventsPerSecond ? "PASS" : "MISS");
  PrintTarget("every event sent stored exactly once", Thousands(store_events) + " of " + Thousands(sent_events),
              exact ? "PASS" : "FAIL");
  PrintTarget("ingest latency p50 / p99 (no target)", Fixed(p50, 0) + " ms / " + Fixed(p99, 0) + " ms", "-");
  PrintTarget("reference: broker -> bare subscriber",
              Thousands(static_cast<uint64_t>(ref_msg_rate * mean_msg_events)) + " events/s", "-");
  std::printf("  (the hub stored %.1f %% of the broker's own delivery rate, in events/s)\n",
              ref_msg_rate > 0 ? 100.0 * stored_rate / (ref_msg_rate * mean_msg_events) : 0.0);
  cleanup();
  std::fflush(stdout);
  return exact ? 0 : 1;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
