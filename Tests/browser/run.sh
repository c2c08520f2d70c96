#!/usr/bin/env bash
# The browser test of issue 6: headless Chromium opens the agent workspace page while the sample call is played
# into a real `parley serve`, and checks the rendered tiles through the DOM. Installs Chromium when missing.
# usage: Tests/browser/run.sh [PARLEY_BINARY]   (default .build/debug/parley)
set -euo pipefail
cd "$(dirname "$0")/../.."
parley=${1:-.build/debug/parley}
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
work=$(mktemp -d)
trap 'kill ${server:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
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
port=""
for _ in $(seq 100); do
  port=$(grep -o 'on http://127.0.0.1:[0-9]*' "$work/serve.log" 2>/dev/null | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; echo "parley serve did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"
session="browser-$$"
# The page watches while the call plays in (8x faster than real time).
python3 Samples/play_call.py --base "$base" --token "$token" --speed 8 --session "$session" --quiet Samples/calls/insurance-call.jsonl &
player=$!
python3 Tests/browser/check_workspace.py --base "$base" --token "$token" --user "+15083084809" --session "$session" \
  --out "${BROWSER_OUT:-$work/out}" --wait 60 \
  --expect-tile sentiment=sentiment --expect-tile identity=identity --expect-tile offer=adaptiveCard \
  --expect-tile checklist=html --expect-tile crm=iframe --expect-tile next-action=nextAction \
  --expect-text "Ada Lovelace" --min-version 5
status=$?
wait $player
exit $status
