#!/usr/bin/env bash
# The README's test command: every test of the workspace (unit, doc, trybuild UI, end to end).
# Tests that need redis-server skip when it is missing, unless SECURE_API_REQUIRE_REDIS=1
# (set by .ci/run after installing it), which turns a missing server into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
