#!/usr/bin/env bash
# The command-line path next to the engine it drives, in the same run (issue 14): `parley chat` answering TURNS
# scripted lines on a looping flow without JavaScript, `parley test` running a conversation test of TURNS turns on
# the same flow, and `parley-bench loop` doing the same turns in process through the same Conversation type, with
# no I/O; then `parley replay` of the same conversation recorded through the runtime. Prints turns/s for each and
# the ratios to the in-process rate (goal: >= 0.5).
# usage: Benchmarks/cli-turns/run.sh [TURNS=20000] [REPS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
turns=${1:-20000}
reps=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_build parley parley-bench
mkdir -p "$work/flows"
cat > "$work/flows/bench-loop.yaml" <<'YAML'
flow: bench-loop
nodes:
  ask: { question: { text: What is your name?, type: text, store: context.name }, next: branch }
  branch: { switch: { value: context.name, cases: { admin: a }, default: b } }
  a: { say: A, next: ask }
  b: { say: B, next: ask }
YAML
python3 - "$turns" "$work" <<'PY'
import sys
turns, work = int(sys.argv[1]), sys.argv[2]
names = ["admin" if i % 2 == 0 else "bob" for i in range(turns)]
open(f"{work}/lines.txt", "w").write("".join(n + "\n" for n in names))
with open(f"{work}/flows/bench-loop.test.yaml", "w") as f:
    f.write("flow: bench-loop\ntests:\n  - name: a long conversation\n    turns:\n")
    f.write("      - { user: start, bot: [What is your name?] }\n")
    for n in names:
        f.write("      - { user: %s, bot: [%s, What is your name?] }\n" % (n, "A" if n == "admin" else "B"))
PY
parley=$bin/parley
rate() {  # rate LABEL COMMAND...: median turns/s of REPS runs
  local label=$1; shift
  local best=()
  for _ in $(seq "$reps"); do
    local start end
    start=$(date +%s.%N); "$@" > "$work/out.txt"; end=$(date +%s.%N)
    best+=("$(awk -v s="$start" -v e="$end" -v t="$turns" 'BEGIN { printf "%d", t / (e - s) }')")
  done
  local median
  median=$(printf '%s\n' "${best[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
  echo "$label median turns/s=$median"
}
engine=$("$bin/parley-bench" loop "$work/flows/bench-loop.yaml" "$turns" "$reps")
echo "$engine"
chat=$(rate "parley chat" bash -c "$parley chat bench-loop --flows '$work/flows' --now 2026-01-01T00:00:00Z < '$work/lines.txt'")
echo "$chat"
grep -c '^bot: ' "$work/out.txt" | awk -v t="$turns" '{ if ($1 < t) { print "chat answered only " $1 " lines"; exit 1 } }'
clock=$(rate "parley chat (clock)" bash -c "$parley chat bench-loop --flows '$work/flows' < '$work/lines.txt'")
echo "$clock"
test=$(rate "parley test" "$parley" test "$work/flows/bench-loop.test.yaml")
echo "$test"
grep -q '1 passed, 0 failed' "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
# Replay: the same conversation recorded through the runtime (`chat --store`), exported, and replayed.
cat > "$work/parley.yaml" <<YAML
store: "sqlite:$work/parley.sqlite"
flows: flows
YAML
"$parley" chat bench-loop --flows "$work/flows" --config "$work/parley.yaml" --store --session bench --user u --now 2026-01-01T00:00:00Z \
  < "$work/lines.txt" > /dev/null
"$parley" sessions export --config "$work/parley.yaml" --endpoint cli --user u --session bench > "$work/bench.jsonl"
replay=$(rate "parley replay" "$parley" replay "$work/bench.jsonl" --flows "$work/flows")
echo "$replay"
grep -q "turns, identical" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
value() { grep -o 'median turns/s=[0-9]*' | cut -d= -f2; }
e=$(echo "$engine" | value); c=$(echo "$chat" | value); k=$(echo "$clock" | value); t=$(echo "$test" | value)
r=$(echo "$replay" | value)
awk -v e="$e" -v c="$c" -v k="$k" -v t="$t" -v r="$r" 'BEGIN {
  printf "ratio chat / engine: %.2f\nratio chat (clock) / engine: %.2f\nratio test / engine: %.2f\n", c / e, k / e, t / e
  printf "ratio replay / engine: %.2f\n", r / e
}'
