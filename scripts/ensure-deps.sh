#!/usr/bin/env bash
# Installs what PageShot needs when it is missing: Node.js >= 22 (Node 24 from the npm
# registry where the machine's own is older), the npm dependencies in package-lock.json,
# and from the system's packages (Debian/Ubuntu apt) Chromium, fonts for every script and
# uBlock Origin's filter lists (config/system-packages.txt, which the Dockerfile reads too).
# Safe to run again: it does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node.js >= 22: the machine's own, or Node 24 installed into .tools/ (scripts/node-env.sh).
source scripts/node-env.sh

# npm dependencies: reinstall when the lock file changed since the last install, or when
# they were installed by another Node.js (a native module built for one Node's ABI crashes
# or refuses to load in another).
abi_mark=node_modules/.pageshot-node-abi
node_abi=$(node -p process.versions.modules)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
  [ "$(cat "$abi_mark" 2>/dev/null)" != "$node_abi" ]; then
  echo "Installing npm dependencies for Node.js $(node --version)…"
  npm ci --no-audit --no-fund
  echo "$node_abi" > "$abi_mark"
fi

have_chromium() {
  [ -n "${PAGESHOT_CHROMIUM_PATH:-}" ] && [ -x "${PAGESHOT_CHROMIUM_PATH}" ] && return 0
  [ -x /usr/bin/chromium ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1 || command -v google-chrome-stable >/dev/null 2>&1
}

# Fonts for every script and the filter lists: one list, shared with the Dockerfile.
mapfile -t system_packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' config/system-packages.txt | awk '{ print $1 }')

# The listed packages that are not installed, one per line. One dpkg-query call and no
# other process keep this fast: it runs at every start and every test run.
missing_system_packages() {
  local installed package
  # "ii", "hi" (held)…: the second letter of the abbreviated status is "i" when installed.
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${system_packages[@]}" 2>/dev/null |
    awk 'substr($1, 2, 1) == "i" { print $2 }') || true
  for package in "${system_packages[@]}"; do
    [[ $'\n'"$installed"$'\n' == *$'\n'"$package"$'\n'* ]] || echo "$package"
  done
}

# Without dpkg (not Debian/Ubuntu), ask fontconfig which scripts no font covers instead.
missing_font_coverage() {
  local lang
  for lang in zh-cn ja ko hi bn ta th ar he; do
    [ -n "$(fc-list ":lang=$lang" family 2>/dev/null)" ] || printf '%s ' "$lang"
  done
  [ -n "$(fc-list ':lang=und-zsye:color=true' family 2>/dev/null)" ] || printf 'colour-emoji '
}

need_chromium=no
have_chromium || need_chromium=yes
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  mapfile -t missing < <(missing_system_packages)
elif command -v fc-list >/dev/null 2>&1; then
  uncovered=$(missing_font_coverage)
  if [ -n "$uncovered" ]; then
    echo "WARNING: no font for: ${uncovered% }. Screenshots will show empty boxes for that text. Install Noto fonts (Sans, CJK, Color Emoji) with your system's package manager." >&2
  fi
else
  echo "WARNING: cannot check fonts (no dpkg-query, no fc-list). Install Noto fonts (Sans, CJK, Color Emoji) or some scripts render as empty boxes." >&2
fi

if [ "$need_chromium" = yes ] && ! command -v apt-get >/dev/null 2>&1; then
  echo "No Chromium found and no apt-get to install it: install Chromium and set PAGESHOT_CHROMIUM_PATH." >&2
  exit 1
fi

if [ "$need_chromium" = yes ] || [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    # Chromium is there (checked above): screenshots work, some text shows as empty boxes.
    echo "WARNING: missing ${missing[*]} and no apt-get to install them: some scripts and emoji will render as empty boxes, and ad blocking has no EasyList." >&2
  else
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Installing from the system's packages:$([ "$need_chromium" = no ] || printf ' chromium') ${missing[*]}…"
    # Offline, the package lists already here may still do; the install says if not.
    $sudo apt-get update -qq || echo "WARNING: apt-get update failed; trying with the package lists already here." >&2
    # A package this release lacks (fonts-symbola is not in every one) would make apt
    # refuse the whole list, Chromium included: leave it out, loudly.
    available=()
    for package in "${missing[@]}"; do
      if apt-cache show "$package" >/dev/null 2>&1; then available+=("$package")
      else echo "WARNING: $package is not available from apt here; skipping it." >&2; fi
    done
    apt_install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"; }
    if [ "$need_chromium" = yes ]; then
      # Debian ships "chromium"; Ubuntu names it "chromium-browser".
      apt_install chromium "${available[@]}" || apt_install chromium-browser "${available[@]}"
    elif [ "${#available[@]}" -gt 0 ] && ! apt_install "${available[@]}"; then
      echo "WARNING: installing ${available[*]} failed: some scripts and emoji may render as empty boxes, and ad blocking may have no EasyList." >&2
    fi
  fi
fi
