#!/usr/bin/env bash
# The cost of an http node's call over a bare AsyncHTTPClient request to the same loopback server (the bare
# Hummingbird baseline of ../shared/bench/hbserver), in alternating rounds of one run. The short form calls a
# Python loopback server instead (answering as hbserver does, {"echo": text}), so it needs no second package build.
# usage: Benchmarks/effect-calls/run.sh [CALLS_PER_ROUND=500] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
trap 'kill ${server:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
bench_build parley-effect-bench
if [ "$short" = 1 ]; then
  python3 -c '
import http.server, json
class R(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        text = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))).get("text", "")
        body = json.dumps({"echo": text}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.send_header("Content-Type", "application/json"); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", 18090), R).serve_forever()' & server=$!
else
  hbserver=$(hbserver_build)
  PORT=18090 "$hbserver" & server=$!
fi
wait_port 18090
"$bin/parley-effect-bench" http://127.0.0.1:18090 "${1:-500}" "${2:-5}"
