#!/usr/bin/env bash
# Voice copilot endpoint `call-assist`: one utterance in the normalized form, then the same utterance as a
# jambonz transcription hook (Samples/requests/voice-*.json). Answer: 202 {"traceId"} for each; the agent
# workspace is at $BASE/copilot/?userId=...&sessionId=...&URLToken=$TOKEN.
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00}"   # endpoint `call-assist`
REQUESTS="$(cd "$(dirname "$0")/../requests" && pwd)"

for file in voice-normalized.json voice-jambonz.json; do
  echo "POST $BASE/$TOKEN  @requests/$file"
  curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/$TOKEN" \
    -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
    --data-binary "@$REQUESTS/$file"
  echo
done
