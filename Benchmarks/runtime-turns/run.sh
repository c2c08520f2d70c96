#!/usr/bin/env bash
# Committed turns per second through the runtime on SQLite, next to bare SQLite commits (one INSERT per
# transaction, same WAL and synchronous=FULL settings) measured in the same run; and the database size per
# 10,000 sessions. usage: Benchmarks/runtime-turns/run.sh [SESSIONS=10000]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
sessions=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_build parley-runtime-bench
bare=$(python3 Benchmarks/runtime-turns/bare_sqlite.py "$work/bare" 20000)
parley=$("$bin/parley-runtime-bench" "$work/parley" "$sessions")
echo "$bare"
echo "$parley"
b=$(echo "$bare" | grep -o 'commits/s=[0-9]*' | cut -d= -f2)
t=$(echo "$parley" | grep -o 'committed turns/s=[0-9]*' | cut -d= -f2)
a=$(echo "$parley" | grep -o 'accepted inputs/s=[0-9]*' | cut -d= -f2)
awk -v t="$t" -v a="$a" -v b="$b" 'BEGIN {
  printf "ratio committed turns / bare commits: %.2f\n", t / b
  printf "ratio accepted inputs / bare commits: %.2f\n", a / b
}'
