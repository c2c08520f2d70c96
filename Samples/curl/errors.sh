#!/usr/bin/env bash
# One request per error code of the Endpoint URL (docs/openapi.yaml). Every answer is
# {"error": {"code", "message"}}; a rejected request changes nothing and delivers nothing.
set -uo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6}"   # endpoint `orders`
URL="$BASE/$TOKEN"
JSON='Content-Type: application/json'

try() {  # try "expected" curl-args...
  echo "== expect $1"
  shift
  curl -sS -w '\nHTTP %{http_code}\n' "$@"
  echo
}

try "400 invalid_json" -X POST "$URL" -H "$JSON" --data-binary '{"userId": "u1", "sessionId": '
try "400 invalid_field (userId)" -X POST "$URL" -H "$JSON" --data-binary '{"sessionId": "s1", "text": "hi"}'
try "400 invalid_field (text longer than 10,000 characters)" -X POST "$URL" -H "$JSON" \
  --data-binary "{\"userId\": \"u1\", \"sessionId\": \"s1\", \"text\": \"$(head -c 10001 /dev/zero | tr '\0' x)\"}"
try "400 missing_text_or_data" -X POST "$URL" -H "$JSON" --data-binary '{"userId": "u1", "sessionId": "s1"}'
try "401 missing_access (an agent-side route without the agent's credential)" -X POST "$BASE/handover/$TOKEN/end" -H "$JSON" \
  --data-binary '{"userId": "u1", "sessionId": "s1", "status": "done"}'
try "415 unsupported_media_type" -X POST "$URL" -H 'Content-Type: text/plain' --data-binary 'hi'
try "404 unknown_endpoint" -X POST "$BASE/$(printf '0%.0s' {1..64})" -H "$JSON" \
  --data-binary '{"userId": "u1", "sessionId": "s1", "text": "hi"}'
try "405 method_not_allowed (with Allow: POST)" -i "$URL"
echo "== expect 413 body_too_large (a body over server.maxBodyBytes, 1 MiB)"
{ printf '{"userId": "u1", "sessionId": "s1", "text": "'; head -c 1100000 /dev/zero | tr '\0' x; printf '"}'; } |
  curl -sS -w '\nHTTP %{http_code}\n' -X POST "$URL" -H "$JSON" --data-binary @-
echo
try "401 unauthorized (admin API with a wrong token; 404 admin_disabled when no admin token is set)" \
  "$BASE/api/v1/outbox" -H 'Authorization: Bearer wrong-token'
# 401 missing_api_key / invalid_api_key need an endpoint with `auth: apiKey` (set TOKEN to its URL token):
if [ -n "${APIKEY_TOKEN:-}" ]; then
  try "401 missing_api_key" -X POST "$BASE/$APIKEY_TOKEN" -H "$JSON" --data-binary '{"userId": "u1", "sessionId": "s1", "text": "hi"}'
  try "401 invalid_api_key" -X POST "$BASE/$APIKEY_TOKEN" -H "$JSON" -H 'X-Webhook-Key: not-a-key' \
    --data-binary '{"userId": "u1", "sessionId": "s1", "text": "hi"}'
fi
