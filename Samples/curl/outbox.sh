#!/usr/bin/env bash
# Admin API: list the outbox (default: dead letters) and re-drive dead letters.
#   PARLEY_ADMIN_TOKEN=secret Samples/curl/outbox.sh            # list dead letters, retry all of them
#   PARLEY_ADMIN_TOKEN=secret STATUS=pending Samples/curl/outbox.sh 42 43   # list pending, retry ids 42 and 43
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
STATUS="${STATUS:-dead}"
: "${PARLEY_ADMIN_TOKEN:?set PARLEY_ADMIN_TOKEN to the admin token of the server}"
AUTH="Authorization: Bearer $PARLEY_ADMIN_TOKEN"

echo "GET $BASE/api/v1/outbox?status=$STATUS&limit=50"
curl -sS -w '\nHTTP %{http_code}\n' "$BASE/api/v1/outbox?status=$STATUS&limit=50" -H "$AUTH"

if [ $# -gt 0 ]; then BODY="{\"ids\": [$(IFS=,; echo "$*")]}"; else BODY='{}'; fi
echo
echo "POST $BASE/api/v1/outbox/retry  $BODY"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/api/v1/outbox/retry" \
  -H "$AUTH" -H 'Content-Type: application/json' --data-binary "$BODY"
