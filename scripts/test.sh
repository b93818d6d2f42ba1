#!/usr/bin/env bash
# The test command: installs what is needed, then runs every test (unit, integration, doc),
# formatting and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A one-off build gains nothing from incremental state (2.5 GB of it), and CI disks are small.
export CARGO_INCREMENTAL=0
echo "test: $(df -h --output=avail . | tail -1 | tr -d ' ') free on the build disk" >&2
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --quiet 2>&1
cargo test --doc --quiet 2>&1
