#!/usr/bin/env bash
# The browser test of issue 6: headless Chromium opens the agent workspace page while the sample call is played
# into a real `parley serve`, and checks the rendered tiles through the DOM. Installs Chromium when missing.
# Then a second scenario: an agent copilot beside a chat (a webhook endpoint with auth: apiKey), opened with the
# signed link of `parley copilot link`, where the agent approves a refund that reaches the customer's webhook.
# usage: Tests/browser/run.sh [PARLEY_BINARY]   (default .build/debug/parley)
set -euo pipefail
cd "$(dirname "$0")/../.."
parley=${1:-.build/debug/parley}
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
# The port a `parley serve` reports in LOG once it listens (empty after 10 s).
served_port() {
  local found=""
  for _ in $(seq 100); do
    found=$(grep -o 'on http://127.0.0.1:[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$found" ] && break; sleep 0.1
  done
  echo "$found"
}
work=$(mktemp -d)
trap 'kill ${server:-} ${chat_server:-} ${receiver:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
token=c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00
# Only the copilot flow: the others call connections this deployment does not declare.
mkdir -p "$work/Flows" && cp Flows/call-assist.yaml "$work/Flows/"
cat > "$work/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 0 }
store: "sqlite:parley.sqlite"
flows: Flows
endpoints:
  - { name: call-assist, type: voiceCopilot, urlToken: $token, flow: call-assist }
YAML
(cd "$work" && exec "$OLDPWD/$parley" serve --config parley.yaml --log-level error 2> "$work/serve.log") & server=$!
port=$(served_port "$work/serve.log")
[ -n "$port" ] || { cat "$work/serve.log"; echo "parley serve did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"
session="browser-$$"
# The page watches while the call plays in (8x faster than real time).
python3 Samples/play_call.py --base "$base" --token "$token" --config "$work/parley.yaml" --speed 8 --session "$session" --quiet Samples/calls/insurance-call.jsonl &
player=$!
# The agent opens the workspace with the signed link `parley copilot link` prints (DESIGN 5.4.1: the URL alone is
# not enough); baseURL has port 0 here, so the link's path goes under the real base.
raw=$(cd "$work" && "$OLDPWD/$parley" copilot link --config parley.yaml --endpoint call-assist --user "+15083084809" --session "$session")
case "$raw" in http://*/copilot/\?*access=*) ;; *) echo "not a workspace link: $raw" >&2; exit 1 ;; esac
python3 Tests/browser/check_workspace.py --url "$base/${raw#*://*/}" \
  --out "${BROWSER_OUT:-$work/out}" --wait 60 \
  --expect-tile sentiment=sentiment --expect-tile identity=identity --expect-tile offer=adaptiveCard \
  --expect-tile checklist=html --expect-tile crm=iframe --expect-tile next-action=nextAction \
  --expect-text "Ada Lovelace" --min-version 5
status=$?
wait $player
[ "$status" -eq 0 ] || exit $status

# ---- Scenario 2: the workspace of a chat (DESIGN §5.5: "Any endpoint has a workspace", "Actions", "Access") ----
# Flows/chat-copilot.yaml on a webhook endpoint with auth: apiKey. A tiny receiver (standard library only) plays the
# customer's channel and records every body it gets. The customer asks for a refund; the agent opens the link that
# `parley copilot link` prints, picks 25 EUR and clicks "Approve refund"; the customer must get the approval.
chat="$work/chat"
mkdir -p "$chat/Flows" && cp Flows/chat-copilot.yaml "$chat/Flows/"
bin="$(cd "$(dirname "$parley")" && pwd)/$(basename "$parley")"
chat_token=5eed00005eed00005eed00005eed00005eed00005eed00005eed00005eed0000
fail() { echo "chat copilot: $*" >&2; exit 1; }

python3 - "$chat/received.jsonl" "$chat/receiver.port" <<'PY' &
import os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log, port_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock, open(log, "ab") as handle:
            handle.write(body.replace(b"\n", b" ") + b"\n")  # one body per line
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
PY
receiver=$!
for _ in $(seq 100); do [ -s "$chat/receiver.port" ] && break; sleep 0.1; done
[ -s "$chat/receiver.port" ] || fail "the webhook receiver did not start"
hook_port=$(cat "$chat/receiver.port")

cat > "$chat/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 0 }
store: "sqlite:parley.sqlite"
flows: Flows
endpoints:
  - name: chat
    type: webhook
    urlToken: $chat_token
    flow: chat-copilot
    auth: apiKey
    webhook: { url: "http://127.0.0.1:$hook_port/hook" }
YAML
key=$(cd "$chat" && "$bin" keys create --config parley.yaml --endpoint chat --name browser | sed -n 's/^key: //p')
[ -n "$key" ] || fail "parley keys create printed no 'key: ' line"

(cd "$chat" && exec "$bin" serve --config parley.yaml --log-level error 2> "$chat/serve.log") & chat_server=$!
chat_port=$(served_port "$chat/serve.log")
[ -n "$chat_port" ] || { cat "$chat/serve.log"; fail "parley serve did not start"; }
chat_base="http://127.0.0.1:$chat_port"
chat_user="chat-user-$$"
chat_session="chat-$$"

# The customer's messages, as a chat front end sends them.
for text in "Hi there" "I would like a refund for my last order, please"; do
  code=$(curl -sS -o "$chat/post.json" -w '%{http_code}' -X POST "$chat_base/$chat_token" \
    -H 'Content-Type: application/json' -H "X-Webhook-Key: $key" \
    --data "{\"userId\": \"$chat_user\", \"sessionId\": \"$chat_session\", \"text\": \"$text\"}")
  [ "$code" = 202 ] || fail "POST /$chat_token answered $code: $(cat "$chat/post.json")"
done

# The agent's link: one line, <baseURL>/copilot/?...&access=...; baseURL has port 0 here, so use the real one.
raw=$(cd "$chat" && "$bin" copilot link --config parley.yaml --endpoint chat --user "$chat_user" --session "$chat_session")
[ "$(printf '%s\n' "$raw" | wc -l)" -eq 1 ] || fail "parley copilot link printed more than one line: $raw"
case "$raw" in http://*/copilot/\?*|https://*/copilot/\?*) ;; *) fail "not a workspace link: $raw" ;; esac
link="$chat_base/${raw#*://*/}"
access=$(printf '%s' "$link" | sed -n 's/.*[?&]access=\([^&]*\).*/\1/p')
[ -n "$access" ] || fail "the link has no access parameter: $raw"

# Without access the workspace is closed; a forged access is refused; the link's access opens it.
state="$chat_base/copilot/state?userId=$chat_user&sessionId=$chat_session&URLToken=$chat_token"
code=$(curl -sS -o "$chat/state.json" -w '%{http_code}' "$state")
[ "$code" = 401 ] || fail "GET /copilot/state without access answered $code, not 401"
grep -q '"missing_access"' "$chat/state.json" || fail "GET /copilot/state without access: $(cat "$chat/state.json")"
code=$(curl -sS -o "$chat/state.json" -w '%{http_code}' "$state&access=1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
[ "$code" = 401 ] || fail "GET /copilot/state with a forged access answered $code, not 401"
grep -q '"invalid_access"' "$chat/state.json" || fail "GET /copilot/state with a forged access: $(cat "$chat/state.json")"
code=$(curl -sS -o "$chat/state.json" -w '%{http_code}' "$state&access=$access")
[ "$code" = 200 ] || fail "GET /copilot/state with the link's access answered $code: $(cat "$chat/state.json")"

python3 Tests/browser/check_workspace.py --url "$link" --out "${BROWSER_OUT:-$work/out}" --name chat-workspace --wait 30 \
  --expect-tile refund=adaptiveCard --expect-tile nextAction=nextAction --expect-text "Approve refund" \
  --click "Approve refund" --expect-after "✓ Approve refund" --expect-after "Refund of 25 EUR approved"

# The click ran the flow on channel copilot: the customer's webhook gets the answer, and never a tile update.
check_received() {
  python3 - "$chat/received.jsonl" <<'PY'
import json, os, sys
texts, tiles = [], 0
for line in open(sys.argv[1], encoding="utf-8") if os.path.exists(sys.argv[1]) else []:
    output = json.loads(line).get("AIOutput") or {}
    texts.append(output.get("text"))
    tiles += isinstance(output.get("data"), dict) and "copilot" in output["data"]
if tiles:
    sys.exit("the webhook got %d copilot tile update(s); on a webhook endpoint they stay in the workspace" % tiles)
if "Your refund of 25 EUR is approved." not in texts:
    print("received so far: %s" % json.dumps(texts), file=sys.stderr)
    sys.exit(1)
print("webhook got: %s" % json.dumps(texts))
PY
}
for _ in $(seq 40); do check_received >/dev/null 2>&1 && break; sleep 0.5; done
check_received || fail "the customer's webhook did not get \"Your refund of 25 EUR is approved.\""

# ---- Scenario 3: markup in a customer's text stays text in an html tile (issue 25) ----
# A flow quotes the customer in an html tile with {{input.text}}. Before the fix, a <script> in the text ran inside
# the tile and could reach an outside server; now the value is escaped: the tile shows the markup as text, its body
# holds no element the text tried to make, and nothing it carried ran (it would set the frame's title).
quote="$work/quote"
mkdir -p "$quote/Flows"
quote_token=9a0e00009a0e00009a0e00009a0e00009a0e00009a0e00009a0e00009a0e0000
cat > "$quote/Flows/quote.yaml" <<'YAML'
flow: quote
nodes:
  tile:
    copilot: { tile: said, type: html, html: "<p class='said'>The customer said: {{input.text}}</p>" }
YAML
cat > "$quote/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 0 }
store: "sqlite:parley.sqlite"
flows: Flows
endpoints:
  - { name: quote, type: rest, urlToken: $quote_token, flow: quote }
YAML
(cd "$quote" && exec "$bin" serve --config parley.yaml --log-level error 2> "$quote/serve.log") & quote_server=$!
trap 'kill ${server:-} ${chat_server:-} ${receiver:-} ${quote_server:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
quote_port=$(served_port "$quote/serve.log")
[ -n "$quote_port" ] || { cat "$quote/serve.log"; echo "parley serve did not start" >&2; exit 1; }
quote_base="http://127.0.0.1:$quote_port"
body=$(python3 -c 'import json; print(json.dumps({"userId": "q1", "sessionId": "q1",
  "text": "<img src=x onerror=\"document.title=\x27pwned\x27\"><script>document.title=\x27pwned\x27</script>"}))')
code=$(curl -sS -o "$quote/post.json" -w '%{http_code}' -X POST "$quote_base/$quote_token" -H 'Content-Type: application/json' \
  --data "$body")
[ "$code" = 200 ] || { echo "POST /$quote_token answered $code: $(cat "$quote/post.json")" >&2; exit 1; }
raw=$(cd "$quote" && "$bin" copilot link --config parley.yaml --endpoint quote --user q1 --session q1)
python3 Tests/browser/check_workspace.py --url "$quote_base/${raw#*://*/}" --out "${BROWSER_OUT:-$work/out}" --name quote-workspace \
  --wait 30 --expect-tile said=html --expect-frame-text "The customer said: <img src=x onerror=" \
  --expect-frame-text "<script>document.title='pwned'</script>"
