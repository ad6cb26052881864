#!/usr/bin/env bash
# Builds the Redis and PostgreSQL images compose.yaml runs beside PageShot, from Debian's
# packages on the registry-free bookworm base (scripts/build-base-image.sh), for machines
# that reach no container registry (the CI one). Elsewhere compose.yaml's defaults, the
# official redis and postgres images, need none of this.
#   scripts/build-service-images.sh [redis-tag] [postgres-tag]
# (defaults: localhost/pageshot-redis:bookworm, localhost/pageshot-postgres:bookworm)
# An image built from the same files is kept: each carries a label with the hash of the
# files it was built from, so an edit to them builds it again and nothing else does.
# Needs root and podman (scripts/test-cluster.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
redis_tag="${1:-localhost/pageshot-redis:bookworm}"
postgres_tag="${2:-localhost/pageshot-postgres:bookworm}"
base="${BASE_IMAGE:-localhost/pageshot-base:bookworm}"
[ -n "${BASE_IMAGE:-}" ] || bash scripts/build-base-image.sh "$base"
base_id=$(podman image inspect --format '{{.Id}}' "$base")

build() { # name tag
  local name=$1 tag=$2 dir=config/containers inputs
  # The base's id is part of the hash: a rebuilt base builds the services again.
  inputs=$( { echo "$base_id"; cat "$dir/$name.Containerfile" "$dir/$name-entrypoint.sh"; } | sha256sum | cut -c1-16)
  if [ "$(podman image inspect --format '{{index .Labels "org.pageshot.inputs"}}' "$tag" 2>/dev/null)" = "$inputs" ]; then
    echo "Image $tag is there already." >&2
    return
  fi
  echo "Building $tag…" >&2
  local args=(--network host --format docker --build-arg "BASE_IMAGE=$base" --label "org.pageshot.inputs=$inputs" -t "$tag" -f "$dir/$name.Containerfile")
  # Debian packages apt already downloaded here are reused through an overlay.
  if compgen -G '/var/cache/apt/archives/*.deb' >/dev/null; then
    args+=(-v /var/cache/apt/archives:/var/cache/apt/archives:O)
  fi
  local log old
  old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  log=$(mktemp)
  podman build "${args[@]}" "$dir" >"$log" 2>&1 || { tail -30 "$log" >&2; rm -f "$log"; echo "podman build $tag failed" >&2; exit 1; }
  rm -f "$log"
  # The image this one replaces is left without a name: remove it (kept if a container uses it).
  [ -z "$old" ] || [ "$old" = "$(podman image inspect --format '{{.Id}}' "$tag")" ] || podman rmi "$old" >/dev/null 2>&1 || true
  echo "Image $tag built." >&2
}
build redis "$redis_tag"
build postgres "$postgres_tag"
