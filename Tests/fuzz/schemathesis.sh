#!/usr/bin/env bash
# Property-based fuzzing of the HTTP API: Schemathesis generates requests from docs/openapi.yaml and sends them
# to a running `parley serve`, checking that no answer is a 5xx and that every status, content type and body is
# the one the spec documents.
#
#     Tests/fuzz/schemathesis.sh PARLEY_BINARY
#
# PARLEY_BINARY is a built `parley` (with its Parley_ParleyServer.resources bundle beside it), for example
# .build/release/parley. The script
#
# 1. creates the virtual environment .build-fuzz-venv in the repository root with a pinned Schemathesis, when
#    it is missing (PyPI must be reachable then);
# 2. writes a throwaway deployment in a temporary folder: an echo flow and Flows/call-assist.yaml, a SQLite
#    store, an admin token and one endpoint of each type, plus an `auth: apiKey` webhook endpoint and a webhook
#    endpoint whose receiver answers 404 (so the outbox holds dead letters). The webhook, REST and voice copilot
#    endpoints reuse the URL tokens and names of the sample deployment (parley.yaml), which are the examples in
#    docs/openapi.yaml; a small receiver on 127.0.0.1 takes the webhook deliveries;
# 3. starts `PARLEY_BINARY serve` on 127.0.0.1 (a free port), creates an API key and a few sessions, checks
#    that the copilot event stream sends its first event, and runs Schemathesis against it with a fixed seed;
# 4. fails when Schemathesis reports a failure or an error, or when the server is no longer alive afterwards.
#
# The checks: no 5xx (not_a_server_error); status code, Content-Type and body as documented; and the custom check
# in hooks.py that a REST answer names the session of its request. hooks.py also steers part of the generated
# path parameters to the deployment's real tokens, names and sessions, and schemathesis.toml says how the event
# stream is read. A crash of the server ends the run (Schemathesis reports "server stopped responding").
#
# Environment (all optional):
#   PARLEY_FUZZ_SEED           the Hypothesis seed (default 1); a failure reproduces with the same seed
#   PARLEY_FUZZ_MAX_EXAMPLES   test cases per operation (default 40; the Endpoint URL gets 300, see
#                              schemathesis.toml)
#   PARLEY_FUZZ_REPORT_DIR     where to write Schemathesis's JUnit and NDJSON reports; when set, the temporary
#                              deployment folder (with serve.log) is kept too
#   PARLEY_FUZZ_ARGS           for local investigation only: more `schemathesis run` options, split on
#                              spaces, e.g. `--include-operation-id createKey --phases fuzzing`
# Every request goes to 127.0.0.1. A full run takes one to two minutes on two cores.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 PARLEY_BINARY" >&2
    exit 2
fi
binary=$(realpath "$1")
if [[ ! -x $binary ]]; then
    echo "$0: $1 is not an executable" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fuzz="$root/Tests/fuzz"
venv="$root/.build-fuzz-venv"
schemathesis_version=4.32.5
seed=${PARLEY_FUZZ_SEED:-1}
max_examples=${PARLEY_FUZZ_MAX_EXAMPLES:-40}
admin_token=fuzz-admin-token-0b8e7d6f5a4b

# The tokens and names of the sample deployment (parley.yaml), as docs/openapi.yaml gives them as examples.
webhook_token=5f2c8e0b9a4d4f6e8b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6
rest_token=7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9
voice_token=c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00
# Only in this deployment.
keyed_token=a11ce5ed00000000000000000000000000000000000000000000000000000001
gone_token=dead1e77e5000000000000000000000000000000000000000000000000000002

# ---- Schemathesis ----------------------------------------------------------------------------------------
if [[ ! -x $venv/bin/schemathesis ]] || [[ $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null) != "$schemathesis_version" ]]; then
    echo "fuzz: installing schemathesis==$schemathesis_version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# ---- the throwaway deployment ----------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-fuzz.XXXXXX")
reports=${PARLEY_FUZZ_REPORT_DIR:-$work/reports}
mkdir -p "$reports"
receiver_pid=""
server_pid=""
cleanup() {
    local status=$?
    set +e
    # Only the two processes this script started, by their ids.
    for pid in $server_pid $receiver_pid; do
        if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null; fi
    done
    if [[ -z ${PARLEY_FUZZ_REPORT_DIR:-} ]]; then rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$fuzz/receiver.py" "$work/receiver.port" &
receiver_pid=$!
for _ in $(seq 100); do [[ -s $work/receiver.port ]] && break; sleep 0.1; done
if [[ ! -s $work/receiver.port ]]; then
    echo "fuzz: the webhook receiver did not start" >&2
    exit 1
fi
receiver_port=$(cat "$work/receiver.port")

mkdir -p "$work/flows"
cp "$root/Flows/call-assist.yaml" "$work/flows/"
cat >"$work/flows/echo.yaml" <<'EOF'
flow: echo
description: Says back what it heard, then waits for the next message.
start: reply
nodes:
  reply:
    say: "{{input.text}}"
    next: listen
  listen:
    wait: {}
    next: reply
EOF

receiver="http://127.0.0.1:$receiver_port"
cat >"$work/parley.yaml" <<EOF
server: { host: 127.0.0.1, port: 0, adminToken: "$admin_token" }
store: "sqlite:parley.sqlite"
flows: flows
endpoints:
  - { name: orders, type: webhook, urlToken: $webhook_token, flow: echo, webhook: { url: "$receiver/hook" } }
  - { name: orders-rest, type: rest, urlToken: $rest_token, flow: echo }
  - { name: call-assist, type: voiceCopilot, urlToken: $voice_token, flow: call-assist, webhook: { url: "$receiver/copilot" } }
  - { name: keyed, type: webhook, urlToken: $keyed_token, flow: echo, auth: apiKey, webhook: { url: "$receiver/keyed" } }
  - { name: gone, type: webhook, urlToken: $gone_token, flow: echo, webhook: { url: "$receiver/gone" } }
EOF

: >"$work/serve.log"
"$binary" serve --config "$work/parley.yaml" >>"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 300); do
    port=$(sed -n 's#^parley: serving [0-9]* endpoints\{0,1\} on http://127\.0\.0\.1:\([0-9]*\)$#\1#p' "$work/serve.log" || true)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $port ]]; then
    echo "fuzz: parley serve did not start:" >&2
    cat "$work/serve.log" >&2
    exit 1
