#!/usr/bin/env bash
# Shared set-up of the thesis comparison scripts: environment for the tch build, release build of
# both binaries, the dataset folder (INFOPLANE_DATA, default ../shared/datasets) and helpers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="$(cd "${INFOPLANE_VENV:-.venv}" && pwd)"
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
cargo build -q --release --locked -p infoplane-analysis -p infoplane-recorder
bin="${CARGO_TARGET_DIR:-target}/release"
data="${INFOPLANE_DATA:-../shared/datasets}"
record() { "$bin/infoplane-record" --force "$@"; }
infoplane() { "$bin/infoplane" "$@"; }
# summary DIR...: the last epoch's metrics and the best validation accuracy of each run.
summary() {
    for d in "$@"; do
        echo "== $d"
        infoplane inspect "$d" | grep -A1 "^metrics"
    done
}
