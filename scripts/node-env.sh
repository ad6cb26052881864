# Sourced, not run, by scripts/ensure-deps.sh, start.sh and test.sh: makes `node` and `npm`
# a Node.js >= 22 for the rest of the script that sources it.
#
# The machine's own Node.js when it is new enough. Otherwise (Debian 12 ships 18, many
# machines still have 20, past its end of life) the official binary of the version in
# .node-version, installed once into .tools/ by scripts/install-node.sh from the npm
# registry and put first on PATH; the machine's own npm runs on it (npm too is installed
# there when the machine has none). Native modules (better-sqlite3) are then built
# against that Node's own headers, which ship in the same package: npm_config_nodedir
# points there, whatever a machine's npmrc says.
pageshot_use_node() {
  local root major version dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if command -v node >/dev/null 2>&1; then
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [ "$major" -ge 22 ] && command -v npm >/dev/null 2>&1; then return 0; fi
  fi
  version="$(tr -d '[:space:]' < "$root/.node-version")"
  dir="$root/.tools/node-$version"
  if [ ! -x "$dir/bin/node" ] || { [ ! -e "$dir/bin/npm" ] && ! command -v npm >/dev/null 2>&1; }; then
    echo "Node.js $(node --version 2>/dev/null || echo '(none)') is older than 22: installing Node.js $version for PageShot into .tools/" >&2
    bash "$root/scripts/install-node.sh" "$dir" "$(command -v npm >/dev/null 2>&1 || echo --with-npm)"
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
}
pageshot_use_node
