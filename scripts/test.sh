#!/usr/bin/env bash
# The test command: installs what is needed, then runs every test (unit, integration, doc),
# formatting and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --quiet 2>&1
cargo test --doc --quiet 2>&1
