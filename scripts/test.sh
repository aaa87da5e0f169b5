#!/usr/bin/env bash
# Runs every check: set-up (idempotent), formatting, clippy with warnings as errors, all tests
# (Rust, then the Python package's pytest suite), then the wheel installed into a fresh venv.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="$(cd "${INFOPLANE_VENV:-.venv}" && pwd)"
export INFOPLANE_PYTHON="$venv/bin/python"
# The recorder links libtorch from the venv's torch (tch's torch-sys asks the venv's python).
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (workspace, all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== invariant: the core library and the CLI never link tch"
if cargo tree --locked -e normal -p infoplane -p infoplane-analysis -p infoplane-python | grep -qE "(torch-sys|[ ─]tch) v"; then
    echo "tch is linked by the core library or the CLI" >&2
    exit 1
fi
echo "== invariant: the core library and the Python module build without clap (it is the CLI's)"
for p in infoplane infoplane-python; do
    if cargo tree --locked -e normal -p "$p" | grep -q " clap v"; then
        echo "$p depends on clap" >&2
        exit 1
    fi
done
echo "== cargo test (workspace)"
cargo test --workspace --locked
echo "== Python package: built into the venv with the same target dir (maturin), then pytest"
(cd analysis/python && maturin develop --locked --quiet)
target="$(cargo metadata --format-version 1 --no-deps | python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
INFOPLANE_CLI="$target/debug/infoplane" python -m pytest analysis/python/tests -q
echo "== the wheel: built (dev profile, reusing the build above), installed into a fresh venv, README quickstart"
bash scripts/wheel.sh --dev
bash scripts/test_wheel.sh
