#!/usr/bin/env bash
# The README's main job: set-up, release build, then the full pipeline on the embedded default
# (Tishby's 12-bit task, generated in code). Outputs land in ${1:-out/tishby}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${INFOPLANE_VENV:-.venv}"
out="${1:-out/tishby}"
mkdir -p "$out"
cargo build --release --locked -p infoplane-analysis
infoplane() { cargo run -q --release --locked -p infoplane-analysis -- "$@"; }

"$venv/bin/python" scripts/demo_data.py "$out/npy"
infoplane import --activations "$out/npy/activations.npz" --labels "$out/npy/labels.npy" \
    --inputs "$out/npy/inputs.npy" --kinds linear,linear,linear,linear,linear,output \
    --classes 0,1 --model fcn-12-10-7-5-4-3-2-random --dataset tishby-12bit \
    --notes "demo: random tanh network with weights growing 1.35x per epoch" \
    --format parquet --out "$out/archive" --force
infoplane convert "$out/archive" --to hdf5 --out "$out/archive-hdf5" --force
infoplane inspect "$out/archive" | tee "$out/inspect.txt"
infoplane inspect "$out/archive-hdf5" --json > "$out/inspect.json"
infoplane export "$out/archive-hdf5" --layer l3 --epoch 7 --out "$out/l3-epoch7.npy" --labels "$out/labels.npy"
infoplane estimate "$out/archive" --estimator kl,bd --sigma2 "1e-3..1e1:9,thesis,nn*4" --out "$out/estimates.csv"
infoplane distances "$out/archive" --out "$out/distances.csv" --plot "$out/plots"
echo "demo: outputs in $out: archive/, archive-hdf5/, inspect.txt, inspect.json, l3-epoch7.npy,"
echo "      estimates.csv, distances.csv, distances-histogram.csv, plots/distances-*.png|svg"
