#!/usr/bin/env bash
# Installs the official Node.js binary of the version in .node-version into a folder:
#   scripts/install-node.sh <folder> [--with-npm]
# It comes from the npm registry (package node-linux-<arch>: bin/node and the headers
# native modules build against, no npm), so it needs nothing but the registry, which every
# PageShot install reaches anyway. Each tarball is checked against its SHA-512 in
# scripts/node-sums.txt before it is unpacked. --with-npm also installs npm (for a machine
# or an image with no npm at all). Used by scripts/node-env.sh and the Dockerfile.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
dest="${1:?usage: install-node.sh <folder> [--with-npm]}"
with_npm="${2:-}"
NPM_VERSION=11.21.2

node_version="$(tr -d '[:space:]' < "$root/.node-version")"
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "No official Node.js $node_version binary for $(uname -m) on the npm registry: install Node.js >= 22 yourself." >&2; exit 1 ;;
esac
registry="${npm_config_registry:-https://registry.npmjs.org/}"
registry="${registry%/}"

download() { # url file
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 --connect-timeout 30 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else echo "Neither curl nor wget is installed: cannot fetch $1." >&2; return 1
  fi
}

# Fetches <package>@<version>'s tarball, checks it, unpacks its package/ folder into <into>.
fetch_package() { # package version into
  local package="$1" version="$2" into="$3" sum tarball
  sum="$(awk -v p="$package" -v v="$version" '$1 == p && $2 == v { print $3 }' "$here/node-sums.txt")"
  if [ -z "$sum" ]; then
    echo "scripts/node-sums.txt has no SHA-512 for $package $version: add it before installing." >&2
    return 1
  fi
  tarball="$(mktemp)"
  echo "Fetching $package@$version from $registry…" >&2
  download "$registry/$package/-/$package-$version.tgz" "$tarball"
  if ! echo "$sum  $tarball" | sha512sum -c --status; then
    rm -f "$tarball"
    echo "$package-$version.tgz does not match its SHA-512 in scripts/node-sums.txt: not installed." >&2
    return 1
  fi
  mkdir -p "$into"
  tar -xzf "$tarball" -C "$into" --strip-components=1 --no-same-owner
  rm -f "$tarball"
}

# Unpack beside the destination and move into place at the end, so that an interrupted
# install never leaves a folder that looks complete.
staging="$dest.partial"
rm -rf "$staging"
fetch_package "node-linux-$arch" "$node_version" "$staging"
if [ "$with_npm" = --with-npm ]; then
  fetch_package npm "$NPM_VERSION" "$staging/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$staging/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$staging/bin/npx"
fi
"$staging/bin/node" --version >/dev/null
rm -rf "$dest"
mv "$staging" "$dest"
echo "Node.js $("$dest/bin/node" --version) installed in $dest" >&2
