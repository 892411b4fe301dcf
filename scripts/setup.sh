#!/usr/bin/env bash
# Installs what a fresh machine lacks: Debian's nats-server and chromium, then the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: nats-server (tests and `shoal up`), chromium (the dashboard's browser test,
# driven by playwright-core). apt runs only when one is missing.
missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
[ -x "${SHOAL_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
