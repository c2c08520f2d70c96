#!/usr/bin/env bash
# Loading 200 flow files of 50 nodes each: `parley validate` (YAML parse, model, every check, JavaScriptCore
# syntax check of every script and template) next to PyYAML parsing the same files, in the same run.
# usage: Benchmarks/flow-loading/run.sh [RUNS=7] [FILES=200]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
runs=${1:-7}
files=${2:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_build parley
python3 Benchmarks/flow-loading/generate.py "$work/flows" "$files" 50
printf 'flow: one\nnodes:\n  a:\n    end: {}\n' > "$work/one.yaml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() {  # runs a command $runs times, prints the median wall time in ms
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
  done | median
}

parley_all=$(time_ms "$bin/parley" validate "$work/flows")
parley_one=$(time_ms "$bin/parley" validate "$work/one.yaml")
"$bin/parley" validate "$work/flows" | tail -1
echo "files: $files x 50 nodes ($(du -sh "$work/flows" | cut -f1)), median of $runs runs"
echo "parley validate, $files files:        ${parley_all} ms"
echo "parley validate, 1 tiny file:      ${parley_one} ms (process start-up)"
skip_baseline "PyYAML" && exit 0
pyyaml_all=$(time_ms python3 Benchmarks/flow-loading/parse_only.py "$work/flows")
echo "PyYAML CSafeLoader parse only:     ${pyyaml_all} ms"
awk -v a="$parley_all" -v b="$pyyaml_all" 'BEGIN { printf "ratio parley/PyYAML:               %.2f\n", a / b }'
