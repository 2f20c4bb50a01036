#!/usr/bin/env bash
# Install the Node tools the descriptor checks use, once, into deploy/.tools (npm):
#   - Serverless Framework v3, for `serverless package` of deploy/aws/serverless.yml;
#   - tencent-component-toolkit 2.27 (the library Tencent's multi-scf component drives), whose
#     own function and trigger formatting turns serverless.yml into SCF API requests offline.
#
#   bash deploy/install_serverless.sh   # -> deploy/.tools/node_modules/{.bin/serverless,tencent-component-toolkit}
#
# Idempotent: does nothing when the requested versions are already there. Needs node and npm;
# the tests that use them skip without them (and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")"
VERSION="${SERVERLESS_VERSION:-3}"
TOOLKIT="${TOOLKIT_VERSION:-2.27}"
PREFIX=".tools"
BIN="$PREFIX/node_modules/.bin/serverless"
KIT="$PREFIX/node_modules/tencent-component-toolkit/package.json"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_serverless: npm not found; install Node.js 18+ first" >&2
    exit 1
fi
mkdir -p "$PREFIX"
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off
if [ -x "$BIN" ] && [ "$(cat "$PREFIX/.requested" 2>/dev/null)" = "$VERSION" ]; then
    echo "install_serverless: $("$BIN" --version 2>/dev/null | head -1) already in deploy/$PREFIX"
else
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error "serverless@$VERSION"
    echo "$VERSION" > "$PREFIX/.requested"
    echo "install_serverless: $("$BIN" --version 2>/dev/null | head -1) in deploy/$PREFIX"
fi
if [ -f "$KIT" ] && [ "$(cat "$PREFIX/.toolkit-requested" 2>/dev/null)" = "$TOOLKIT" ]; then
    echo "install_serverless: tencent-component-toolkit already in deploy/$PREFIX"
else
    # --ignore-scripts: the toolkit is only read (its formatters), never run against a cloud
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error --ignore-scripts \
        "tencent-component-toolkit@$TOOLKIT"
    echo "$TOOLKIT" > "$PREFIX/.toolkit-requested"
fi
echo "install_serverless: tencent-component-toolkit $(node -p "require('./$KIT').version") in deploy/$PREFIX"
