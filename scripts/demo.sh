#!/bin/sh
# make demo: runs the release agent on this machine and prints its events live, readably.
# Stop with Ctrl-C (the agent flushes what it holds and exits).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build/demo/state"
cat > "$root/build/demo/agent.yml" <<YAML
# The demo's configuration: short intervals so that aggregated events show up quickly.
agent:
  state_dir: $root/build/demo/state
priorities:
  medium_interval: 10s
  low_interval: 1m
stats:
  interval: 30s
YAML
echo "Vigil agent demo: events from this machine, live. Start some programs in another"
echo "terminal to see them; identical ones are counted (x3) every 10 s. Ctrl-C stops."
echo
exec "$root/build/bin/vigil-agent" run --config "$root/build/demo/agent.yml" --output pretty
