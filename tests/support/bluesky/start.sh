#!/usr/bin/env bash
# Start a private AT Protocol network (PLC + PDS + AppView) on 127.0.0.1.
#
# stdout: exactly one line, `READY {json}`, once the network is seeded and
#         indexed (see README.md). Nothing else is ever written to stdout.
# stderr: progress and service logs (or HEARTH_BSKY_LOG=<file> to send them there).
# Stop:   SIGTERM/SIGINT/SIGHUP, or close our stdin when it is a pipe. The
#         temporary postgres cluster and all temp dirs are removed; a watchdog
#         does the same if this process is SIGKILLed.
#
# Env: HEARTH_BSKY_PG_URL     use this postgres instead of a temporary cluster
#      HEARTH_BSKY_PG_BIN     directory with initdb/pg_ctl (default: newest /usr/lib/postgresql/*/bin)
#      HEARTH_BSKY_LOG        append all logs to this file instead of stderr
#      HEARTH_BSKY_ACCESS_TTL_SECS / HEARTH_BSKY_REFRESH_TTL_SECS  shorten PDS token lifetimes
#      HEARTH_BSKY_WATCH_STDIN  1: always stop on stdin EOF, 0: never (default: only if stdin is a pipe/socket)
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

"$BSKY_HOME/install.sh" </dev/null >&2   # no-op when already installed

base="${HEARTH_BSKY_TMP:-${TMPDIR:-/tmp}}"
RUN_DIR="$(mktemp -d "$base/hearth-bsky.XXXXXXXX")"
chmod 755 "$RUN_DIR"
mkdir "$RUN_DIR/tmp"
trap 'bsky_cleanup_run_dir "$RUN_DIR"' EXIT
trap 'exit 0' INT TERM HUP   # signal before node starts: clean up (EXIT trap), exit 0

if [ -n "${HEARTH_BSKY_PG_URL:-}" ]; then
  DB_URL="$HEARTH_BSKY_PG_URL"
  MANAGED_PG=0
else
  PG_BIN="$(bsky_find_pg_bin)" || { bsky_pg_missing_msg; exit 1; }
  printf '%s\n' "$PG_BIN" >"$RUN_DIR/pg_bin"
  PGDATA="$RUN_DIR/pgdata"
  PGSOCK="$RUN_DIR/pgsock"
  PGLOG="$RUN_DIR/postgres.log"
  mkdir -m 700 "$PGDATA" "$PGSOCK"
  : >"$PGLOG"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA" "$PGSOCK" "$PGLOG"
  if ! bsky_as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 \
        --locale=C --no-sync </dev/null >>"$PGLOG" 2>&1; then
    tail -n 20 "$PGLOG" >&2; bsky_die "initdb failed"
  fi
  started=0
  for _ in 1 2 3 4 5; do
    PG_PORT="$("$BSKY_NODE" -e '
      const s = require("net").createServer();
      s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
    if bsky_as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" -w -t 30 -o \
        "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PGSOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start </dev/null >>"$PGLOG" 2>&1; then
      started=1; break
    fi
    bsky_log "postgres did not start on port $PG_PORT, retrying"
  done
  [ "$started" = 1 ] || { tail -n 20 "$PGLOG" >&2; bsky_die "could not start postgres"; }
  DB_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  MANAGED_PG=1
fi

# Backstop for SIGKILL: a detached watchdog removes RUN_DIR (stopping postgres)
# once this PID — which becomes the node process below — is gone.
setsid bash -c 'source "$1"; bsky_watchdog "$2" "$3"' _ "$BSKY_HOME/common.sh" "$$" "$RUN_DIR" \
  </dev/null >/dev/null 2>&1 &
echo "$!" >"$RUN_DIR/watchdog.pid"

# fd 3 = real stdout (READY line only); node's fd 1 and 2 = stderr or the log
# file, so no library can write to stdout. With a log file, fd 4 = real stderr
# (startup errors are reported there too).
if [ -n "${HEARTH_BSKY_LOG:-}" ]; then
  exec 3>&1 4>&2 1>>"$HEARTH_BSKY_LOG" 2>&1
  export HEARTH_BSKY_ERR_FD=4 LOG_ENABLED="${LOG_ENABLED:-true}"
else
  exec 3>&1 1>&2
  unset HEARTH_BSKY_ERR_FD
fi

export HEARTH_BSKY_RUN_DIR="$RUN_DIR" HEARTH_BSKY_MANAGED_PG="$MANAGED_PG"
export HEARTH_BSKY_READY_FD=3
export DB_POSTGRES_URL="$DB_URL"
# letters/underscore only; unique per run (dev-env derives appview_/bsync_/ozone_ schemas)
export DB_POSTGRES_SCHEMA="hearth_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr '0-9' 'g-p')"
export REDIS_HOST="${REDIS_HOST:-unused.invalid:6379}"   # asserted by dev-env, never used
trap - EXIT INT TERM HUP   # from here on node (same PID) owns cleanup
cd "$BSKY_HOME"
exec "$BSKY_NODE" --import ./loopback.mjs ./network.mjs
