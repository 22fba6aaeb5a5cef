// Uplink wire bytes: what an exec storm's events cost on the wire when the uplink sends them
// (zstd batches in MQTT messages), against the same events as JSON Lines.
//
// TARGET
//   JSON Lines bytes per event / wire bytes per event  >= 10  (at least 10x smaller)
// REFERENCE (printed beside, no target of their own): the same JSON Lines compressed whole, as
// one gzip -6 stream (zlib, when it was found at build time) and as one zstd -3 frame, which no
// message limit cuts.
//
// How:
//   1. Record a real stream: `vigil-agent run -c CONFIG` (bench_util's AgentRun: JSON Lines
//      output and state dir in a temp dir) with the process collector at priority high (the
//      high interval is 0 s by default: every event is written at once, none aggregated) and
//      every other collector at priority off (the sections of `config --print-defaults` that
//      have a priority; agent_stats only once a day, and left out of the stream anyway). Once
//      the agent's CPU time stops growing (its first /proc scan is over), `workers` processes
//      (default one per core) fork+exec a mix of commands in a loop for --seconds (default 15,
//      for a dozen messages or so, so that the last one, partly filled, weighs little): /bin/true
//      with a counter argument, /bin/echo with a message, /usr/bin/env VAR=.. /bin/true (two
//      execs in one process), /bin/sh -c "... | ..." (a shell and its children), /bin/ls,
//      /usr/bin/id, /bin/uname, /bin/date, from varied working directories; those not installed
//      are left out. The agent is left until it has caught up, then stopped with SIGTERM. Its
//      `process` events (exec and exit) are the stream, in the order the agent wrote them.
//      --input FILE takes such a JSON Lines file instead of recording one.
//   2. Encode the stream as the uplink would: BatchEncoder with its defaults (256 KiB
//      messages, zstd level 3), events in order, each message filled until Add says kFull.
//      Every message is decoded again (DecodeBatch) to check it holds what was put in.
//   3. Count. JSON Lines: every line with its newline. Wire: every message as published plus
//      its MQTT 5 PUBLISH header at QoS 1: the fixed header (1 byte + the remaining length,
//      1-4 bytes), the topic (2-byte length + vigil/v1/<device>/events), the packet id (2) and
//      the property length (1, no properties): device to broker only. Not counted: the
//      broker's PUBACK (4 bytes per message, the other way), TCP/IP headers and TLS records
//      (with mqtts://, about 29 bytes per 16 KiB record), which add alike to any format.
//
// Usage: vigil-bench-uplink-wire-bytes --agent PATH [--seconds N] [--workers N] [--keep-temp]
//        vigil-bench-uplink-wire-bytes --input FILE.jsonl
// Needs root for the agent's kernel process sources (else it polls /proc and sees fewer execs;
// the ratio is still measured). Exit status: 0 when it ran, whatever its figures; 1 when it
// could not run; 2 on a usage error.

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <zstd.h>
#ifdef VIGIL_BENCH_HAVE_ZLIB
#include <zlib.h>
#endif

#include "agent/core/batch.h"
#include "bench/bench_util.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kTargetRatio = 10.0;
constexpr int kMaxWorkers = 64;

// ---- the storm --------------------------------------------------------------------------

struct Command {
  std::string path;
  std::vector<std::string> args;  // argv[1..]; "{n}" is replaced by a counter
  bool uses_counter = false;
};

std::vector<Command> CommandMix() {
  const std::vector<Command> all = {
      {"/bin/true", {"vigil-wire-{n}"}},
      {"/bin/echo", {"reading", "{n}", "stored"}},
      {"/usr/bin/env", {"VIGIL_WIRE_RUN={n}", "/bin/true"}},
      {"/bin/sh", {"-c", "cat /proc/loadavg | cut -d' ' -f1 > /dev/null # job {n}"}},
      {"/bin/ls", {"-1", "/proc/self/fd"}},
      {"/usr/bin/id", {"-u"}},
      {"/bin/uname", {"-r"}},
      {"/bin/date", {"+%s"}},
  };
  std::vector<Command> out;
  for (Command c : all) {
    if (access(c.path.c_str(), X_OK) != 0) continue;
    for (const auto& a : c.args) c.uses_counter = c.uses_counter || a.find("{n}") != std::string::npos;
    out.push_back(std::move(c));
  }
  return out;
}

struct Shared {
  std::atomic<uint32_t> stop;
  std::atomic<uint64_t> done[kMaxWorkers];
};

