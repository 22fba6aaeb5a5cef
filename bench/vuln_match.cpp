// Vulnerability matching: one device's SBoM of 2,000 packages against 200,000 synthetic
// advisories, the way the hub and `vigil-hub vuln scan` do it (hub/vuln/match.h: an index by
// (ecosystem, source package), each package evaluated in the dpkg order against the entries of
// its own source package only). Beside it, two references measured in the same run: parsing the
// SBoM's CycloneDX JSON (what every match pays first), and a linear scan that tests every
// package against every advisory (measured on 20 packages, scaled to 2,000).
//
// TARGETS
//   index 200,000 advisories + match 2,000 packages  < 1 s on one core
//   memory of the indexed advisories                  < 200 MB (heap in use, mallinfo2)
// The data: 20,000 source packages of Debian 12, 10 advisories each (an interval with a fix,
// some without, some with last_affected, tilde and +debNuM versions, 1 in 10 never affected);
// the SBoM: 2,000 binary packages from 1,500 of those sources and 500 with no advisory,
// about a quarter below a fix.
//
// Usage: vigil-bench-vuln-match [Google Benchmark flags]. Prints Google Benchmark's table, then
// the targets with PASS/MISS. Exit status 0 whenever it ran.

#include <malloc.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "hub/vuln/match.h"
#include "hub/vuln/sbom.h"

namespace {

using namespace vigil::hub::vuln;

constexpr int kSources = 20'000;
constexpr int kAdvisoriesPerSource = 10;
constexpr int kPackages = 2'000;

std::string SourceName(int i) { return "src" + std::to_string(i); }
std::string DebVersion(int major, int minor, int update) {
  return std::to_string(major) + "." + std::to_string(minor) + "-1+deb12u" + std::to_string(update);
}

std::vector<Advisory> MakeAdvisories() {
  std::vector<Advisory> out;
  out.reserve(static_cast<size_t>(kSources) * kAdvisoriesPerSource);
  std::mt19937 rng(7);
  for (int s = 0; s < kSources; ++s) {
    for (int k = 0; k < kAdvisoriesPerSource; ++k) {
      Advisory a;
      a.id = "CVE-2099-" + std::to_string(s * kAdvisoriesPerSource + k);
      a.source = "osv";
      a.modified = "2026-11-01T00:00:00Z";
      a.aliases = {"DEBIAN-" + a.id};
      a.summary = "synthetic advisory for " + SourceName(s);
      a.severity = "medium";
      a.score = 5.5;
      Affected e;
      e.ecosystem = "Debian:12";
      e.package = SourceName(s);
      switch (rng() % 10) {
        case 0:
          e.never_affected = true;
          break;
        case 1:
          e.intervals.push_back(Interval{"0", "", ""});  // no fix yet
          break;
        case 2:
          e.intervals.push_back(Interval{"0", "", DebVersion(1, static_cast<int>(rng() % 5), 3)});
          break;
        default:
          e.intervals.push_back(Interval{"0", DebVersion(1, static_cast<int>(rng() % 5), static_cast<int>(rng() % 12)), ""});
          break;
      }
      a.affected.push_back(std::move(e));
      out.push_back(std::move(a));
    }
  }
  return out;
}

// The SBoM as a device would send it: CycloneDX JSON text.
std::string MakeSbom() {
  nlohmann::json components = nlohmann::json::array();
  std::mt19937 rng(11);
  for (int i = 0; i < kPackages; ++i) {
    bool known = i < 1500;
    std::string source = known ? SourceName(static_cast<int>(rng() % kSources)) : "quiet" + std::to_string(i);
    std::string name = "lib" + source + "-" + std::to_string(i);
    std::string version = DebVersion(1, static_cast<int>(rng() % 5), static_cast<int>(rng() % 12));
    if (i % 50 == 0) version = "1:" + version;  // some epochs
    if (i % 40 == 0) version = "1.2~rc1-1";      // some tildes
    components.push_back({{"type", "library"},
                          {"name", name},
                          {"version", version},
                          {"purl", "pkg:deb/debian/" + name + "@" + version + "?arch=amd64&distro=debian-12&upstream=" +
                                       source}});
  }
  nlohmann::json bom = {{"bomFormat", "CycloneDX"}, {"specVersion", "1.5"}, {"components", components}};
  return bom.dump();
}

const std::vector<Advisory>& Advisories() {
  static const std::vector<Advisory> advisories = MakeAdvisories();
  return advisories;
}
const std::string& SbomText() {
  static const std::string text = MakeSbom();
  return text;
}
std::vector<Package> Packages() {
  auto sbom = ParseCycloneDx(SbomText(), "bench");
  return sbom.ok() ? sbom->packages : std::vector<Package>{};
}

void BM_ParseSbom(benchmark::State& state) {
  for (auto _ : state) {
    auto sbom = ParseCycloneDx(SbomText(), "bench");
    benchmark::DoNotOptimize(sbom);
  }
  state.counters["packages"] = kPackages;
}
BENCHMARK(BM_ParseSbom)->Unit(benchmark::kMillisecond);

// Indexing advisories as they come from the store or a parser: moved in (the copy is not timed).
void BM_IndexAdvisories(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<Advisory> copy = Advisories();
    state.ResumeTiming();
    AdvisoryIndex index;
    for (Advisory& a : copy) index.Add(std::move(a));
    benchmark::DoNotOptimize(index);
    state.PauseTiming();
    copy.clear();
    state.ResumeTiming();
  }
  state.counters["advisories"] = static_cast<double>(Advisories().size());
}
BENCHMARK(BM_IndexAdvisories)->Unit(benchmark::kMillisecond);

