#!/usr/bin/env bash
# Thesis §5.1.3: LeNet vs the 1024-20-20-20 FCN on a 4000-image MNIST subset (validation: the
# 10000 test images). The FCN trains for the same wall time as the LeNet did (--time-limit).
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/mnist}"
record --model lenet --dataset mnist --data-dir "$data/mnist" --subset 4000 --out "$out/lenet"
lenet_s=$(python3 -c "import json; print(json.load(open('$out/lenet/epochs/epoch-000030/epoch.json'))['metrics']['wall_time_s'])")
echo "LeNet trained for $lenet_s s; the FCN gets the same time"
record --model fcn --dataset mnist --data-dir "$data/mnist" --subset 4000 --epochs 1000 \
    --time-limit "$lenet_s" --record-epochs every:5 --out "$out/fcn"
for run in lenet fcn; do
    infoplane estimate "$out/$run" --sigma2 0.1,thesis --epochs every:10 --out "$out/$run-estimates.csv"
done
summary "$out/lenet" "$out/fcn"
# Both runs in one report: DPI, SNR, information planes side by side, comparison by run.
infoplane report "$out/lenet" "$out/fcn" --epochs every:10 --out "$out/report"
echo "report: $out/report/index.html"
