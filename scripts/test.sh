#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, type-checks, builds (the service
# runs from dist/ in production, so the build must work), then every test against real
# Chromium and a local fixture site.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# The Node.js ensure-deps.sh chose (maybe one it installed into .tools/), for what follows.
source scripts/node-env.sh
npm run --silent typecheck
npm run --silent build
npm test
