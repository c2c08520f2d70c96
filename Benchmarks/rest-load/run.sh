#!/usr/bin/env bash
# Requests per second answered by the REST endpoint (the turn runs and is committed, synchronous=FULL, before the
# 200), next to the bare Hummingbird JSON endpoint (../shared/bench/hbserver) and Rasa 3.6's REST channel
# (../shared/bench/rasa-bot, its tracker in memory) answering the same message, all with the same wrk settings in
# the same run; then the cost of a turn as conversations grow to 50 turns, on Parley and on Rasa.
# usage: Benchmarks/rest-load/run.sh [DURATION=10s] [GROWTH_SESSIONS=16] [GROWTH_TURNS=50]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
duration=${1:-10s}
growth_sessions=${2:-16}
growth_turns=${3:-50}
need_wrk
work=$(mktemp -d)
pids=""
cleanup() { kill ${pids:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
stop_all() { kill $pids 2>/dev/null || true; wait $pids 2>/dev/null || true; pids=""; }
load() {  # label url [env...]: wrk at 64 connections; prints the requests per second
  local label=$1 url=$2; shift 2
  env "$@" wrk -t2 -c64 -d"$duration" --latency -s Benchmarks/rest-load/post.lua "$url" > "$work/$label.txt"
  grep 'Requests/sec' "$work/$label.txt" | awk '{print $2}'
}
report() {  # label title
  echo "--- $2"
  grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors' "$work/$1.txt" || true
}

bench_build parley
token=7e3c1d2b4a5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
mkdir -p "$work/deploy"
cat > "$work/deploy/joke.yaml" <<'YAML'
flow: joke
nodes:
  start: { switch: { value: input.text, cases: { joke: joke }, default: other } }
  joke: { say: "Why do programmers prefer dark mode? Because light attracts bugs." }
  other: { say: "Sorry, I can only say hello or tell a joke." }
YAML
cat > "$work/deploy/parley.yaml" <<YAML
server: { host: 127.0.0.1, port: 18182 }
store: "sqlite:parley.sqlite"
flows: joke.yaml
endpoints:
  - { name: jokes, type: rest, urlToken: $token, flow: joke }
YAML

# 1. The bare Hummingbird endpoint.
if ! skip_baseline "bare Hummingbird"; then
  hbserver=$(hbserver_build)
  PORT=18181 "$hbserver" & pids="$pids $!"
  wait_port 18181
  baseline=$(load baseline http://127.0.0.1:18181/endpoint/tok)
  stop_all
fi

# 2. Parley's REST endpoint.
(cd "$work/deploy" && exec "$OLDPWD/$bin/parley" serve --config parley.yaml --log-level error) & pids="$pids $!"
wait_port 18182
parley=$(load parley "http://127.0.0.1:18182/$token")
python3 Benchmarks/rest-load/growth.py parley "http://127.0.0.1:18182/$token" "$growth_sessions" "$growth_turns" > "$work/growth-parley.txt"
kill -0 $pids  # the server survived the load
stop_all

# 3. Rasa 3.6's REST channel, in a venv of Python 3.10 (Rasa 3.6 needs it), trained once.
if ! skip_baseline "Rasa 3.6"; then
  venv=${PARLEY_RASA_VENV:-.build-rasa-venv}
  python310=${PARLEY_PYTHON310:-$HOME/.pyenv/versions/3.10.13/bin/python}
  if [ ! -x "$venv/bin/rasa" ]; then
    "$python310" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check rasa==3.6.21
  fi
  bot=.build-rasa-bot
  if [ ! -f "$bot/models/bot.tar.gz" ]; then
    rm -rf "$bot"; cp -R ../shared/bench/rasa-bot "$bot"
    (cd "$bot" && RASA_TELEMETRY_ENABLED=false "$OLDPWD/$venv/bin/rasa" train --fixed-model-name bot >/dev/null 2>&1)
  fi
  (cd "$bot" && RASA_TELEMETRY_ENABLED=false exec "$OLDPWD/$venv/bin/rasa" run --port 18183 -i 127.0.0.1 \
    -m models/bot.tar.gz >"$work/rasa.log" 2>&1) & pids="$pids $!"
  for _ in $(seq 1200); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"sender":"probe","message":"hi"}' \
      http://127.0.0.1:18183/webhooks/rest/webhook && break
    sleep 0.1
  done
  rasa=$(load rasa http://127.0.0.1:18183/webhooks/rest/webhook RASA=1)
  python3 Benchmarks/rest-load/growth.py rasa http://127.0.0.1:18183/webhooks/rest/webhook "$growth_sessions" "$growth_turns" > "$work/growth-rasa.txt"
  stop_all
fi

[ -z "${baseline:-}" ] || report baseline "bare Hummingbird JSON endpoint (baseline)"
report parley "parley REST endpoint (turn committed before the 200)"
[ -z "${rasa:-}" ] || report rasa "Rasa 3.6 REST channel (tracker in memory)"
cat "$work/growth-parley.txt"
[ -z "${rasa:-}" ] || cat "$work/growth-rasa.txt"
[ -z "${baseline:-}" ] || awk -v p="$parley" -v b="$baseline" 'BEGIN { printf "ratio parley REST / bare Hummingbird: %.2f\n", p / b }'
[ -z "${rasa:-}" ] || awk -v p="$parley" -v r="$rasa" 'BEGIN { printf "ratio parley REST / Rasa: %.1f\n", p / r }'
