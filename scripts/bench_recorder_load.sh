#!/usr/bin/env bash
# The recorder on a busy machine: the main job's network (Tishby, 12-10-7-5-4-3-2 tanh) for
# EPOCHS epochs (300), idle and with one core kept busy by a CPU hog, with the automatic thread
# count and with --threads 2 (libtorch's default on 2 cores, what the recorder did before).
# Prints the wall times and loaded/idle ratios (goal for the default: <= 2.5x).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(cd "${INFOPLANE_VENV:-.venv}" && pwd)"
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
cargo build -q --release --locked -p infoplane-recorder
bin="${CARGO_TARGET_DIR:-target}/release/infoplane-record"
tmp="$(mktemp -d)"
hog=""
trap 'rm -rf "$tmp"; [ -z "$hog" ] || kill "$hog" 2>/dev/null || true' EXIT
run() { # LABEL ARGS...: wall seconds of one recording
    local s e
    s=$(date +%s.%N)
    "$bin" --model fcn --dataset tishby --epochs "${EPOCHS:-300}" --quiet --force "${@:2}" --out "$tmp/$1" 2>/dev/null
    e=$(date +%s.%N)
    echo "$e - $s" | bc
}
idle_auto=$(run a)
idle_two=$(run b --threads 2)
sh -c 'while :; do :; done' &
hog=$!
busy_auto=$(run c)
busy_two=$(run d --threads 2)
kill "$hog"; hog=""
python3 - "$idle_auto" "$busy_auto" "$idle_two" "$busy_two" <<'PY'
import sys
ia, ba, it, bt = map(float, sys.argv[1:])
print(f"default threads: idle {ia:.2f} s, one core busy {ba:.2f} s, ratio {ba / ia:.2f}x (goal <= 2.5x)")
print(f"--threads 2:     idle {it:.2f} s, one core busy {bt:.2f} s, ratio {bt / it:.2f}x")
PY