[[noreturn]] void Worker(Shared* shared, int index, const std::vector<Command>* mix, const std::vector<std::string>* cwds) {
  uint64_t n = static_cast<uint64_t>(index) * 1'000'000;
  while (shared->stop.load(std::memory_order_relaxed) == 0) {
    const Command& c = (*mix)[n % mix->size()];
    const std::string& cwd = (*cwds)[(n / mix->size()) % cwds->size()];
    std::vector<std::string> args{c.path.substr(c.path.rfind('/') + 1)};
    for (const std::string& a : c.args) {
      std::string s = a;
      if (size_t at = s.find("{n}"); at != std::string::npos) s.replace(at, 3, std::to_string(n));
      args.push_back(std::move(s));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ++n;
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
      }
      if (chdir(cwd.c_str()) != 0) _exit(126);
      execv(c.path.c_str(), argv.data());
      _exit(127);
    }
    if (pid < 0) continue;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    shared->done[index].fetch_add(1, std::memory_order_relaxed);
  }
  _exit(0);
}

// Runs the mix in `workers` processes for `ms`; returns the commands started and completed.
uint64_t RunStorm(int workers, int64_t ms, const std::vector<Command>& mix, const std::vector<std::string>& cwds) {
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 0;
  Shared* shared = new (mem) Shared();
  std::vector<pid_t> pids;
  for (int i = 0; i < workers; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGINT, SIG_IGN);  // the driver stops the workers itself
      signal(SIGTERM, SIG_DFL);
      Worker(shared, i, &mix, &cwds);
    }
    if (pid > 0) pids.push_back(pid);
  }
  const int64_t end = MonotonicMs() + ms;
  while (MonotonicMs() < end && !g_interrupted.load()) SleepMs(std::min<int64_t>(50, end - MonotonicMs()));
  shared->stop.store(1);
  for (pid_t p : pids) {
    int status = 0;
    while (waitpid(p, &status, 0) < 0 && errno == EINTR) {
    }
  }
  uint64_t done = 0;
  for (int i = 0; i < workers; ++i) done += shared->done[i].load();
  munmap(mem, sizeof(Shared));
  return done;
}

// ---- the agent --------------------------------------------------------------------------

// The sections of `vigil-agent config --print-defaults` with a priority, but stats (which
// AgentRun configures itself).
std::vector<std::string> Collectors(const std::string& agent, std::string* error) {
  CommandResult r = RunCommand({agent, "config", "--print-defaults"});
  std::vector<std::string> out;
  if (r.exit_code != 0) {
    *error = "vigil-agent config --print-defaults: " + LastLines(r.output, 3);
    return out;
  }
  std::istringstream in(r.output);
  std::string line, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#' && line.back() == ':') section = line.substr(0, line.size() - 1);
    if (line.rfind("  priority:", 0) == 0 && !section.empty() && section != "stats") out.push_back(section);
  }
  return out;
}

// ---- the stream -------------------------------------------------------------------------

struct Stream {
  std::string device;
  std::vector<std::string> lines;  // process events as the agent serialised them
  std::vector<uint64_t> seqs;
  uint64_t jsonl_bytes = 0;        // the lines with their newlines
  std::map<std::string, uint64_t> actions;
  uint64_t other = 0;       // events of other types, left out
  uint64_t unreadable = 0;  // lines that are not an event
  uint64_t partial = 0;
};

Stream ReadStream(const std::string& text) {
  Stream s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned()) {
      ++s.unreadable;
      continue;
    }
    if (j.value("type", "") != "process") {
      ++s.other;
      continue;
    }
    if (s.device.empty()) s.device = j.value("device", "");
    ++s.actions[j.value("action", "?")];
    if (j.contains("data") && j["data"].is_object() && j["data"].contains("partial")) ++s.partial;
    s.seqs.push_back(j["seq"].get<uint64_t>());
    s.jsonl_bytes += line.size() + 1;
    s.lines.push_back(std::move(line));
  }
  return s;
}

// ---- encoding ---------------------------------------------------------------------------

// MQTT 5 PUBLISH at QoS 1 without properties, less the payload: fixed header (type and flags,
// remaining length), topic, packet id, property length.
size_t PublishOverhead(size_t topic_bytes, size_t payload_bytes) {
  const size_t variable = 2 + topic_bytes + 2 + 1;
  const size_t remaining = variable + payload_bytes;
  const size_t length_bytes = remaining < 128 ? 1 : remaining < 16'384 ? 2 : remaining < 2'097'152 ? 3 : 4;
  return 1 + length_bytes + variable;
}

struct Encoded {
  std::vector<size_t> sizes;  // each message, as published
  uint64_t overhead = 0;      // MQTT headers, all messages
  uint64_t events = 0;
  uint64_t too_large = 0;
  std::string error;          // a message that did not decode back
};

