#!/usr/bin/env bash
# Operations: liveness, readiness (with the loaded flow set's hash) and the Prometheus metrics.
set -uo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"

for path in /health /ready /metrics; do
  echo "GET $BASE$path"
  curl -sS -w '\nHTTP %{http_code}\n' "$BASE$path"
  echo
done
