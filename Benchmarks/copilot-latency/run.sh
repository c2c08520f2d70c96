#!/usr/bin/env bash
# Latency from a final utterance to the workspace event reaching a watcher (the agent's page), with the sample
# call-assist flow (JavaScript code nodes on every customer utterance). usage: Benchmarks/copilot-latency/run.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
count=${1:-200}
work=$(mktemp -d)
trap 'kill ${server:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
bench_build parley
parley=$PWD/$bin/parley
token=c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00
cp -R Flows "$work/"
cat > "$work/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 18084 }
store: "sqlite:parley.sqlite"
flows: Flows
endpoints:
  # A loopback benchmark: the watcher reads the workspace with the URL alone (DESIGN 5.4.1, agentAuth: none).
  - { name: call-assist, type: voiceCopilot, urlToken: $token, flow: call-assist, agentAuth: none }
connections:   # the sample flows name them; nothing in this run calls them
  orders: { type: http, url: "http://127.0.0.1:9/api" }
  assistant: { type: openai, url: "http://127.0.0.1:9/v1" }
YAML
(cd "$work" && exec "$parley" serve --config parley.yaml --log-level error) & server=$!
wait_port 18084
python3 Benchmarks/copilot-latency/latency.py http://127.0.0.1:18084 "$token" "$count" 0.02