Encoded EncodeAsUplink(const Stream& s) {
  Encoded out;
  BatchEncoder enc(BatchEncoder::Options{});
  const std::string topic = "vigil/v1/" + s.device + "/events";
  auto finish = [&] {
    if (enc.count() == 0) return;
    const std::string_view msg = enc.Finish();
    out.sizes.push_back(msg.size());
    out.overhead += PublishOverhead(topic.size(), msg.size());
    auto decoded = DecodeBatch(msg, kBatchMaxRawBytes);
    if (!decoded.ok() && out.error.empty()) out.error = decoded.status().ToString();
    if (decoded.ok() && decoded->events.size() != enc.count() && out.error.empty())
      out.error = "a message decoded to " + std::to_string(decoded->events.size()) + " events, not " +
                  std::to_string(enc.count());
    if (decoded.ok()) out.events += decoded->events.size();
  };
  enc.Begin(s.device);
  for (size_t i = 0; i < s.lines.size(); ++i) {
    BatchEncoder::AddResult r = enc.Add(s.lines[i], s.seqs[i]);
    if (r == BatchEncoder::AddResult::kFull) {
      finish();
      enc.Begin(s.device);
      r = enc.Add(s.lines[i], s.seqs[i]);
    }
    if (r == BatchEncoder::AddResult::kTooLarge) ++out.too_large;
    if (r == BatchEncoder::AddResult::kFull) {
      out.error = "an event did not fit an empty message (zstd could not allocate?)";
      return out;
    }
  }
  finish();
  return out;
}

std::string JoinedStream(const Stream& s) {
  std::string all;
  all.reserve(s.jsonl_bytes);
  for (const auto& l : s.lines) {
    all += l;
    all += '\n';
  }
  return all;
}

// gzip -6 of the text (zlib's deflate with a gzip header), or 0 without zlib.
uint64_t GzipBytes(const std::string& text) {
#ifdef VIGIL_BENCH_HAVE_ZLIB
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const uint64_t n = z.total_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? n : 0;
#else
  (void)text;
  return 0;
#endif
}

uint64_t ZstdBytes(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  return ZSTD_isError(n) ? 0 : n;
}

void Usage() {
  std::fprintf(stderr,
               "usage: vigil-bench-uplink-wire-bytes --agent PATH [--seconds N] [--workers N] [--keep-temp]\n"
               "       vigil-bench-uplink-wire-bytes --input FILE.jsonl\n");
}

