#!/usr/bin/env bash
# Runs the benchmarks (release build); each prints its ratios against a reference measured in
# the same run. Pass --quick for a smaller pairwise run (N = 4000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${INFOPLANE_VENV:-.venv}"
cargo bench --locked --bench read_matrix
cargo bench --locked --bench gram
cargo bench --locked --bench error_bars -- "$@"
if [[ " $* " == *" --quick "* ]]; then
    cargo bench --locked --bench renyi_slq -- --n 4000
else
    cargo bench --locked --bench renyi_slq
fi
cargo bench --locked --bench renyi_linear
cargo build --release --locked -p infoplane-analysis
target="${CARGO_TARGET_DIR:-target}"
work="$(mktemp -d)"
"$venv/bin/python" scripts/bench_pairwise.py "$target/release/infoplane" "$work" "$@"
rm -rf "$work"
