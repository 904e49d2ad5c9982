#!/usr/bin/env bash
# `make test`: after the build, installs the client-test npm packages (from the committed lock
# file) and runs every test binary and script through ctest, two at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

clients=test/clients
stamp=$clients/node_modules/.basalt-lock-stamp
if ! cmp -s $clients/package-lock.json "$stamp" 2>/dev/null; then
  npm ci --prefix $clients --no-audit --no-fund --loglevel=error
  cp $clients/package-lock.json "$stamp"
fi

ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 300
