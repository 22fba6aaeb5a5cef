#!/bin/sh
# Runs every libFuzzer target in DIR for SECONDS each, starting from its seed corpus
# (tests/fuzz/corpus/<target without fuzz_>/, copied so the repository is not written to),
# as many at once as there are cores (JOBS to change). A crash, leak or sanitizer report
# fails the run; the reproducer is kept in build/fuzz/crashes/.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)

# One target: `run-fuzz.sh --one BIN SECONDS`; prints one result line (and the log on failure).
if [ "${1:-}" = "--one" ]; then
  bin=$2
  seconds=$3
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$root/build/fuzz/crashes/$name-" "$work" >"$work.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$work.log" | tail -1)
    echo "fuzz $name: ok (${runs:-no summary})"
    status=0
  else
    { echo "fuzz $name: FAILED"; tail -40 "$work.log"; } | sed "s|^|[$name] |"
    status=1
  fi
  rm -rf "$work" "$work.log"
  exit $status
fi

dir=${1:?usage: run-fuzz.sh DIR [SECONDS]}
seconds=${2:-20}
jobs=${JOBS:-$(nproc)}
mkdir -p "$root/build/fuzz/crashes"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] && echo "$bin"
done | xargs -r -P "$jobs" -I{} sh -c '"$0" --one "$1" "$2" || echo failed >>"$3"' \
  "$0" {} "$seconds" "$results" | tee -a "$results"
passed=$(grep -c ': ok (' "$results")
failed=$(grep -c '^failed$' "$results")
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
