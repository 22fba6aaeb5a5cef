// Hub query: how long a search takes on a store that holds a fleet's month of events, on both
// backends, with the filter language as the API and `vigil-hub query` use it.
//
// TARGET
//   p95 latency of "device = D and ts in [t, t + 1 h or 1 d) and <one field filter>", newest
//   first, at most 100 rows (the API's default), over 10,000,000 stored events:
//     SQLite      < 300 ms
//     PostgreSQL  < 300 ms
// INFORMATION (printed, no target)
//   p50, p99 and max of the same; the same queries without a device (the whole fleet, 1 h);
//   the fill rate (Store::Ingest) of each backend.
//
// How:
//   fill       --events (10,000,000) over --devices (1,000) devices, each device's events spread
//              evenly over --days (30) days of ts from 2026-11-06T00:00:00Z (jittered within their
//              step), seqs 1..N per device, in the realistic mix of hub_events.h (process exec and
//              exit, network connect and accept, heartbeats, logins). They go in by time: each
//              Store::Ingest call holds the next 10 events of every device (1,000 batches, 10,000
//              events, one transaction), as a hub that takes a fleet's messages stores them. The
//              same rows go to both backends, each call timed on its own.
//   backends   SQLite: OpenStore("sqlite:TEMP/hub.db") (WAL, synchronous NORMAL, as the hub).
//              PostgreSQL: a throwaway PostgreSQL 15 (hub/store/testing/pg_server.h: fsync off,
//              shared_buffers 32 MB; as the postgres user when run as root), or --postgres URL
//              for a server of your own (its database must be empty). After the fill,
//              `ANALYZE events` on the throwaway server (what autovacuum does on its own on a
//              live one).
//   queries    --queries (300) with random D and t (the same for both backends), alternating
//              1 h and 1 d ranges, the field filter cycling through
//                exe = "/usr/bin/curl"          (a process or network field, common)
//                remote_port = 443              (network only)
//                user = "root"                  (most types)
//                cmdline contains "modbus_poll" (substring of the command line)
//              each ParseFilter + CompileFilter for the store's dialect, then Store::Search with
//              since/until; the time is Search's, wall clock, one query at a time.
//
// Usage: vigil-bench-hub-query [--events N] [--devices N] [--days N] [--queries N]
//                              [--backends sqlite,postgresql] [--postgres URL] [--dir DIR] [--keep-temp]
// Exit status: 0 when it ran, whatever the latencies; 1 when it could not run (a backend that
// cannot start, a fill that stored other than N events, a query that failed); 2 on a usage error.

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "bench/bench_util.h"
#include "bench/hub_events.h"
#include "hub/query/filter.h"
#include "hub/store/store.h"
#ifdef VIGIL_BENCH_HAVE_PG_SERVER
#include "hub/store/testing/pg_server.h"
#endif

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;

constexpr double kTargetP95Ms = 300;
constexpr int kEventsPerDevicePerCall = 10;
constexpr size_t kLimit = 100;
constexpr int kFleetQueries = 40;
const char* const kFieldFilters[] = {R"(exe = "/usr/bin/curl")", "remote_port = 443", R"(user = "root")",
                                     R"(cmdline contains "modbus_poll")"};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string LoadAverage() { return LastLines(ReadText("/proc/loadavg").value_or("?"), 1); }

struct Backend {
  std::string name;
  std::unique_ptr<hub::Store> store;
  double ingest_s = 0;
  std::string error;
};

struct Query {
  std::string text;
  int64_t since = 0, until = 0;
  int kind = 0;  // 0: device + 1 h, 1: device + 1 d, 2: fleet + 1 h
};

struct Latencies {
  std::vector<double> device_ms, fleet_ms;
  uint64_t rows = 0;
};

void Usage() {
  std::fprintf(stderr,
               "usage: vigil-bench-hub-query [--events N] [--devices N] [--days N] [--queries N]\n"
               "                             [--backends sqlite,postgresql] [--postgres URL] [--dir DIR] [--keep-temp]\n");
}

