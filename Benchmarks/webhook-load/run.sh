#!/usr/bin/env bash
# Requests per second accepted by the webhook endpoint, next to a bare Hummingbird JSON endpoint
# (../shared/bench/hbserver) built and measured in the same run with the same wrk settings; then the
# accept-to-delivered latency with a local receiver.
# usage: Benchmarks/webhook-load/run.sh [DURATION=10s] [LATENCY_MESSAGES=500]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
duration=${1:-10s}
messages=${2:-500}
need_wrk
work=$(mktemp -d)
cleanup() { kill ${pids:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
pids=""

bench_build parley
parley_binary=$PWD/$bin/parley

token=5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6
write_config() {  # port receiver_port
  mkdir -p "$work/deploy"
  cp -R Flows "$work/deploy/" 2>/dev/null || true
  cat > "$work/deploy/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: $1 }
store: "sqlite:parley.sqlite"
flows: Flows
endpoints:
  - { name: orders, type: webhook, urlToken: $token, flow: order-status, webhook: { url: "http://127.0.0.1:$2/hook" } }
connections:   # the sample flows name them; nothing in this run calls them
  orders: { type: http, url: "http://127.0.0.1:9/api" }
  assistant: { type: openai, url: "http://127.0.0.1:9/v1" }
YAML
}

# 1. Baseline: the bare Hummingbird endpoint (built in its own folder, outside this package).
if ! skip_baseline "bare Hummingbird"; then
  hbserver=$(hbserver_build)
  PORT=18081 "$hbserver" & pids="$pids $!"
  wait_port 18081
  baseline=$(wrk -t2 -c64 -d"$duration" --latency -s ../shared/bench/post.lua http://127.0.0.1:18081/endpoint/tok | tee "$work/baseline.txt" | grep 'Requests/sec' | awk '{print $2}')
  kill $pids; wait 2>/dev/null || true; pids=""
fi

# 2. Parley's webhook endpoint, answers delivered to a receiver that answers 200.
python3 -c '
import http.server, sys
class R(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0))); self.send_response(200); self.send_header("Content-Length","0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 18090), R).serve_forever()' & pids="$pids $!"
write_config 18082 18090
(cd "$work/deploy" && exec "$parley_binary" serve --config parley.yaml --log-level error) & pids="$pids $!"
wait_port 18082
parley=$(wrk -t2 -c64 -d"$duration" --latency -s Benchmarks/webhook-load/post.lua "http://127.0.0.1:18082/$token" | tee "$work/parley.txt" | grep 'Requests/sec' | awk '{print $2}')
kill -0 $pids  # the server survived the load
kill $pids; wait 2>/dev/null || true; pids=""

if [ -n "${baseline:-}" ]; then
  echo "--- bare Hummingbird JSON endpoint (baseline)"; grep -E 'Requests/sec|50%|99%' "$work/baseline.txt"
fi
echo "--- parley webhook endpoint (stored durably before 202)"; grep -E 'Requests/sec|50%|99%|Non-2xx' "$work/parley.txt" || true
if [ -n "${baseline:-}" ]; then
  awk -v p="$parley" -v b="$baseline" 'BEGIN { printf "ratio parley accepted / bare Hummingbird: %.2f\n", p / b }'
fi

# 3. Accept-to-delivered latency, 500 messages at 100/s, each its own session.
rm -rf "$work/deploy"
write_config 18083 18091
(cd "$work/deploy" && exec "$parley_binary" serve --config parley.yaml --log-level error) & pids="$pids $!"
wait_port 18083
python3 Benchmarks/webhook-load/latency.py http://127.0.0.1:18083 "$token" 18091 "$messages" 0.01