fi
base="http://127.0.0.1:$port"
echo "fuzz: parley serve (pid $server_pid) on $base, deployment in $work" >&2

# ---- data for the run: a key, sessions, dead letters -----------------------------------------------------
post() { # URL BODY [HEADER...]: POST JSON, fail on a non-2xx, print the answer
    local url=$1 body=$2
    shift 2
    curl --silent --show-error --fail --max-time 10 -X POST -H 'Content-Type: application/json' "$@" --data "$body" "$url"
}
admin=(-H "Authorization: Bearer $admin_token")
api_key=$(post "$base/api/v1/endpoints/keyed/keys" '{"name":"fuzz"}' "${admin[@]}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
post "$base/$webhook_token" '{"userId":"u1","sessionId":"s1","text":"hi"}' >/dev/null
post "$base/$rest_token" '{"userId":"u1","sessionId":"s1","text":"hi"}' >/dev/null
post "$base/$voice_token" '{"userId":"u1","sessionId":"s1","text":"Hi, I would like to cancel my contract.","speaker":"customer"}' >/dev/null
post "$base/$keyed_token" '{"userId":"u1","sessionId":"s1","text":"hi"}' -H "X-Webhook-Key: $api_key" >/dev/null
post "$base/$gone_token" '{"userId":"u1","sessionId":"s1","text":"hi"}' >/dev/null
for _ in $(seq 100); do
    dead=$(curl --silent --max-time 5 "${admin[@]}" "$base/api/v1/outbox?status=dead")
    [[ $dead == *'"id"'* ]] && break
    sleep 0.1
done

# The copilot event stream must send the current workspace at once (the fuzzing below reads one event per
# request and would not notice a stream that sends nothing).
events=$(curl --silent --max-time 3 "${admin[@]}" "$base/copilot/events?userId=u1&sessionId=s1&URLToken=$voice_token" || true)
if [[ $events != "event: state"$'\n'"data: {"* ]]; then
    echo "fuzz: GET /copilot/events sent no state event within 3 s; got: ${events:0:200}" >&2
    exit 1
fi

# ---- Schemathesis ----------------------------------------------------------------------------------------
# Every operation is fuzzed (GET /copilot/events too: schemathesis.toml has it read one event per request).
# The checks: no 5xx, and status code, Content-Type and body as documented. Reports: JUnit and NDJSON.
export PARLEY_FUZZ_TOKENS="$webhook_token,$rest_token,$voice_token,$keyed_token,$gone_token"
export PARLEY_FUZZ_ENDPOINTS="orders,orders-rest,call-assist,keyed,gone"
export PARLEY_FUZZ_SESSIONS="orders/u1/s1,orders-rest/u1/s1,call-assist/u1/s1,keyed/u1/s1,gone/u1/s1"
export PARLEY_FUZZ_API_KEY="$api_key"
export PARLEY_FUZZ_VOICE_TOKEN="$voice_token"
export SCHEMATHESIS_HOOKS="$fuzz/hooks.py"
status=0
(cd "$work" && "$venv/bin/schemathesis" --config-file "$fuzz/schemathesis.toml" --no-color run "$root/docs/openapi.yaml" \
    --url "$base" \
    --header "Authorization: Bearer $admin_token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,rest_answer_names_the_request_session \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --warnings off \
    --output-sanitize false \
    --report junit,ndjson --report-dir "$reports" \
    ${PARLEY_FUZZ_ARGS:-}) || status=$?

# ---- the server must have survived -----------------------------------------------------------------------
if ! kill -0 "$server_pid" 2>/dev/null || ! curl --silent --fail --max-time 5 "$base/health" >/dev/null; then
    echo "fuzz: parley serve died or stopped answering during the run; from its log:" >&2
    sleep 1 # a crashing Swift process writes its backtrace after the fatal error line
    crash=$(grep -a -m 3 -E 'Fatal error|Program crashed|Thread .* crashed' "$work/serve.log" || true)
    if [[ -n $crash ]]; then echo "$crash" >&2; else tail -n 20 "$work/serve.log" >&2; fi
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "fuzz: FAILED (Schemathesis found failures or errors, or the server died)" >&2
    if [[ -n ${PARLEY_FUZZ_REPORT_DIR:-} ]]; then echo "fuzz: reports in $reports, deployment and serve.log in $work" >&2; fi
    exit 1
fi
echo "fuzz: passed" >&2
