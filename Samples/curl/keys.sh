#!/usr/bin/env bash
# Admin API: create an API key for an endpoint (the key is shown only in this answer), list the keys, revoke it.
# Needs the server's admin token: PARLEY_ADMIN_TOKEN=secret parley serve, then
#   PARLEY_ADMIN_TOKEN=secret Samples/curl/keys.sh [endpoint-name]
# A key only matters on endpoints with `auth: apiKey`; send it as X-Webhook-Key (WEBHOOK_KEY=... message.sh).
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
ENDPOINT="${1:-orders}"
: "${PARLEY_ADMIN_TOKEN:?set PARLEY_ADMIN_TOKEN to the admin token of the server}"
AUTH="Authorization: Bearer $PARLEY_ADMIN_TOKEN"

echo "POST $BASE/api/v1/endpoints/$ENDPOINT/keys"
CREATED=$(curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/api/v1/endpoints/$ENDPOINT/keys" \
  -H "$AUTH" -H 'Content-Type: application/json' --data-binary '{"name": "curl-sample"}')
echo "$CREATED"
ID=$(echo "$CREATED" | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("id", ""))' 2>/dev/null || true)

echo
echo "GET $BASE/api/v1/endpoints/$ENDPOINT/keys"
curl -sS -w '\nHTTP %{http_code}\n' "$BASE/api/v1/endpoints/$ENDPOINT/keys" -H "$AUTH"

if [ -n "$ID" ]; then
  echo
  echo "DELETE $BASE/api/v1/endpoints/$ENDPOINT/keys/$ID"
  curl -sS -w '\nHTTP %{http_code}\n' -X DELETE "$BASE/api/v1/endpoints/$ENDPOINT/keys/$ID" -H "$AUTH"
fi
