#!/bin/sh
# The agent and the hub compile fmt without float, long double and 128-bit integer support
# (cmake/VigilDependencies.cmake), and fmt prints such an argument as nothing. This fails if one
# of those types appears in a C++ source outside a comment line, so none can reach a log call.
# Usage: tests/no_unformattable_types.sh [SOURCE_ROOT]
set -eu
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
hits=$(find "$root" \( -path "$root/build" -o -name node_modules -o -name .git \) -prune -o \( -name '*.cpp' -o -name '*.h' \) -print |
  xargs grep -nwE 'float|long double|__int128|__uint128_t|__int128_t' |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*(//|\*)' || true)
if [ -n "$hits" ]; then
  echo "fmt is compiled without float, long double and 128-bit integers (cmake/VigilDependencies.cmake):"
  echo "use double or a 64-bit integer instead of:"
  echo "$hits"
  exit 1
fi
echo "no float, long double or 128-bit integer in the C++ sources under $root"
