#!/usr/bin/env bash
# Runs the benchmarks (release build); each prints its ratios against a reference measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo bench --locked --bench read_matrix
