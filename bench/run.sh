#!/bin/sh
# Runs every benchmark in sequence and prints their figures beside their targets:
#   1. exec storm   (vigil-bench-exec-storm)  exec/s with no agent, vigil-agent, auditd
#   2. footprint    (bench/footprint.sh)       idle RSS, stripped binary sizes
#   3. event path   (vigil-bench-event-path)  per-event CPU of build, aggregate, serialise
#   4. volume       (vigil-bench-volume)      bytes of a busy period's events, raw vs aggregated
#   5. conn storm   (vigil-bench-conn-storm)  conn/s with no agent, network.mode ebpf and sock_diag
#   5b. detection   (vigil-bench-detect)      events/s with ~150 Sigma rules on one core; correlation state
#      per group (exists only in builds with VIGIL_WITH_DETECT; skipped, with a note, when not built)
#   6. uplink throughput (vigil-bench-uplink-throughput)  events/s spool -> uplink -> mosquitto -> subscriber
#   7. uplink wire bytes (vigil-bench-uplink-wire-bytes)  bytes per exec-storm event on the wire vs JSON Lines
#      (6 and 7 exist only in builds with VIGIL_WITH_UPLINK; skipped, with a note, when not built)
#   8. hub ingest   (vigil-bench-hub-ingest)  events/s 1,000 devices -> mosquitto -> hub -> SQLite, beside
#                                             the broker's own rate; ingest latency p50/p99
#   9. hub query    (vigil-bench-hub-query)   search latency p50/p95/p99 on 10M stored events, SQLite and
#                                             PostgreSQL (the fill takes most of its time)
#  10. vuln match   (vigil-bench-vuln-match)  2,000 packages matched against 200,000 advisories: time and
#                                             memory, beside parsing the SBoM and a linear scan
#      (8, 9 and 10 exist only in builds with VIGIL_BUILD_HUB; skipped, with a note, when not built)
#  11. posture      (bench/posture.sh)         the built-in baseline scanned by vigil-agent, beside Lynis and
#                                             OpenSCAP on the same machine: wall time and peak RSS
#      (only when the agent has `scan posture`, VIGIL_WITH_POSTURE)
# `make bench` builds everything first (release and minimal presets) and then runs this.
# Needs root (the netlink proc connector, auditd, eBPF; PostgreSQL runs as the postgres user).
# Takes about 15 minutes (10 of them the volume benchmark's busy period) plus the hub's: about 1 minute
# for the ingest and, at the full 10,000,000 events, about 25 minutes for the query benchmark (20 of
# them the fill; it needs about 17 GB of disk); HUB_QUERY_EVENTS=1000000 takes about 3,
# HUB_QUERY_EVENTS=0 skips it.
#
# Environment (defaults in brackets):
#   VIGIL_AGENT          release agent          [build/bin/vigil-agent]
#   VIGIL_MINIMAL_AGENT  minimal agent          [build/minimal/bin/vigil-agent]
#   VIGIL_BENCH_DIR      benchmark binaries     [build/release/bench]
#   STORM_SECONDS        exec storm seconds per condition [10]
#   IDLE_SECONDS         footprint idle time    [60]
#   VOLUME_SECONDS       busy period of the volume benchmark [600]
#   CONN_STORM_SECONDS   connection storm seconds per condition [10]
#   UPLINK_EVENTS        events per uplink throughput round [200000]
#   WIRE_SECONDS         exec storm recorded for the wire bytes [15]
#   HUB_INGEST_SECONDS   measured time of the hub ingest, after a 5 s warm-up [25]
#   HUB_QUERY_EVENTS     events stored for the hub query benchmark; 0 skips it [10000000]
# Exit status: 0 when every benchmark ran, whatever its figures (benchmarks measure; they do
# not fail a build); 1 when one could not run.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
agent=${VIGIL_AGENT:-$root/build/bin/vigil-agent}
minimal=${VIGIL_MINIMAL_AGENT:-$root/build/minimal/bin/vigil-agent}
bench_dir=${VIGIL_BENCH_DIR:-$root/build/release/bench}
storm_seconds=${STORM_SECONDS:-10}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: run as root (the exec storm needs the netlink proc connector and auditctl)" >&2
  exit 1
fi
missing=0
for f in "$agent" "$bench_dir/vigil-bench-exec-storm" "$bench_dir/vigil-bench-event-path" "$bench_dir/vigil-bench-volume" "$bench_dir/vigil-bench-conn-storm"; do
  if [ ! -x "$f" ]; then
    echo "bench/run.sh: $f is missing; \`make bench\` builds it" >&2
    missing=1
  fi
done
[ $missing -eq 0 ] || exit 1

echo "Vigil benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  commit  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo ' (with local changes)')"
echo "  kernel  $(uname -sr), $(uname -m)"
echo "  cpu     $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "  memory  $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"
echo "  agent   $agent"
echo

status=0
start=$(date +%s)

"$bench_dir/vigil-bench-exec-storm" --agent "$agent" --seconds "$storm_seconds" || status=1
echo
"$root/bench/footprint.sh" "$agent" "$minimal" || status=1
echo
"$bench_dir/vigil-bench-event-path" --benchmark_min_time=0.2 --benchmark_color=false 2>&1 || status=1
echo
"$bench_dir/vigil-bench-volume" --agent "$agent" --seconds "${VOLUME_SECONDS:-600}" || status=1
echo
"$bench_dir/vigil-bench-conn-storm" --agent "$agent" --seconds "${CONN_STORM_SECONDS:-10}" || status=1
echo
if [ -x "$bench_dir/vigil-bench-detect" ]; then
  "$bench_dir/vigil-bench-detect" --benchmark_min_time=0.5 --benchmark_color=false 2>&1 || status=1
else
  echo "detection benchmark: not built (VIGIL_WITH_DETECT is off in this build); skipped"
fi
echo
if [ -x "$bench_dir/vigil-bench-uplink-throughput" ]; then
  "$bench_dir/vigil-bench-uplink-throughput" --events "${UPLINK_EVENTS:-200000}" || status=1
  echo
  "$bench_dir/vigil-bench-uplink-wire-bytes" --agent "$agent" --seconds "${WIRE_SECONDS:-15}" || status=1
else
  echo "uplink benchmarks: not built (VIGIL_WITH_UPLINK is off in this build); skipped"
fi

echo
if [ -x "$bench_dir/vigil-bench-hub-ingest" ]; then
  "$bench_dir/vigil-bench-hub-ingest" --seconds "${HUB_INGEST_SECONDS:-25}" || status=1
  echo
  if [ "${HUB_QUERY_EVENTS:-10000000}" -gt 0 ]; then
    "$bench_dir/vigil-bench-hub-query" --events "${HUB_QUERY_EVENTS:-10000000}" || status=1
  else
    echo "hub query: skipped (HUB_QUERY_EVENTS=0)"
  fi
  echo
  "$bench_dir/vigil-bench-vuln-match" --benchmark_min_time=0.5 --benchmark_color=false 2>&1 || status=1
else
  echo "hub benchmarks: not built (VIGIL_BUILD_HUB is off in this build); skipped"
fi

echo
if "$agent" scan posture --help >/dev/null 2>&1; then
  "$root/bench/posture.sh" "$agent" || status=1
else
  echo "posture benchmark: this agent has no \`scan posture\` (VIGIL_WITH_POSTURE is off); skipped"
fi

echo
echo "benchmarks finished in $(( $(date +%s) - start )) s"
[ $status -eq 0 ] || echo "bench/run.sh: at least one benchmark could not run (see above)"
exit $status
