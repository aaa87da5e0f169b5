#!/usr/bin/env bash
# Saxe et al. (2018) on Tishby's 12-bit task: the 12-10-7-5-4-3-2 network with tanh vs ReLU
# (Adam 4e-4, batch 256, 3000 epochs, 80/20 split), then KL/BD estimates over a σ² grid.
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/tishby}"
for act in tanh relu; do
    record --model fcn --dataset tishby --activation "$act" --out "$out/$act"
    infoplane estimate "$out/$act" --sigma2 "1e-3..1e1:5,thesis,nn" --out "$out/$act-estimates.csv"
done
summary "$out/tanh" "$out/relu"
# Both runs in one report: DPI, SNR, information planes side by side, comparison by run.
infoplane report "$out/tanh" "$out/relu" --epochs every:10 --out "$out/report"
echo "report: $out/report/index.html"
