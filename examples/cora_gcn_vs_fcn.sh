#!/usr/bin/env bash
# Thesis §5.1.1: GCN vs FCN (3 x 200, ReLU, full-batch Adam 1e-3, 200 epochs) on Cora with 140
# training and 1000 validation nodes; then the KL/BD information plane at σ² = 0.1 and 0.001.
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/cora}"
for model in gcn fcn; do
    record --model "$model" --dataset cora --data-dir "$data/cora_linqs" --split standard --out "$out/$model"
    infoplane estimate "$out/$model" --sigma2 0.001,0.1,thesis --epochs every:20 --out "$out/$model-estimates.csv"
done
summary "$out/gcn" "$out/fcn"
# Both runs in one report: DPI, SNR, information planes side by side, comparison by run.
infoplane report "$out/gcn" "$out/fcn" --epochs every:10 --out "$out/report"
echo "report: $out/report/index.html"
