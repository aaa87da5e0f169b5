#!/usr/bin/env bash
# The README's main job: set-up, release build, then the full pipeline on the embedded default
# (Tishby's 12-bit task, generated in code): record a 12-10-7-5-4-3-2 tanh network with
# infoplane-record, then inspect, convert, export, estimate, check, plot and report. It also installs
# the Python package (analysis/python) into the venv. Outputs land in ${1:-out/tishby}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="$(cd "${INFOPLANE_VENV:-.venv}" && pwd)"
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
out="${1:-out/tishby}"
mkdir -p "$out"
# The whole workspace in one build, so that the Python package below (maturin builds it alone)
# finds its dependencies compiled with the same features and only compiles itself.
cargo build --release --locked --workspace
(cd analysis/python && maturin develop --release --locked --quiet)
bin="${CARGO_TARGET_DIR:-target}/release"

"$bin/infoplane-record" --model fcn --dataset tishby --epochs 3000 --record-epochs log:100 \
    --format parquet --name fcn-tishby --out "$out/archive" --force
"$bin/infoplane" convert "$out/archive" --to hdf5 --out "$out/archive-hdf5" --force
"$bin/infoplane" inspect "$out/archive" | tee "$out/inspect.txt"
"$bin/infoplane" inspect "$out/archive-hdf5" --json > "$out/inspect.json"
"$bin/infoplane" export "$out/archive-hdf5" --layer fc3 --epoch 3000 --out "$out/fc3-epoch3000.npy" --labels "$out/labels.npy"
"$bin/infoplane" estimate "$out/archive" --estimator kl,bd --sigma2 "1e-3..1e1:9,thesis,nn*4" --out "$out/estimates.csv"
"$bin/infoplane" distances "$out/archive" --out "$out/distances.csv" --plot "$out/plots"
"$bin/infoplane" dpi "$out/estimates.csv" --out "$out/violations.csv" > "$out/dpi.txt"
"$bin/infoplane" snr "$out/archive" --out "$out/snr.csv" --plot "$out/plots"
"$bin/infoplane" plot "$out/estimates.csv" --kind infoplane --estimator kl,bd --sigma2 0.001,1 --out "$out/plots/infoplane"
"$bin/infoplane" report "$out/archive" --out "$out/report"
echo "demo: outputs in $out: archive/, archive-hdf5/, inspect.txt, inspect.json, fc3-epoch3000.npy,"
echo "      estimates.csv, distances.csv, distances-histogram.csv, violations.csv, dpi.txt, snr.csv,"
echo "      plots/ (distances, snr, information plane), report/index.html (open it in a browser)"
