#!/usr/bin/env bash
# Start-up to first answer, idle resident memory, and memory with many stored sessions: `parley serve` with a REST
# endpoint on SQLite, next to the bare Hummingbird JSON endpoint (../shared/bench/hbserver) measured in the same run.
# About SESSIONS conversations are stored through the REST endpoint (every 200 is a committed turn, counted by
# /metrics), then the server is restarted over that store and measured again.
# usage: Benchmarks/footprint/run.sh [SESSIONS=100000] [STARTS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
sessions=${1:-100000}
starts=${2:-5}
need_wrk
work=$(mktemp -d)
server=""
load=""
cleanup() { kill $server $load 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
bench_build parley
parley=$PWD/$bin/parley
token=0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6
body='{"userId":"u","sessionId":"probe","text":"joke"}'
mkdir -p "$work/deploy"
printf 'flow: joke\nnodes:\n  joke: { say: "Why do programmers prefer dark mode? Because light attracts bugs." }\n' > "$work/deploy/joke.yaml"
cat > "$work/deploy/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 18282 }
store: "sqlite:parley.sqlite"
flows: joke.yaml
endpoints:
  - { name: jokes, type: rest, urlToken: $token, flow: joke }
YAML
field() { grep -o "$1=[0-9]*" | cut -d= -f2; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stop() { kill "$server" 2>/dev/null || true; while kill -0 "$server" 2>/dev/null; do sleep 0.05; done; server=""; }
# measure LABEL URL CWD COMMAND...: STARTS start-ups, median start-up and idle RSS; the last one keeps running.
measure() {
  local label=$1 url=$2 cwd=$3; shift 3
  local i line
  : > "$work/$label.txt"
  for i in $(seq "$starts"); do
    line=$(python3 Benchmarks/footprint/footprint.py start "$url" "$body" "$cwd" "$@")
    echo "$line" >> "$work/$label.txt"
    server=$(echo "$line" | field pid)
    [ "$i" = "$starts" ] || stop
  done
  startup_median=$(field startup_ms < "$work/$label.txt" | median)
  rss_median=$(field idle_rss_kib < "$work/$label.txt" | median)
  printf '%s: start-up to first answer %s ms, idle RSS %s MiB (median of %s starts)\n' "$label" \
    "$startup_median" "$(awk -v k="$rss_median" 'BEGIN {printf "%.1f", k / 1024}')" "$starts"
}

if ! skip_baseline "bare Hummingbird"; then
  hbserver=$(hbserver_build)
  measure "bare Hummingbird" http://127.0.0.1:18281/endpoint/tok "$work" env PORT=18281 "$hbserver"
  base_startup=$startup_median base_rss=$rss_median
  stop
fi

measure "parley serve, empty store" "http://127.0.0.1:18282/$token" "$work/deploy" "$parley" serve --config parley.yaml --log-level error
empty_startup=$startup_median empty_rss=$rss_median
# wrk sends until the server has answered SESSIONS requests with 200 (its /metrics), then it is stopped.
answered() {
  curl -s http://127.0.0.1:18282/metrics |
    awk '/^parley_requests_total\{endpoint="jokes",status="200"\}/ { n = $2 } END { print n + 0 }'
}
loading_started=$(date +%s.%N)
wrk -t2 -c64 -d3600s -s Benchmarks/footprint/sessions.lua "http://127.0.0.1:18282/$token" > /dev/null & load=$!
while [ "$(answered)" -lt "$sessions" ]; do
  kill -0 "$server"  # the server survives the load
  sleep 0.2
done
kill "$load"; wait "$load" 2>/dev/null || true; load=""
stored=$(answered)  # wrk's conversations, and the start-up probes' one (this process answered one of them)
after=$(rss_kib "$server")
awk -v n="$stored" -v k="$after" -v s="$loading_started" -v e="$(date +%s.%N)" 'BEGIN {
  printf "after storing %d conversations through the REST endpoint: RSS %.1f MiB, %.0f answers/s\n", n, k / 1024, n / (e - s)
}'
stop
size=$(( $(stat -c %s "$work/deploy/parley.sqlite") + $(stat -c %s "$work/deploy/parley.sqlite-wal" 2>/dev/null || echo 0) ))
echo "store: $(awk -v b="$size" 'BEGIN {printf "%.1f", b / 1048576}') MiB (database + WAL)"
measure "parley serve, $stored stored conversations" "http://127.0.0.1:18282/$token" "$work/deploy" "$parley" serve --config parley.yaml --log-level error
stop
awk -v a="$rss_median" -v e="$empty_rss" 'BEGIN { printf "ratio idle RSS, stored conversations / empty store: %.2f\n", a / e }'
if [ -n "${base_rss:-}" ]; then
  awk -v e="$empty_rss" -v b="$base_rss" -v s="$empty_startup" -v t="$base_startup" 'BEGIN {
    printf "ratio idle RSS, parley / bare Hummingbird: %.2f\n", e / b
    printf "ratio start-up to first answer, parley / bare Hummingbird: %.2f\n", s / t
  }'
fi
