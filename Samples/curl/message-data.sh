#!/usr/bin/env bash
# A data-only message (no text) to the webhook endpoint `orders`, e.g. a button payload. The flow sees
# input.text = "" and input.data. Answer: 202 {"traceId"}.
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6}"   # endpoint `orders`
BODY='{"userId": "'"${USER_ID:-u1}"'", "sessionId": "'"${SESSION_ID:-s1}"'", "data": {"action": "track", "orderId": "AB123456"}}'

echo "POST $BASE/$TOKEN  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/$TOKEN" \
  -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
  --data-binary "$BODY"
