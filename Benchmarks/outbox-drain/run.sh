#!/usr/bin/env bash
# The outbox drain rate against the backlog (issue 25), through the store calls of the delivery loop on SQLite: a
# small backlog and one ten times larger, measured in the same run, both behind a paused endpoint and on the
# endpoint being drained. A rate that holds (ratios near 1) means finding and claiming the next messages does not
# grow with what waits. usage: Benchmarks/outbox-drain/run.sh [BACKLOG=20000] [LIVE=5000]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
backlog=${1:-20000}
live=${2:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_build parley-outbox-bench
rate() { echo "$1" | grep -o 'delivered/s=[0-9]*' | cut -d= -f2; }
for mode in paused live; do
  small=$("$bin/parley-outbox-bench" "$work" "$backlog" "$live" "$mode")
  large=$("$bin/parley-outbox-bench" "$work" "$((backlog * 10))" "$live" "$mode")
  echo "$small"
  echo "$large"
  awk -v s="$(rate "$small")" -v l="$(rate "$large")" -v m="$mode" \
    'BEGIN { printf "ratio drain rate, 10x backlog / 1x (%s): %.2f\n", m, l / s }'
done
