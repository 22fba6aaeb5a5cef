#!/bin/sh
# Footprint: the agent's memory when idle and the size of its binaries.
#
# TARGETS
#   RSS after 60 s idle (VmRSS), release and minimal agent  <= 4 MB   (4,096 kB)
#   stripped size of the release agent                       <= 1.5 MB (1,572,864 bytes)
#   stripped size of the minimal agent                       <= 600 KB (614,400 bytes)
# libc, libm, libstdc++, libgcc_s and the dynamic loader are not counted (a device has them);
# every other shared library the binary needs is listed with its size, with the total a
# device would have to carry. Both agents link libstdc++ in (VIGIL_STATIC_LIBSTDCXX):
# the bytes that came from libstdc++ and libgcc, summed from the link map beside the binary
# (vigil-agent.map, by libstdcxx_bytes.awk), are left out of their size targets likewise.
# REFERENCE printed beside: the peers' published figures (osquery, Falco, Wazuh agent).
#
# The agent runs with its default configuration except for the output (a temp JSON Lines
# file) and the state dir (a temp dir), from a config file given with -c, so /etc/vigil is
# not read. The minimal agent, when built, is measured alongside.
# RSS is VmRSS from /proc/PID/status; RssAnon, RssFile and VmHWM are shown too.
#
# Usage: bench/footprint.sh [RELEASE_AGENT [MINIMAL_AGENT]]
#   defaults build/bin/vigil-agent and build/minimal/bin/vigil-agent;
#   IDLE_SECONDS (default 60) sets the idle time.
# Exit status: 0 when it ran, whatever the figures; 1 when it could not run.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
release=${1:-$root/build/bin/vigil-agent}
minimal=${2:-$root/build/minimal/bin/vigil-agent}
idle=${IDLE_SECONDS:-60}

if [ ! -x "$release" ]; then
  echo "footprint: $release is missing (build it with \`make bench\`)" >&2
  exit 1
fi
for tool in strip ldd; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "footprint: $tool is missing (\`scripts/deps.sh bench\` installs binutils)" >&2
    exit 1
  fi
done

tmp=$(mktemp -d /tmp/vigil-footprint.XXXXXX)
pids=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME BINARY: runs the agent in the background; its pid goes to $tmp/NAME.pid.
start() {
  mkdir -p "$tmp/$1/state"
  cat > "$tmp/$1/agent.yml" <<YAML
agent:
  state_dir: "$tmp/$1/state"
output:
  target: "jsonl:$tmp/$1/events.jsonl"
YAML
  "$2" run -c "$tmp/$1/agent.yml" > "$tmp/$1/agent.log" 2>&1 &
  echo $! > "$tmp/$1.pid"
  pids="$pids $!"
}

# ready NAME: waits up to 30 s for the agent to say it is running.
ready() {
  i=0
  while [ $i -lt 300 ]; do
    grep -q "running as device" "$tmp/$1/agent.log" 2>/dev/null && return 0
    kill -0 "$(cat "$tmp/$1.pid")" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  echo "footprint: the $1 agent did not start:" >&2
  tail -n 5 "$tmp/$1/agent.log" >&2
  return 1
}

# kb PID KEY [FILE]: a "Key:  123 kB" line of /proc/PID/FILE (default status), in kB.
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/${3:-status}" 2>/dev/null || true; }

# mib KB: kB as MB with one decimal.
mib() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }

# verdict VALUE LIMIT
verdict() { if [ "$1" -le "$2" ]; then echo PASS; else echo MISS; fi; }

echo "== Footprint"
have_minimal=0
[ -x "$minimal" ] && have_minimal=1
start release "$release"
[ $have_minimal -eq 1 ] && start minimal "$minimal"
ready release
[ $have_minimal -eq 1 ] && ready minimal
echo "   agents started with the default configuration (output and state in $tmp); idle for $idle s ..."
sleep "$idle"

release_pid=$(cat "$tmp/release.pid")
if ! kill -0 "$release_pid" 2>/dev/null; then
  echo "footprint: the release agent exited while idle:" >&2
  tail -n 5 "$tmp/release/agent.log" >&2
  exit 1
fi
echo
echo "  memory after $idle s idle     VmRSS      RssAnon    RssFile    Pss        VmHWM"
for name in release minimal; do
  [ -f "$tmp/$name.pid" ] || continue
  p=$(cat "$tmp/$name.pid")
  v=$(kb "$p" VmRSS)
  [ "$name" = release ] && rss=$v
  [ "$name" = minimal ] && minimal_rss=$v
  printf "  %-24s %7s kB %7s kB %7s kB %7s kB %7s kB\n" "$name agent" "$v" "$(kb "$p" RssAnon)" \
    "$(kb "$p" RssFile)" "$(kb "$p" Pss smaps_rollup)" "$(kb "$p" VmHWM)"
