#!/usr/bin/env bash
# Starts PageShot: installs what is missing, builds, and serves from compiled code.
# Configuration comes from environment variables (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# The Node.js ensure-deps.sh chose (maybe one it installed into .tools/), for what follows.
source scripts/node-env.sh
npm run --silent build
exec node dist/cli.js serve
