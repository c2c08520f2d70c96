#!/usr/bin/env bash
# A user message with text to the webhook endpoint `orders` (flow faq). Answer: 202 {"traceId"};
# the bot's answers arrive at the webhook receiver (Samples/receiver.py).
#   Samples/curl/message.sh "where is my parcel?"      USER_ID=ada SESSION_ID=s2 Samples/curl/message.sh hi
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6}"   # endpoint `orders`
TEXT="${1:-hi}"
BODY=$(python3 -c 'import json,sys; print(json.dumps({"userId": sys.argv[1], "sessionId": sys.argv[2], "text": sys.argv[3]}))' \
  "${USER_ID:-u1}" "${SESSION_ID:-s1}" "$TEXT")

echo "POST $BASE/$TOKEN  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/$TOKEN" \
  -H 'Content-Type: application/json' ${WEBHOOK_KEY:+-H "X-Webhook-Key: $WEBHOOK_KEY"} \
  --data-binary "$BODY"
