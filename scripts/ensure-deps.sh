#!/usr/bin/env bash
# Installs what PageShot needs when it is missing: Node.js >= 20 is checked (not
# installed), npm dependencies come from package-lock.json, Chromium and fonts from the
# system's packages (Debian/Ubuntu apt). Safe to run again: it does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "PageShot needs Node.js >= 20: https://nodejs.org/ or your distribution's nodejs package." >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "PageShot needs Node.js >= 20; this is $(node --version)." >&2
  exit 1
fi

# npm dependencies: reinstall when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies…"
  npm ci --no-audit --no-fund
fi

have_chromium() {
  [ -n "${PAGESHOT_CHROMIUM_PATH:-}" ] && [ -x "${PAGESHOT_CHROMIUM_PATH}" ] && return 0
  [ -x /usr/bin/chromium ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1 || command -v google-chrome-stable >/dev/null 2>&1
}

if ! have_chromium; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "No Chromium found and no apt-get to install it: install Chromium and set PAGESHOT_CHROMIUM_PATH." >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "Installing Chromium from the system's packages…"
  $sudo apt-get update -qq
  # Debian ships "chromium"; Ubuntu names it "chromium-browser".
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-liberation ||
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium-browser fonts-liberation
fi