int Main(int argc, char** argv) {
  int events = 10'000'000, devices = 1000, days = 30, queries = 300;
  std::string backends_arg = "sqlite,postgresql", pg_url, parent_dir = "/var/tmp";
  bool keep_temp = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--events" && ParseInt(next, 1000, 1'000'000'000, &events)) {
      ++i;
    } else if (a == "--devices" && ParseInt(next, 1, 100'000, &devices)) {
      ++i;
    } else if (a == "--days" && ParseInt(next, 1, 3650, &days)) {
      ++i;
    } else if (a == "--queries" && ParseInt(next, 1, 1'000'000, &queries)) {
      ++i;
    } else if (a == "--backends" && next) {
      backends_arg = next;
      ++i;
    } else if (a == "--postgres" && next) {
      pg_url = next;
      ++i;
    } else if (a == "--dir" && next) {
      parent_dir = next;
      ++i;
    } else if (a == "--keep-temp") {
      keep_temp = true;
    } else {
      Usage();
      return 2;
    }
  }
  const bool want_sqlite = backends_arg.find("sqlite") != std::string::npos;
  const bool want_pg = backends_arg.find("postgres") != std::string::npos;
  if (!want_sqlite && !want_pg) {
    Usage();
    return 2;
  }
  CatchInterrupts();
  spdlog::set_level(spdlog::level::warn);

  std::string tmp = parent_dir + "/vigil-bench-hub-query-XXXXXX";
  if (!mkdtemp(tmp.data())) {
    std::fprintf(stderr, "hub query: cannot create a temp dir in %s: %s\n", parent_dir.c_str(), std::strerror(errno));
    return 1;
  }
  std::error_code ec;
  auto cleanup = [&] {
    if (keep_temp)
      std::printf("  temp files kept in %s\n", tmp.c_str());
    else
      fs::remove_all(tmp, ec);
  };

  const int per_device = std::max(1, events / devices);
  const uint64_t total = static_cast<uint64_t>(per_device) * static_cast<uint64_t>(devices);
  const int64_t base_ms = *hub::ParseRfc3339Ms("2026-11-06T00:00:00Z");
  const int64_t span_ms = int64_t{days} * 86'400'000;
  const int64_t step_ms = std::max<int64_t>(1, span_ms / per_device);
  std::printf("Hub query: device + time range + one field filter on %s stored events (%s devices x %s events over\n"
              "%d days), p95 against %.0f ms, on SQLite and PostgreSQL\n",
              Thousands(total).c_str(), Thousands(static_cast<uint64_t>(devices)).c_str(),
              Thousands(static_cast<uint64_t>(per_device)).c_str(), days, kTargetP95Ms);
  if (total < 10'000'000)
    std::printf("   note: scaled down from the target's 10,000,000 events (--events): the figures are not the target's\n");
  std::printf("   load average before: %s\n", LoadAverage().c_str());
  std::fflush(stdout);

  std::vector<Backend> backends;
#ifdef VIGIL_BENCH_HAVE_PG_SERVER
  std::unique_ptr<testing::PgServer> pg;
