#!/usr/bin/env bash
# Notify: sends text/data straight to the user's webhook without running the flow (the session does not change).
# Answer: 202 {"traceId"}; the receiver prints one AIOutput with this text.
# An agent-side route (DESIGN 5.4.1): it needs PARLEY_ADMIN_TOKEN (the server's admin token) or WEBHOOK_KEY (a key
# of the endpoint, `parley keys create --endpoint orders`); the URL alone answers 401 missing_access.
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6}"   # endpoint `orders`
TEXT="${1:-Your parcel AB123456 has shipped.}"
BODY=$(python3 -c 'import json,sys; print(json.dumps({"userId": sys.argv[1], "sessionId": sys.argv[2], "text": sys.argv[3], "data": {"orderId": "AB123456", "status": "shipped"}}))' \
  "${USER_ID:-u1}" "${SESSION_ID:-s1}" "$TEXT")

echo "POST $BASE/notify/$TOKEN  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/notify/$TOKEN" \
  -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
  ${PARLEY_ADMIN_TOKEN:+-H "Authorization: Bearer $PARLEY_ADMIN_TOKEN"} \
  --data-binary "$BODY"
