#!/usr/bin/env bash
# Runs every check: set-up (idempotent), formatting, clippy with warnings as errors, all tests.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export INFOPLANE_PYTHON="${INFOPLANE_VENV:-$PWD/.venv}/bin/python"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test (workspace)"
cargo test --workspace --locked
