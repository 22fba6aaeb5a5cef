// Event path: the agent's own work per process event once /proc has been read: building the
// event's JSON, aggregating it, and serialising it as a JSON Lines record (Google Benchmark).
//
// TARGET (a budget derived from the exec storm's, not a product requirement)
//   build + aggregate + serialise one process exec event  <= 5 us of CPU
// Why 5 us: the exec storm allows the agent 3 % of the machine. On the machine the storm was
// first measured on, a core does about 700 fork+exec of /bin/true per second (1.4 ms each), so
// 3 % is about 40 us per exec, which brings two events (exec and exit) and the /proc reads
// for them. The in-memory part below gets at most a quarter of that, 5 us per event, in the
// worst case where every event is serialised (no aggregation).
//
// Usage: vigil-bench-event-path [Google Benchmark flags, e.g. --benchmark_min_time=0.2]
// Prints Google Benchmark's table (coloured only on a terminal), then the target line with
// PASS/MISS. Exit status 0 whenever it ran.

#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agent/core/aggregator.h"
#include "agent/core/event.h"
#include "agent/core/stats.h"

namespace {

using vigil::Event;
using vigil::Json;

// What the process collector puts in an exec event (see agent/collectors/process/tracker.cpp).
Event MakeExecEvent(int pid) {
  Event e;
  e.type = "process";
  e.action = "exec";
  e.priority = vigil::Priority::kMedium;
  e.collector = "process";
  e.ts_ms = 1763900000123 + pid;
  Json& d = e.data;
  d["pid"] = pid;
  d["ppid"] = 1234;
  d["uid"] = 0;
  d["user"] = "root";
  d["exe"] = "/usr/bin/true";
  d["cmdline"] = "true --some-argument value";
  d["cwd"] = "/home/operator";
  d["comm"] = "true";
  d["sha256"] = "8d5f0f3c1c8e5ad16f4f2d3b0bbf7fae0e3b9dbf0d0a7a6f3b1f2c4e6d8a9b0c";
  d["parent_exe"] = "/usr/bin/bash";
  d["parent_cmdline"] = "/bin/bash /usr/local/bin/watchdog.sh --interval 5";
  e.agg_key =
      "process\x1f"
      "exec\x1f/usr/bin/true\x1ftrue --some-argument value\x1froot";
  return e;
}

void BM_BuildExecEvent(benchmark::State& state) {
  int pid = 1000;
  for (auto _ : state) {
    Event e = MakeExecEvent(++pid);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_BuildExecEvent)->Unit(benchmark::kNanosecond);

void BM_SerialiseExecEvent(benchmark::State& state) {
  Event e = MakeExecEvent(4242);
  e.device = "3d1219c7c4c5404aaa1f6d2a48adfda4";
  e.seq = 123456;
  for (auto _ : state) {
    std::string line = vigil::EventToJsonLine(e);
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_SerialiseExecEvent)->Unit(benchmark::kNanosecond);

// Events are copied from prototypes outside the timed part (the collector hands over events
// it has just built, already counted by BM_BuildExecEvent), a batch at a time; freeing what
// the aggregator did not keep is timed.
constexpr benchmark::IterationCount kBatch = 1024;

// An event identical to one held: only the count grows (the exec storm's case).
void BM_AggregateIdentical(benchmark::State& state) {
  vigil::CollectorStats stats("process");
  size_t released = 0;
  vigil::Aggregator agg({0, 60'000, 900'000}, 0, [&](Event&&) { ++released; });
  agg.AddCollector("process", 256, &stats);
  const Event proto = MakeExecEvent(1);
  std::vector<Event> batch;
  while (state.KeepRunningBatch(kBatch)) {
    state.PauseTiming();
    batch.assign(static_cast<size_t>(kBatch), proto);
    state.ResumeTiming();
    for (Event& e : batch) agg.Add(std::move(e));
    batch.clear();  // what Add did not take is freed here, as in the pipeline
  }
  benchmark::DoNotOptimize(released);
}
BENCHMARK(BM_AggregateIdentical)->Unit(benchmark::kNanosecond);

// Every event different, more keys than the cache holds: each Add evicts the oldest.
void BM_AggregateDistinct(benchmark::State& state) {
  vigil::CollectorStats stats("process");
  size_t released = 0;
  vigil::Aggregator agg({0, 60'000, 900'000}, 0, [&](Event&&) { ++released; });
  agg.AddCollector("process", 256, &stats);
  std::vector<Event> protos;
  for (int i = 0; i < 4 * kBatch; ++i) {
    protos.push_back(MakeExecEvent(i));
    protos.back().agg_key += std::to_string(i);
  }
  std::vector<Event> batch;
  size_t next = 0;
  while (state.KeepRunningBatch(kBatch)) {
    state.PauseTiming();
    for (int i = 0; i < kBatch; ++i) batch.push_back(protos[next++ % protos.size()]);
    state.ResumeTiming();
    for (Event& e : batch) agg.Add(std::move(e));
    batch.clear();  // what Add did not take is freed here, as in the pipeline
  }
  benchmark::DoNotOptimize(released);
}
BENCHMARK(BM_AggregateDistinct)->Unit(benchmark::kNanosecond);

// Keeps each benchmark's CPU time per iteration (ns) while printing the usual table.
class Collecting : public benchmark::ConsoleReporter {
 public:
  explicit Collecting(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && !r.error_occurred)
        cpu_ns_[r.run_name.function_name] = r.GetAdjustedCPUTime();
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double ns(const std::string& name) const {
    auto it = cpu_ns_.find(name);
    return it == cpu_ns_.end() ? -1 : it->second;
  }

 private:
  std::map<std::string, double> cpu_ns_;
};

}  // namespace

int main(int argc, char** argv) {
  std::printf("== Event path: build, aggregate and serialise one process exec event (Google Benchmark)\n");
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  // Colour only on a terminal (run.sh's output is often kept in a file).
  Collecting reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                            : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const double build = reporter.ns("BM_BuildExecEvent");
  const double aggregate = reporter.ns("BM_AggregateDistinct");
  const double serialise = reporter.ns("BM_SerialiseExecEvent");
  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  if (build < 0 || aggregate < 0 || serialise < 0) {
    std::printf("  %-46s %-28s %s\n", "build + aggregate + serialise <= 5 us", "not all benchmarks ran",
                "NOT MEASURED");
    return 0;
  }
  // Worst case: a new aggregate (distinct key) that is later serialised once.
  const double total = build + aggregate + serialise;
  char figure[96];
  std::snprintf(figure, sizeof(figure), "%.2f us (%.2f + %.2f + %.2f)", total / 1000, build / 1000, aggregate / 1000,
                serialise / 1000);
  std::printf("  %-46s %-28s %s\n", "build + aggregate + serialise <= 5 us", figure, total <= 5000 ? "PASS" : "MISS");
  std::printf("  (aggregate: the distinct-key case, which evicts; an identical event costs %.2f us)\n",
              reporter.ns("BM_AggregateIdentical") / 1000);
  return 0;
}
