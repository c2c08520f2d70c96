#!/usr/bin/env bash
# Searches every log line a test run's `parley serve` processes wrote (PARLEY_TEST_LOG_DIR, filled by the Swift
# end-to-end tests at debug level and by Tests/faults) for secrets: the test deployment's admin token and webhook
# password (and its Basic credentials), any `whsec_` signing secret, any full `pk_` API key. Exits 1 naming the file
# and the kind of secret (never printing the line), 0 when none is found.
#
# usage: Tests/security/check-logs.sh LOG_DIR
set -euo pipefail
dir=${1:?usage: check-logs.sh LOG_DIR}
files=$(find "$dir" -type f -name '*.log' | sort)
[ -n "$files" ] || { echo "check-logs: no log files in $dir" >&2; exit 1; }
lines=$(cat $files | wc -l)
basic=$(printf 'parley:pw-5e1d-never-logged' | base64)
failed=0
check() {  # kind pattern (extended regex)
  local hits
  hits=$(grep -lE -- "$2" $files || true)
  if [ -n "$hits" ]; then
    echo "check-logs: $1 found in: $hits" >&2
    failed=1
  fi
}
check "the admin token" 'admin-9c2b-never-logged'
check "the webhook password" 'pw-5e1d-never-logged'
check "Basic credentials" "$basic"
check "a signing secret" 'whsec_[A-Za-z0-9+/=]{8,}'
check "an API key" 'pk_[0-9a-f]{48}'
count=$(echo "$files" | wc -l)
if [ "$failed" -eq 0 ]; then
  echo "check-logs: no secret in $lines log lines of $count servers"
fi
exit "$failed"
