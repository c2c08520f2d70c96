#!/usr/bin/env bash
# Admin API: list sessions, show one, and export its transcript (JSON Lines, the format `parley replay` reads).
#   PARLEY_ADMIN_TOKEN=secret Samples/curl/sessions.sh [endpoint] [userId] [sessionId]
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
ENDPOINT="${1:-orders}" USER_ID="${2:-u1}" SESSION_ID="${3:-s1}"
: "${PARLEY_ADMIN_TOKEN:?set PARLEY_ADMIN_TOKEN to the admin token of the server}"
AUTH="Authorization: Bearer $PARLEY_ADMIN_TOKEN"

echo "GET $BASE/api/v1/sessions?endpoint=$ENDPOINT&limit=20"
curl -sS -w '\nHTTP %{http_code}\n' "$BASE/api/v1/sessions?endpoint=$ENDPOINT&limit=20" -H "$AUTH"

echo
echo "GET $BASE/api/v1/sessions/$ENDPOINT/$USER_ID/$SESSION_ID"
curl -sS -w '\nHTTP %{http_code}\n' "$BASE/api/v1/sessions/$ENDPOINT/$USER_ID/$SESSION_ID" -H "$AUTH"

echo
echo "GET $BASE/api/v1/sessions/$ENDPOINT/$USER_ID/$SESSION_ID/transcript"
curl -sS -w 'HTTP %{http_code}\n' "$BASE/api/v1/sessions/$ENDPOINT/$USER_ID/$SESSION_ID/transcript" -H "$AUTH"
