#!/usr/bin/env bash
# Thesis §5.1.2: a stacked 3 x 200 recurrent network vs a 3 x 200 FCN on the flattened one-hot
# names (60 per language, 1080 names, 80/20 split); the RNN tracks each layer's last hidden state.
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/names}"
record --model rnn --dataset names --data-dir "$data/names" --out "$out/rnn"
record --model fcn --dataset names --data-dir "$data/names" --out "$out/fcn"
for run in rnn fcn; do
    infoplane estimate "$out/$run" --sigma2 0.001,0.1,thesis --epochs every:5 --out "$out/$run-estimates.csv"
done
summary "$out/rnn" "$out/fcn"
# Both runs in one report: DPI, SNR, information planes side by side, comparison by run.
infoplane report "$out/rnn" "$out/fcn" --epochs every:10 --out "$out/report"
echo "report: $out/report/index.html"