#endif
  if (want_sqlite) {
    Backend b;
    b.name = "SQLite";
    auto s = hub::OpenStore("sqlite:" + tmp + "/hub.db");
    if (s.ok())
      b.store = std::move(*s);
    else
      b.error = s.status().ToString();
    backends.push_back(std::move(b));
  }
  if (want_pg) {
    Backend b;
    b.name = "PostgreSQL";
    std::string url = pg_url;
#ifdef VIGIL_BENCH_HAVE_PG_SERVER
    if (url.empty()) {
      auto server = testing::PgServer::Start();
      if (!server.ok()) {
        b.error = "cannot start PostgreSQL: " + server.status().ToString();
      } else {
        pg = std::move(*server);
        auto db = pg->CreateDatabase("vigil_bench");
        if (db.ok())
          url = *db;
        else
          b.error = db.status().ToString();
      }
    }
#else
    if (url.empty()) b.error = "this build has no throwaway PostgreSQL (VIGIL_BUILD_TESTS off): give --postgres URL";
#endif
    if (b.error.empty()) {
      auto s = hub::OpenStore(url);
      if (s.ok())
        b.store = std::move(*s);
      else
        b.error = s.status().ToString();
    }
    backends.push_back(std::move(b));
  }
  for (const auto& b : backends) {
    if (!b.error.empty()) {
      std::printf("hub query: %s: %s\n", b.name.c_str(), b.error.c_str());
      cleanup();
      return 1;
    }
  }

  // The fill: by time, the next 10 events of every device per call.
  auto pool = MakeFleetPool(4096, 20261106);
  if (!pool.ok()) {
    std::printf("hub query: %s\n", pool.status().ToString().c_str());
    cleanup();
    return 1;
  }
  std::vector<std::string> ids;
  for (int d = 0; d < devices; ++d) ids.push_back(FleetDeviceId(d));
  FleetRng rng(7);
  const double fill0 = MonotonicSeconds();
  double gen_s = 0;
  uint64_t filled = 0, json_bytes = 0;
  int next_report = 1;
  std::vector<hub::BatchRows> batches(static_cast<size_t>(devices));
  std::string error;
  for (int j0 = 0; j0 < per_device && error.empty() && !g_interrupted.load(); j0 += kEventsPerDevicePerCall) {
    const int j1 = std::min(per_device, j0 + kEventsPerDevicePerCall);
    const double g0 = MonotonicSeconds();
    for (int d = 0; d < devices; ++d) {
      hub::BatchRows& b = batches[static_cast<size_t>(d)];
      b.device = ids[static_cast<size_t>(d)];
      b.events.clear();
      for (int j = j0; j < j1; ++j) {
        Event& e = (*pool)[rng() % pool->size()];
        const int64_t ts = base_ms + int64_t{j} * step_ms + static_cast<int64_t>(rng() % static_cast<uint64_t>(step_ms));
        hub::EventRow row;
        row.device = b.device;
        row.seq = static_cast<uint64_t>(j) + 1;
        row.json = FleetEventJson(e, b.device, row.seq, ts);
        row.ts_ms = ts;
        row.type = e.type;
        row.action = e.action;
        row.priority = std::string(PriorityName(e.priority));
        row.count = e.count;
        json_bytes += row.json.size();
        b.events.push_back(std::move(row));
      }
    }
    gen_s += MonotonicSeconds() - g0;
    const int64_t now_ms = base_ms + int64_t{j1} * step_ms;
    for (auto& be : backends) {
      const double t0 = MonotonicSeconds();
      auto r = be.store->Ingest(batches, now_ms);
      be.ingest_s += MonotonicSeconds() - t0;
      if (!r.ok()) {
        error = be.name + ": Ingest: " + r.status().ToString();
        break;
      }
    }
    filled += static_cast<uint64_t>(j1 - j0) * static_cast<uint64_t>(devices);
    if (filled * 10 >= total * static_cast<uint64_t>(next_report)) {
      std::printf("   filled %3d %%: %s events, %.0f s", next_report * 10, Thousands(filled).c_str(),
                  MonotonicSeconds() - fill0);
      for (const auto& be : backends)
        std::printf(", %s %s events/s", be.name.c_str(),
                    Thousands(static_cast<uint64_t>(static_cast<double>(filled) / be.ingest_s)).c_str());
      std::printf("\n");
      std::fflush(stdout);
      while (filled * 10 >= total * static_cast<uint64_t>(next_report)) ++next_report;
    }
  }
  if (g_interrupted.load()) error = "interrupted";
  for (auto& be : backends) {
    if (!error.empty()) break;
    auto st = be.store->Stats();
    if (!st.ok()) {
      error = be.name + ": Stats: " + st.status().ToString();
    } else if (st->events != total) {
      error = be.name + ": the store holds " + Thousands(st->events) + " events, not " + Thousands(total);
    } else {
      std::printf("   %s: %s events stored in %.0f s of Ingest (%s events/s), %.2f GB on disk\n", be.name.c_str(),
                  Thousands(st->events).c_str(), be.ingest_s,
                  Thousands(static_cast<uint64_t>(static_cast<double>(total) / be.ingest_s)).c_str(),
                  static_cast<double>(st->bytes) / 1e9);
    }
  }
#ifdef VIGIL_BENCH_HAVE_PG_SERVER
  if (error.empty() && pg) {
    if (Status st = pg->Execute("ANALYZE events", "vigil_bench"); !st.ok())
      error = "PostgreSQL: ANALYZE: " + st.ToString();
  }
