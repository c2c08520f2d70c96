# Sourced by every Benchmarks/*/run.sh (from the package root). `Benchmarks/run` sets the variables below once for
# all benchmarks; a script run by hand builds what it needs itself.
#
#   PARLEY_BENCH_BIN    folder of the built products (default .build/release)
#   PARLEY_BENCH_BUILT  1: the products are built already (Benchmarks/run builds them once)
#   PARLEY_BENCH_SHORT  1: the CI short form: small sizes, Parley's side only, no baseline that needs PyPI or a
#                       second package; it proves the benchmarks run, and says nothing about speed
bin=${PARLEY_BENCH_BIN:-.build/release}
short=${PARLEY_BENCH_SHORT:-0}

# bench_build PRODUCT...: release build of the named products, unless Benchmarks/run built them already.
bench_build() {
  [ "${PARLEY_BENCH_BUILT:-0}" = 1 ] && return 0
  local product
  for product in "$@"; do
    swift build -c release --product "$product" >/dev/null
  done
}

# hbserver_build: the bare Hummingbird baseline of ../shared/bench/hbserver, built in its own folder outside this
# package; prints the path of its binary.
hbserver_build() {
  mkdir -p .build-hbserver
  cp -R ../shared/bench/hbserver/. .build-hbserver/ 2>/dev/null || true
  (cd .build-hbserver && swift build -c release > build.log 2>&1) || { cat .build-hbserver/build.log >&2; return 1; }
  echo "$PWD/.build-hbserver/.build/release/HBServer"
}

# need_wrk: installs wrk from Debian's packages when it is missing.
need_wrk() {
  command -v wrk >/dev/null && return 0
  apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk >/dev/null
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (20 s at most).
wait_port() {
  local _
  for _ in $(seq 200); do
    (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# rss_kib PID: the resident set size of a process, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# skip_baseline NAME: in the short form, says the baseline is left out and returns 0 (so `skip_baseline X || ...`).
skip_baseline() {
  [ "$short" = 1 ] || return 1
  echo "baseline skipped (short form): $1"
}
