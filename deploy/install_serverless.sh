#!/usr/bin/env bash
# Install Serverless Framework v3 (npm) once, for the `serverless package` descriptor check.
#
#   bash deploy/install_serverless.sh        # -> deploy/.tools/node_modules/.bin/serverless
#
# Idempotent: does nothing when that version is already there. Needs node and npm; the
# tests that use it skip without it (and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")"
VERSION="${SERVERLESS_VERSION:-3}"
PREFIX=".tools"
BIN="$PREFIX/node_modules/.bin/serverless"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_serverless: npm not found; install Node.js 18+ first" >&2
    exit 1
fi
if [ -x "$BIN" ] && [ "$(cat "$PREFIX/.requested" 2>/dev/null)" = "$VERSION" ]; then
    echo "install_serverless: $("$BIN" --version 2>/dev/null | head -1) already in deploy/$PREFIX"
    exit 0
fi
mkdir -p "$PREFIX"
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off
npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "serverless@$VERSION"
echo "$VERSION" > "$PREFIX/.requested"
echo "install_serverless: $("$BIN" --version 2>/dev/null | head -1) in deploy/$PREFIX"