#endif
  if (error.empty())
    std::printf("   fill: %.0f s in all (making the rows %.0f s), %.0f bytes of JSON per event\n",
                MonotonicSeconds() - fill0, gen_s, static_cast<double>(json_bytes) / static_cast<double>(total));
  std::fflush(stdout);

  // The queries, the same for every backend.
  std::vector<Query> qs;
  FleetRng qrng(99);
  for (int i = 0; i < queries + kFleetQueries; ++i) {
    Query q;
    const bool fleet = i >= queries;
    q.kind = fleet ? 2 : i % 2;
    const int64_t range = q.kind == 1 ? 86'400'000 : 3'600'000;
    q.since = base_ms + static_cast<int64_t>(qrng() % static_cast<uint64_t>(std::max<int64_t>(1, span_ms - range)));
    q.until = q.since + range;
    const std::string field = kFieldFilters[static_cast<size_t>(i / 2) % std::size(kFieldFilters)];
    q.text = fleet ? field
                   : "device = \"" + ids[qrng() % ids.size()] + "\" and " + field;
    qs.push_back(std::move(q));
  }
  std::vector<Latencies> lat(backends.size());
  for (size_t k = 0; k < backends.size() && error.empty(); ++k) {
    hub::Store& store = *backends[k].store;
    for (const Query& q : qs) {
      if (g_interrupted.load()) {
        error = "interrupted";
        break;
      }
      auto f = hub::ParseFilter(q.text);
      if (!f.ok()) {
        error = q.text + ": " + f.status().ToString();
        break;
      }
      auto sql = hub::CompileFilter(*f, store.dialect());
      if (!sql.ok()) {
        error = q.text + ": " + sql.status().ToString();
        break;
      }
      hub::EventQuery eq;
      eq.filter = std::move(*sql);
      eq.since_ms = q.since;
      eq.until_ms = q.until;
      eq.limit = kLimit;
      const double t0 = MonotonicSeconds();
      auto rows = store.Search(eq);
      const double ms = (MonotonicSeconds() - t0) * 1000;
      if (!rows.ok()) {
        error = backends[k].name + ": " + q.text + ": " + rows.status().ToString();
        break;
      }
      (q.kind == 2 ? lat[k].fleet_ms : lat[k].device_ms).push_back(ms);
      if (q.kind != 2) lat[k].rows += rows->size();
    }
  }
  const std::string load_after = LoadAverage();
  backends.clear();  // closes the stores before the server stops
#ifdef VIGIL_BENCH_HAVE_PG_SERVER
  pg.reset();
#endif
  if (!error.empty()) {
    std::printf("hub query: could not run: %s\n", error.c_str());
    cleanup();
    return 1;
  }

  std::printf("\n  %s queries per backend with a device (half 1 h, half 1 d), %d without (1 h), at most %zu rows,\n"
              "  newest first; load average after: %s\n",
              Thousands(static_cast<uint64_t>(queries)).c_str(), kFleetQueries, kLimit, load_after.c_str());
  std::printf("  %-12s %-28s %9s %9s %9s %9s %9s\n", "backend", "query", "p50 ms", "p95 ms", "p99 ms", "max ms",
              "rows/q");
  const char* names[] = {"SQLite", "PostgreSQL"};
  std::vector<std::pair<std::string, double>> p95s;
  size_t k = 0;
  for (const char* name : names) {
    if ((std::string(name) == "SQLite" && !want_sqlite) || (std::string(name) == "PostgreSQL" && !want_pg)) continue;
    const Latencies& l = lat[k++];
    std::printf("  %-12s %-28s %9.1f %9.1f %9.1f %9.1f %9.1f\n", name, "device + range + field", Percentile(l.device_ms, 50),
                Percentile(l.device_ms, 95), Percentile(l.device_ms, 99), Percentile(l.device_ms, 100),
                l.device_ms.empty() ? 0.0 : static_cast<double>(l.rows) / static_cast<double>(l.device_ms.size()));
    std::printf("  %-12s %-28s %9.1f %9.1f %9.1f %9.1f\n", name, "fleet: range + field (info)",
                Percentile(l.fleet_ms, 50), Percentile(l.fleet_ms, 95), Percentile(l.fleet_ms, 99),
                Percentile(l.fleet_ms, 100));
    p95s.emplace_back(name, Percentile(l.device_ms, 95));
  }
  std::printf("\n  %-46s %-28s %s\n", "target", "measured", "verdict");
  for (const auto& [name, p95] : p95s)
    PrintTarget(std::string("p95 < 300 ms, device + range, ") + name, Fixed(p95, 1) + " ms",
                total < 10'000'000 ? "(scaled)" : (p95 < kTargetP95Ms ? "PASS" : "MISS"));
  if (total < 10'000'000)
    std::printf("  (verdicts are given only at the target's scale, 10,000,000 events)\n");
  cleanup();
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) { return vigil::bench::Main(argc, argv); }
