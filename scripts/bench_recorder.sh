#!/usr/bin/env bash
# Recording overhead: the MNIST FCN (1024-20-20-20, 4000 training images) trained with
# --record-epochs all vs none, same seed and threads, alternating runs; prints each wall time and
# the ratio of the medians (goal: all / none <= 1.10). Uses ../shared/datasets/mnist when present,
# else the small fixture (then the numbers only show that the script works).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(cd "${INFOPLANE_VENV:-.venv}" && pwd)"
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
cargo build -q --release --locked -p infoplane-recorder
bin="${CARGO_TARGET_DIR:-target}/release/infoplane-record"
data=../shared/datasets/mnist
args=(--model fcn --dataset mnist --epochs "${EPOCHS:-10}" --threads "${THREADS:-2}" --quiet --force)
if [ -d "$data" ]; then args+=(--data-dir "$data"); else args+=(--data-dir fixtures/datasets/mnist --subset 120); fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A times
for round in 1 2 3; do
    for mode in none all; do
        s=$(date +%s.%N)
        "$bin" "${args[@]}" --record-epochs "$mode" --out "$tmp/$mode" 2>/dev/null
        e=$(date +%s.%N)
        times[$mode]+="$(echo "$e - $s" | bc) "
    done
done
python3 - "${times[none]}" "${times[all]}" "$(du -sm "$tmp/all" | cut -f1)" <<'PY'
import statistics, sys
none = [float(x) for x in sys.argv[1].split()]
all_ = [float(x) for x in sys.argv[2].split()]
print("record-epochs none: " + " ".join(f"{t:.2f}" for t in none) + " s")
print("record-epochs all:  " + " ".join(f"{t:.2f}" for t in all_) + f" s ({sys.argv[3]} MiB archive)")
print(f"overhead (median all / median none): {statistics.median(all_) / statistics.median(none):.3f}x")
PY
