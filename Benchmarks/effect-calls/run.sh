#!/usr/bin/env bash
# The cost of an http node's call over a bare AsyncHTTPClient request to the same loopback server (the bare
# Hummingbird baseline of ../shared/bench/hbserver), in alternating rounds of one run.
# usage: Benchmarks/effect-calls/run.sh [CALLS_PER_ROUND=500] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'kill ${server:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
swift build -c release --product parley-effect-bench >/dev/null
mkdir -p .build-hbserver
cp -R ../shared/bench/hbserver/. .build-hbserver/ 2>/dev/null || true
(cd .build-hbserver && swift build -c release >/dev/null)
PORT=18090 .build-hbserver/.build/release/HBServer & server=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/18090) 2>/dev/null && break; sleep 0.1; done
.build/release/parley-effect-bench http://127.0.0.1:18090 "${1:-500}" "${2:-5}"
