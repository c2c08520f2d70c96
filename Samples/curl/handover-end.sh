#!/usr/bin/env bash
# Handover, agent side: ends the handover; the flow resumes after the handover node with
# input.handover.status set. Status: completed (default), cancelled or error. Answer: 202 {"traceId"}.
#   Samples/curl/handover-end.sh cancelled
# An agent-side route (DESIGN 5.4.1): it needs PARLEY_ADMIN_TOKEN (the server's admin token) or WEBHOOK_KEY (a key
# of the endpoint, `parley keys create --endpoint orders`); the URL alone answers 401 missing_access.
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6}"   # endpoint `orders`
BODY='{"userId": "'"${USER_ID:-u1}"'", "sessionId": "'"${SESSION_ID:-s1}"'", "status": "'"${1:-completed}"'"}'

echo "POST $BASE/handover/$TOKEN/end  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/handover/$TOKEN/end" \
  -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
  ${PARLEY_ADMIN_TOKEN:+-H "Authorization: Bearer $PARLEY_ADMIN_TOKEN"} \
  --data-binary "$BODY"
