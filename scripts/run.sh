#!/usr/bin/env bash
# `make run`: starts a mock upstream on 127.0.0.1:8081 and the gateway on 127.0.0.1:8080
# (config/quickstart.toml). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

"$BUILD_DIR/basalt" mock-upstream --listen 127.0.0.1:8081 &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true' EXIT

"$BUILD_DIR/basalt" serve --config config/quickstart.toml
