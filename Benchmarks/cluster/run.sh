#!/usr/bin/env bash
# Webhook accept rate and end-to-end rate (accepted -> turn committed -> delivered) with 1, 2 and 3 `parley serve`
# instances on one PostgreSQL, next to one instance on SQLite, all in the same run; then the SQLite store's size
# over a steady run with retention on and off.
#
# usage: Benchmarks/cluster/run.sh [DURATION=10s] [STEADY_SECONDS=120]
#
# PostgreSQL is a throwaway cluster (scripts/postgres) started here with fsync on, so a 202 means the same on both
# stores: the input is on disk. wrk runs one process per instance (64 connections split between them), each
# against its own instance, as a round-robin load balancer would spread them.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
duration=${1:-10s}
steady=${2:-120}
need_wrk
work=$(mktemp -d)
pids=""
receiver_pid=""
pgdir=""
cleanup() {
  kill ${pids:-} ${receiver_pid:-} 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "$pgdir" ] || scripts/postgres stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT

bench_build parley
parley="$PWD/$bin/parley"
PARLEY_POSTGRES_DURABLE=1 scripts/postgres start > "$work/pg.env"
# shellcheck disable=SC1091
source "$work/pg.env"
pgdir="$PARLEY_TEST_POSTGRES_DIR"

token=5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6
receiver_port=18190
python3 -c '
import http.server, threading
count = 0
lock = threading.Lock()
class R(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock: count += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", '"$receiver_port"'), R).serve_forever()' & receiver_pid=$!

wait_port $receiver_port
delivered() { curl -s "http://127.0.0.1:$receiver_port/"; }

deploy() {  # folder store [retention]
  mkdir -p "$1"
  printf 'flow: echo\nnodes:\n  say: { say: "echo: {{input.text}}" }\n' > "$1/echo.yaml"
  cat > "$1/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 0 }
store: "$2"
flows: echo.yaml
cluster: { pollMilliseconds: 250 }
${3:-}
endpoints:
  - { name: load, type: webhook, urlToken: $token, flow: echo, webhook: { url: "http://127.0.0.1:$receiver_port/hook" } }
YAML
}

start_instance() {  # folder; sets started_port (not in a subshell, so pids keeps the process)
  local log="$1/serve-$RANDOM.log"
  (cd "$1" && exec "$parley" serve --config parley.yaml --log-level notice) 2> "$log" & pids="$pids $!"
  for _ in $(seq 200); do
    if grep -q "on http://127.0.0.1:" "$log"; then
      started_port=$(grep -o "on http://127.0.0.1:[0-9]*" "$log" | head -1 | sed 's/.*://')
      return 0
    fi
    sleep 0.1
  done
  cat "$log" >&2
  return 1
}

stop_all() { kill $pids 2>/dev/null || true; wait $pids 2>/dev/null || true; pids=""; }

# One measurement: N instances on STORE; prints "accepted/s e2e/s".
measure() {  # label instances store
  local folder="$work/$1"
  deploy "$folder" "$3"
  local ports=()
  for _ in $(seq "$2"); do
    start_instance "$folder"
    ports+=("$started_port")
  done
  local before
  before=$(delivered)
  local connections=$((64 / $2))
  local started
  started=$(date +%s.%N)
  local wrks=""
  for port in "${ports[@]}"; do
    wrk -t1 -c"$connections" -d"$duration" -s Benchmarks/webhook-load/post.lua "http://127.0.0.1:$port/$token" > "$folder/wrk-$port.txt" & wrks="$wrks $!"
  done
  wait $wrks
  local accepted=0
  for port in "${ports[@]}"; do
    local count
    count=$(grep -E "requests in" "$folder/wrk-$port.txt" | awk '{print $1}')
    accepted=$((accepted + count))
  done
  # End to end: until every accepted input's output reached the receiver (each turn sends one message).
  local target=$((before + accepted))
  for _ in $(seq 1200); do
    [ "$(delivered)" -ge "$target" ] && break
    sleep 0.1
  done
  local finished
  finished=$(date +%s.%N)
  local got=$(( $(delivered) - before ))
  local seconds=${duration%s}
  awk -v l="$1" -v a="$accepted" -v s="$seconds" -v g="$got" -v t0="$started" -v t1="$finished" \
    'BEGIN { printf "%-28s accepted %7d  accept rate %8.1f/s  delivered %7d  end-to-end rate %8.1f/s\n", l, a, a / s, g, g / (t1 - t0) }'
  stop_all
}

echo "--- webhook accept and end-to-end rates, $duration of wrk at 64 connections in all"
measure "sqlite, 1 instance" 1 "sqlite:parley.sqlite"
for n in 1 2 3; do
  measure "postgres, $n instance(s)" "$n" "$PARLEY_TEST_POSTGRES_URL&schema=bench_$n&pool=8"
done

echo "--- SQLite store size over ${steady}s of steady traffic (wrk, 4 connections)"
for mode in off on; do
  folder="$work/steady-$mode"
  if [ "$mode" = on ]; then
    retention="retention: { transcriptsDays: 0, deliveredDays: 0, inboxDays: 0, deadDays: 0, sessionsDays: 0, intervalSeconds: 5, batchSize: 500 }"
  else
    retention=""
  fi
  deploy "$folder" "sqlite:parley.sqlite" "$retention"
  start_instance "$folder"
  port=$started_port
  wrk -t1 -c4 -d"${steady}s" -s Benchmarks/webhook-load/post.lua "http://127.0.0.1:$port/$token" > "$folder/wrk.txt" &
  load=$!
  sizes=""
  for _ in $(seq $((steady / 20))); do
    sleep 20
    size=$(( $(stat -c %s "$folder/parley.sqlite" 2>/dev/null || echo 0) + $(stat -c %s "$folder/parley.sqlite-wal" 2>/dev/null || echo 0) ))
    sizes="$sizes $((size / 1024))"
  done
  wait $load
  requests=$(grep -E "requests in" "$folder/wrk.txt" | awk '{print $1}')
  echo "retention $mode: $requests requests; database + WAL size in KiB every 20 s:$sizes"
  stop_all
done
