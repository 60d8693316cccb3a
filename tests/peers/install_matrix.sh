#!/usr/bin/env bash
# Installs Synapse (the Matrix homeserver the Matrix connector's tests run against) in its own venv.
# Idempotent and quiet: a venv that already has the pinned version is left as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.peers/matrix"
VENV="$PREFIX/venv"
VERSION="1.163.2"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

installed() {
    "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('matrix-synapse') != '$VERSION')" \
        2>/dev/null
}

if [ -x "$VENV/bin/python" ] && installed; then
    exit 0
fi
# Synapse pins Twisted and many other libraries, so it never shares the product's venv.
mkdir -p "$PREFIX"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# pip's notes about unreachable local find-links folders are noise here; its real errors still show.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "matrix-synapse==$VERSION" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
installed