done
echo "    (RssFile: pages of the binary and shared libraries, shared with other processes using them;"
echo "     Pss divides shared pages among their users)"
grep -h "collector .*: \(started\|off\|not available\)" "$tmp"/release/agent.log | sed 's/^[^ ]* [a-z]* /    release: /'

echo
echo "  binary sizes (strip -o COPY)        stripped      unstripped"
release_size=0
minimal_size=0
for name in release minimal; do
  if [ "$name" = release ]; then bin=$release; else bin=$minimal; fi
  if [ ! -x "$bin" ]; then
    printf "  %-32s missing (%s; \`make bench\` builds it)\n" "$name agent" "$bin"
    continue
  fi
  strip -o "$tmp/$name.stripped" "$bin"
  s=$(stat -c %s "$tmp/$name.stripped")
  u=$(stat -c %s "$bin")
  printf "  %-32s %10s B  %10s B\n" "$name agent" "$s" "$u"
  map=$bin.map
  if [ -f "$map" ] && ! ldd "$bin" | grep -q 'libstdc++'; then  # libstdc++ linked in
    cxx=$(awk -f "$root/bench/libstdcxx_bytes.awk" "$map")
    s=$((s - cxx))
    printf "    of which libstdc++ and libgcc (linked in; from %s): %s B; counted: %s B\n" "$map" "$cxx" "$s"
  fi
  [ "$name" = release ] && release_size=$s
  [ "$name" = minimal ] && minimal_size=$s
  # Shared libraries beyond libc, libm, libstdc++, libgcc_s and the loader.
  extra_total=0
  extra=$(ldd "$bin" | awk '
    /linux-vdso|linux-gate|ld-linux|ld-musl|\/ld64|libc\.so|libm\.so|libstdc\+\+|libgcc_s/ { next }
    $2 == "=>" && $3 == "not" { print $1 " NOTFOUND"; next }
    $2 == "=>" { print $1 " " $3 }')
  if [ -z "$extra" ]; then
    echo "    needs no other shared library"
  else
    echo "    also needs (beyond libc, libm, libstdc++, libgcc_s):"
    while read -r lib path; do
      if [ "$path" = NOTFOUND ]; then
        printf "      %-28s not found\n" "$lib"
        continue
      fi
      real=$(readlink -f "$path")
      ls=$(stat -c %s "$real")
      extra_total=$((extra_total + ls))
      pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
      [ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
      printf "      %-28s %10s B  %s%s\n" "$lib" "$ls" "$real" "${pkg:+ (Debian package $pkg)}"
    done <<EOF
$extra
EOF
    printf "    binary + those libraries: %s B\n" "$((s + extra_total))"
  fi
done

echo
echo "  reference (peers' published figures)"
echo "    osquery      watchdog default memory limit 200 MB (and 10 % CPU over 12 s)"
echo "    Falco        38 MB RSS in its own benchmark (4,400 events/s); 698 MB RSS seen on a large host"
echo "    Wazuh agent  about 35 MB RSS, as claimed"

echo
printf "  %-46s %-28s %s\n" "target" "measured" "verdict"
printf "  %-46s %-28s %s\n" "release agent RSS after ${idle} s idle <= 4 MB" "$rss kB ($(mib "$rss") MB)" \
  "$(verdict "$rss" 4096)"
if [ -n "${minimal_rss:-}" ]; then
  printf "  %-46s %-28s %s\n" "minimal agent RSS after ${idle} s idle <= 4 MB" \
    "$minimal_rss kB ($(mib "$minimal_rss") MB)" "$(verdict "$minimal_rss" 4096)"
fi
if [ "$release_size" -gt 0 ]; then
  printf "  %-46s %-28s %s\n" "release agent stripped <= 1.5 MB" "$release_size B" \
    "$(verdict "$release_size" 1572864)"
fi
if [ "$minimal_size" -gt 0 ]; then
  printf "  %-46s %-28s %s\n" "minimal agent stripped <= 600 KB" "$minimal_size B" "$(verdict "$minimal_size" 614400)"
else
  printf "  %-46s %-28s %s\n" "minimal agent stripped <= 600 KB" "not built" "NOT MEASURED"
fi
[ "$idle" -ne 60 ] && echo "  note: idle for $idle s, not the 60 s the target names"
exit 0