void BM_Match(benchmark::State& state) {
  AdvisoryIndex index;
  for (const Advisory& a : Advisories()) index.Add(a);
  std::vector<Package> packages = Packages();
  size_t findings = 0;
  for (auto _ : state) {
    auto f = index.Match(packages, false);
    findings = f.size();
    benchmark::DoNotOptimize(f);
  }
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Match)->Unit(benchmark::kMillisecond);

// Reference: every package against every advisory, on 20 packages (x100 is the full SBoM).
void BM_LinearScan20(benchmark::State& state) {
  std::vector<Package> packages = Packages();
  packages.resize(20);
  for (auto _ : state) {
    size_t hits = 0;
    for (const Package& p : packages) {
      for (const Advisory& a : Advisories()) {
        for (const Affected& e : a.affected) {
          if (e.ecosystem == p.ecosystem && e.package == p.SourceName() &&
              Evaluate(e, p.SourceVersion()).status != MatchStatus::kNotAffected) {
            ++hits;
          }
        }
      }
    }
    benchmark::DoNotOptimize(hits);
  }
}
BENCHMARK(BM_LinearScan20)->Unit(benchmark::kMillisecond);

size_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of this thread: the figure that holds on a machine shared with other work.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("== Vulnerability matching: 2,000 packages against 200,000 advisories, one core\n");
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  // The whole job once, timed end to end (CPU time of this thread, and wall clock), with the
  // heap the index holds. The advisories are copied first (not timed) and moved into the index,
  // as they come from the store or a parser.
  const std::vector<Advisory>& advisories = Advisories();
  std::vector<Advisory> copy = advisories;
  double c0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Package> packages = Packages();
  double c1 = CpuSeconds();
  auto t1 = std::chrono::steady_clock::now();
  size_t heap_before = HeapInUse();
  auto index = std::make_unique<AdvisoryIndex>();
  for (Advisory& a : copy) index->Add(std::move(a));
  double c2 = CpuSeconds();
  auto t2 = std::chrono::steady_clock::now();
  std::vector<Finding> findings = index->Match(packages, false);
  double c3 = CpuSeconds();
  auto t3 = std::chrono::steady_clock::now();
  size_t heap_after = HeapInUse();
  // The linear scan of 20 packages, scaled.
  double l0 = CpuSeconds();
  size_t hits = 0;
  for (size_t i = 0; i < 20 && i < packages.size(); ++i) {
    for (const Advisory& a : advisories) {
      for (const Affected& e : a.affected) {
        if (e.package == packages[i].SourceName() &&
            Evaluate(e, packages[i].SourceVersion()).status != MatchStatus::kNotAffected) {
          ++hits;
        }
      }
    }
  }
  double l1 = CpuSeconds();
  benchmark::DoNotOptimize(hits);

  double total = (c2 - c1) + (c3 - c2);
  double linear = (l1 - l0) * (static_cast<double>(packages.size()) / 20.0);
  double mb = static_cast<double>(heap_after - heap_before) / (1024.0 * 1024.0);
  std::printf("\n  %zu packages, %zu advisories (%zu entries indexed), %zu findings; CPU time (wall clock)\n",
              packages.size(), advisories.size(), index->entries(), findings.size());
  std::printf("  reference: parse the SBoM (CycloneDX JSON)          %8.1f ms (%.1f)\n", (c1 - c0) * 1e3,
              Seconds(t1 - t0) * 1e3);
  std::printf("  reference: linear scan, each package x each advisory %8.0f ms (20 packages measured, x%zu)\n",
              linear * 1e3, packages.size() / 20);
  std::printf("  index the advisories                                %8.1f ms (%.1f)\n", (c2 - c1) * 1e3,
              Seconds(t2 - t1) * 1e3);
  std::printf("  match the packages                                  %8.1f ms (%.1f)\n", (c3 - c2) * 1e3,
              Seconds(t3 - t2) * 1e3);
  char fig[64];
  std::snprintf(fig, sizeof fig, "%.0f ms", total * 1e3);
  std::printf("  %-52s %-14s target < 1000 ms  %s\n", "index + match (CPU)", fig, total < 1.0 ? "PASS" : "MISS");
  std::snprintf(fig, sizeof fig, "%.1f MB", mb);
  std::printf("  %-52s %-14s target < 200 MB   %s\n", "heap held by the index", fig, mb < 200 ? "PASS" : "MISS");
  return 0;
}