int Main(int argc, char** argv) {
  std::string agent, input;
  int seconds = 15;
  int workers = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--agent" && next) {
      agent = next;
      ++i;
    } else if (a == "--input" && next) {
      input = next;
      ++i;
    } else if (a == "--seconds" && ParseInt(next, 1, 3600, &seconds)) {
      ++i;
    } else if (a == "--workers" && ParseInt(next, 1, kMaxWorkers, &workers)) {
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      Usage();
      return 2;
    }
  }
  if (agent.empty() == input.empty()) {
    Usage();
    return 2;
  }
  CatchInterrupts();

  std::printf("Uplink wire bytes: an exec storm's process events sent as the uplink sends them (zstd batches,\n"
              "256 KiB messages, MQTT 5 QoS 1) against the same events as JSON Lines\n");
  std::string text;
  std::string tmp;
  std::error_code ec;
  if (!input.empty()) {
    auto t = ReadText(input);
    if (!t) {
      std::printf("uplink wire bytes: cannot read %s\n", input.c_str());
      return 1;
    }
    text = std::move(*t);
    std::printf("   stream: %s\n", input.c_str());
  } else {
    tmp = "/tmp/vigil-bench-wire-XXXXXX";
    if (!mkdtemp(tmp.data())) {
      std::printf("uplink wire bytes: cannot create a temp dir: %s\n", std::strerror(errno));
      return 1;
    }
    std::string error;
    const std::vector<std::string> collectors = Collectors(agent, &error);
    if (!error.empty()) {
      std::printf("uplink wire bytes: %s\n", error.c_str());
      fs::remove_all(tmp, ec);
      return 1;
    }
    std::string yaml;
    for (const std::string& c : collectors) yaml += c + ":\n  priority: " + (c == "process" ? "high" : "off") + "\n";
    const std::vector<Command> mix = CommandMix();
    const std::vector<std::string> cwds = {"/", "/tmp", "/var", "/usr/share", tmp};
    std::string names;
    for (const Command& c : mix) names += (names.empty() ? "" : ", ") + c.path;
    std::printf("   storm: %d s, %d workers, fork+exec of %s, from %zu working directories\n", seconds, workers,
                names.c_str(), cwds.size());
    if (auto load = ReadText("/proc/loadavg")) std::printf("   load average before: %s\n", LastLines(*load, 1).c_str());
    std::fflush(stdout);

    AgentRun run(agent, tmp + "/agent");
    error = run.Start(yaml, "1d");
    if (!error.empty()) {
      std::printf("uplink wire bytes: %s\n", error.c_str());
      if (!keep_temp) fs::remove_all(tmp, ec);
      return 1;
    }
    const std::string source = run.CollectorSource("process");
    WaitIdle({run.pid()}, 30'000);
    const uint64_t done = RunStorm(workers, int64_t{seconds} * 1000, mix, cwds);
    const bool caught_up = WaitIdle({run.pid()}, 60'000);
    run.Stop();
    if (g_interrupted.load()) {
      std::printf("uplink wire bytes: interrupted\n");
      if (!keep_temp) fs::remove_all(tmp, ec);
      return 1;
    }
    std::printf("   %s commands run; the agent's process source: %s%s\n", Thousands(done).c_str(), source.c_str(),
                caught_up ? "" : " (it had not caught up after 60 s)");
    for (const std::string& w : run.Warnings()) std::printf("   agent: %s\n", w.c_str());
    text = ReadText(run.events_path()).value_or("");
  }

  const Stream s = ReadStream(text);
  text.clear();
  if (s.lines.empty()) {
    std::printf("uplink wire bytes: the stream holds no process event\n");
    if (!tmp.empty() && !keep_temp) fs::remove_all(tmp, ec);
    return 1;
  }
  std::string actions;
  for (const auto& [a, n] : s.actions) actions += (actions.empty() ? "" : ", ") + Thousands(n) + " " + a;
  std::printf("   events: %s process (%s; %s partial); %s of other types left out, %s unreadable lines\n\n",
              Thousands(s.lines.size()).c_str(), actions.c_str(), Thousands(s.partial).c_str(),
              Thousands(s.other).c_str(), Thousands(s.unreadable).c_str());

  const Encoded e = EncodeAsUplink(s);
  if (!e.error.empty()) {
    std::printf("uplink wire bytes: %s\n", e.error.c_str());
    if (!tmp.empty() && !keep_temp) fs::remove_all(tmp, ec);
    return 1;
  }
  uint64_t payload = 0;
  for (size_t n : e.sizes) payload += n;
  const uint64_t wire = payload + e.overhead;
  const std::string all = JoinedStream(s);
  const uint64_t gz = GzipBytes(all);
  const uint64_t zs = ZstdBytes(all);
  const double events = static_cast<double>(s.lines.size());
  const double jsonl_per = static_cast<double>(s.jsonl_bytes) / events;
  const double wire_per = static_cast<double>(wire) / events;

  std::printf("  %-46s %14s %12s %14s\n", "as sent", "bytes", "bytes/event", "JSONL / this");
  auto row = [&](const std::string& what, uint64_t bytes) {
    std::printf("  %-46s %14s %12.1f %13.1fx\n", what.c_str(), Thousands(bytes).c_str(),
                static_cast<double>(bytes) / events, bytes > 0 ? static_cast<double>(s.jsonl_bytes) / bytes : 0.0);
  };
  row("JSON Lines (one line per event)", s.jsonl_bytes);
  row("uplink messages (zstd -3, 256 KiB)", payload);
  row("  + MQTT PUBLISH headers = on the wire", wire);
  if (gz > 0)
    row("reference: gzip -6 of the JSON Lines, whole", gz);
  else
    std::printf("  reference: gzip -6: not measured (zlib not found at build time)\n");
  row("reference: zstd -3 of the JSON Lines, whole", zs);
  std::printf("\n  %s messages, mean %.1f KiB, %.0f events each; MQTT headers %.1f bytes per message\n",
              Thousands(e.sizes.size()).c_str(),
              static_cast<double>(payload) / static_cast<double>(e.sizes.size()) / 1024.0,
              events / static_cast<double>(e.sizes.size()),
              static_cast<double>(e.overhead) / static_cast<double>(e.sizes.size()));
  if (e.sizes.size() < 3)
    std::printf("  note: fewer than 3 messages: the last, partly filled, weighs on the figure; run longer\n");
  if (e.too_large > 0) std::printf("  note: %s events too large for any message (dropped)\n", Thousands(e.too_large).c_str());

  const double ratio = wire_per > 0 ? jsonl_per / wire_per : 0;
  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  PrintTarget("wire bytes/event >= 10x smaller than JSONL",
              Fixed(ratio, 1) + "x (" + Fixed(jsonl_per, 0) + " -> " + Fixed(wire_per, 1) + " B)",
              ratio >= kTargetRatio ? "PASS" : "MISS");
  if (!tmp.empty()) {
    if (keep_temp)
      std::printf("  temp files kept in %s\n", tmp.c_str());
    else
      fs::remove_all(tmp, ec);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
