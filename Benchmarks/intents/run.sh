#!/usr/bin/env bash
# Intent classification: Parley's built-in classifier next to a TF-IDF + logistic-regression baseline trained on the
# same ten examples per intent of CLINC150, in the same run (accuracy, out-of-scope rejection, cost per input).
# usage: Benchmarks/intents/run.sh [PARLEY_BINARY]   (default: a release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/common.sh
binary=${1:-}
if [ -z "$binary" ]; then
  bench_build parley
  binary=$bin/parley
fi
venv=.build-bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sklearn, numpy' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check scikit-learn numpy
fi
"$venv/bin/python" Benchmarks/intents/evaluate.py "$binary" "${@:2}"
