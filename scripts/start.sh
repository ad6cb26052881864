#!/usr/bin/env bash
# Starts PageShot: installs what is missing, builds, and serves from compiled code.
# Configuration comes from environment variables (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run --silent build
exec node dist/cli.js serve
