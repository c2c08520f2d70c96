#!/usr/bin/env bash
# A message to the REST endpoint `orders-rest` (flow order-status). The answer is synchronous:
# 200 {"text", "data", "outputStack": [...], "userId", "sessionId"}.
#   Samples/curl/rest.sh hi ; Samples/curl/rest.sh AB123456
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9}"   # endpoint `orders-rest`
TEXT="${1:-hi}"
BODY=$(python3 -c 'import json,sys; print(json.dumps({"userId": sys.argv[1], "sessionId": sys.argv[2], "text": sys.argv[3]}))' \
  "${USER_ID:-u1}" "${SESSION_ID:-rest-s1}" "$TEXT")

echo "POST $BASE/$TOKEN  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/$TOKEN" \
  -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
  --data-binary "$BODY"
