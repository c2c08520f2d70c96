#!/usr/bin/env bash
# Fault injection for webhook delivery (DESIGN §5.1, §6): a real `parley serve` under steady load while the webhook
# receiver goes down, answers slowly or flaps, the server is killed with SIGKILL, the SQLite store turns read-only
# or its disk fills up, and PostgreSQL restarts; after each fault, every accepted message must be delivered, in
# order per session. See RELIABILITY.md for what each scenario does and the last figures.
#
# usage: Tests/faults/run.sh [--short] [--json FILE] [--only NAME[,NAME...]] [--artifacts DIR] [--with-postgres]
#                            PARLEY_BINARY
#
#   --short          the short form (about 3 minutes on 2 cores); the long form takes 10-15 minutes
#   --json FILE      also write a JSON summary
#   --only NAMES     run only these scenarios (Tests/faults/harness.py --list names them)
#   --artifacts DIR  keep every scenario's folder and server logs in DIR (default: a temporary folder, kept on failure)
#   --with-postgres  start a throwaway durable PostgreSQL cluster (scripts/postgres) for the PostgreSQL scenarios,
#                    and stop it at the end; otherwise they run only when PARLEY_TEST_POSTGRES_URL (and, for the
#                    restart, PARLEY_TEST_POSTGRES_DIR) are set
#
# The read-only and disk-full scenarios mount a tmpfs and a loop-mounted ext4 image, which needs root (CAP_SYS_ADMIN);
# without it they print SKIP. Exit status: 0 when every scenario that ran passed and no secret reached a log.
set -euo pipefail
cd "$(dirname "$0")/../.."

args=()
binary=""
with_postgres=0
while [ $# -gt 0 ]; do
  case "$1" in
    --short) args+=(--short) ;;
    --json | --only | --artifacts | --sessions | --rate | --log-level)
      [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
      args+=("$1" "$2")
      shift
      ;;
    --with-postgres) with_postgres=1 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) binary="$1" ;;
  esac
  shift
done
[ -n "$binary" ] || { echo "usage: Tests/faults/run.sh [--short] [--json FILE] PARLEY_BINARY" >&2; exit 2; }
[ -x "$binary" ] || { echo "not an executable: $binary" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 (3.11) is needed" >&2; exit 2; }

pgdir=""
cleanup() { [ -z "$pgdir" ] || scripts/postgres stop "$pgdir"; }
trap cleanup EXIT
if [ "$with_postgres" = 1 ]; then
  # Durable (fsync and synchronous commits on), so the restart scenario can stop PostgreSQL the hard way.
  env_file=$(mktemp)
  PARLEY_POSTGRES_DURABLE=1 scripts/postgres start > "$env_file"
  # shellcheck disable=SC1090
  source "$env_file"
  rm -f "$env_file"
  pgdir="$PARLEY_TEST_POSTGRES_DIR"
fi

status=0
python3 Tests/faults/harness.py --binary "$binary" "${args[@]}" || status=$?
exit "$status"
