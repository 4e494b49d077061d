#!/usr/bin/env bash
# The dashboard's browser test against a built binary (installs Chromium and Node if missing):
#   tests/browser/run.sh target/debug/docket          (or DOCKET_BIN=… tests/browser/run.sh)
# SCREENSHOT_DIR (default target/screenshots) receives the screenshots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$repo/scripts/lib.sh"

bin=${1:-${DOCKET_BIN:-}}
[ -n "$bin" ] || die "usage: $0 path/to/docket"
[ -x "$bin" ] || die "no docket binary at $bin (build it first: cargo build -p docket-cli)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# Debian's packages: its Node (18 on bookworm) is enough for the pinned playwright-core.
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || apt_install chromium

cd "$here"
say "installing the browser test's packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
say "browser test: dashboard"
cd "$repo"
exec node "$here/dashboard.mjs" "$bin"
