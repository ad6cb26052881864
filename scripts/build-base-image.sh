#!/usr/bin/env bash
# Builds a Debian bookworm base image without a container registry, for machines that
# have none (like the CI one): mmdebstrap bootstraps a minbase root file system from the
# Debian mirror apt already uses here, and podman imports it.
#   scripts/build-base-image.sh [tag]       (default: localhost/pageshot-base:bookworm)
# The Dockerfile then builds FROM it: --build-arg BASE_IMAGE=<tag>. Elsewhere, use the
# Dockerfile's default, debian:bookworm-slim, and skip this script. Needs root.
set -euo pipefail
tag="${1:-localhost/pageshot-base:bookworm}"

if podman image exists "$tag"; then
  echo "Base image $tag is there already." >&2
  exit 0
fi

# The host's own apt sources (a file given as a mirror is read as a sources list), so the
# image's packages come from wherever this machine's do.
sources=()
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$file" ] && sources+=("$file")
done
[ "${#sources[@]}" -gt 0 ] || sources=(http://deb.debian.org/debian)

echo "Bootstrapping a Debian bookworm base image ($tag)…" >&2
# --skip=output/dev: the tarball cannot hold device nodes without privileges podman import
# needs anyway; the container runtime creates /dev itself.
mmdebstrap --variant=minbase --format=tar --skip=output/dev \
  --aptopt='Acquire::Retries "3"' \
  bookworm - "${sources[@]}" |
  podman import --quiet --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "Base image $tag built." >&2
