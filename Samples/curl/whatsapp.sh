#!/usr/bin/env bash
# A WhatsApp Cloud API webhook notification to the endpoint `whatsapp`, whose transformer
# (Samples/transformers/whatsapp.js) maps it to {userId, sessionId, text}. Answer: 202 {"traceId"}; the receiver gets
# Cloud API send-message bodies ({"messaging_product": "whatsapp", "to", "type": "text", "text": {"body"}}).
#   Samples/curl/whatsapp.sh "opening hours?"      FROM=15551230000 Samples/curl/whatsapp.sh hi
set -euo pipefail
BASE="${BASE:-http://127.0.0.1:8080}"
TOKEN="${TOKEN:-3a7e5d1c9b2f48a6b0c4d8e2f6a1b5c9d3e7f1a5b9c3d7e1f5a9b3c7d1e5f9a3}"   # endpoint `whatsapp`
BODY=$(python3 -c '
import json, sys
print(json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"phone_number_id": "PHONE-NUMBER-ID", "display_phone_number": "15550001111"},
    "contacts": [{"profile": {"name": "Ada"}, "wa_id": sys.argv[1]}],
    "messages": [{"from": sys.argv[1], "id": "wamid.sample", "type": "text", "text": {"body": sys.argv[2]}}]}}]}]}))' \
  "${FROM:-15551234567}" "${1:-hi}")
echo "POST $BASE/$TOKEN  (WhatsApp notification)"
curl -sS -w '\nHTTP %{http_code}\n' -X POST "$BASE/$TOKEN" -H 'Content-Type: application/json' --data-binary "$BODY"
