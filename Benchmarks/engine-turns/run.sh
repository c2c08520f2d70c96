#!/usr/bin/env bash
# Engine turns per second, in process, next to Microsoft Bot Framework's Python dialogs running the same
# two-turn conversation (../shared/bench/bench_bot.py), measured in the same run.
# usage: Benchmarks/engine-turns/run.sh [CONVERSATIONS=2000] [REPS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
conversations=${1:-2000}
reps=${2:-3}
bench_build parley-bench
parley=$("$bin/parley-bench" "$conversations" "$reps")
echo "$parley"
skip_baseline "Bot Framework (bench_bot.py)" && exit 0
baseline=../shared/bench/bench_bot.py
venv=${PARLEY_BENCH_VENV:-.build-bench-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import botbuilder.dialogs' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check botbuilder-core botbuilder-dialogs aiohttp
fi
botframework=$("$venv/bin/python" "$baseline" raw "$conversations" "$reps")
echo "$botframework"
median() { grep "$1" | grep -o 'median turns/s=[0-9]*' | cut -d= -f2; }
plain=$(echo "$parley" | median "flow=bench-plain")
code=$(echo "$parley" | median "flow=bench-code")
bf=$(echo "$botframework" | median "mode=raw")
awk -v p="$plain" -v c="$code" -v b="$bf" 'BEGIN {
  printf "ratio parley (no JavaScript) / Bot Framework: %.1f\n", p / b
  printf "ratio parley (code node)     / Bot Framework: %.2f\n", c / b
}'
