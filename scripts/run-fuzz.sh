#!/bin/sh
# Runs every libFuzzer target in DIR for SECONDS each, starting from its seed corpus
# (tests/fuzz/corpus/<target without fuzz_>/, copied so the repository is not written to).
# A crash, leak or sanitizer report fails the run; the reproducer is kept in build/fuzz/crashes/.
set -u
dir=${1:?usage: run-fuzz.sh DIR SECONDS}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0
failed=0
mkdir -p "$root/build/fuzz/crashes"
for bin in "$dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$root/build/fuzz/crashes/$name-" "$work" >"$work.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$work.log" | tail -1)
    echo "fuzz $name: ok (${runs:-no summary})"
    passed=$((passed + 1))
  else
    echo "fuzz $name: FAILED"
    tail -40 "$work.log"
    failed=$((failed + 1))
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
