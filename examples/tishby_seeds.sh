#!/usr/bin/env bash
# Five seeds of the 12-10-7-5-4-3-2 tanh network on Tishby's 12-bit task (3000 epochs each):
# the pairwise bounds and Tishby's binning at three σ² and the thesis rule, and the Monte-Carlo
# estimate between the bounds at σ² = 0.01 and the thesis rule, every 4th recorded epoch; then
# the mean information plane with 95 % boxes over the seeds (aggregate, plot), the per-layer
# robustness verdict, and one report of all five (it aggregates the seeds and opens with the
# verdict). About 6 minutes on 2 cores.
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/tishby-seeds}"
tables=()
for seed in 1 2 3 4 5; do
    record --model fcn --dataset tishby --seed "$seed" --quiet --out "$out/seed$seed"
    infoplane estimate "$out/seed$seed" --estimator kl,bd,bin --sigma2 "0.001,0.01,0.1,thesis" \
        --epochs every:4 --out "$out/estimates-seed$seed.csv"
    infoplane estimate "$out/seed$seed" --estimator mc --sigma2 "0.01,thesis" \
        --epochs every:4 --out "$out/mc-seed$seed.csv"
    tables+=("$out/estimates-seed$seed.csv" "$out/mc-seed$seed.csv")
done
infoplane aggregate "${tables[@]}" --by seed --out "$out/aggregate.csv"
infoplane plot "$out/aggregate.csv" --estimator mc --out "$out/plane-mean-mc"
infoplane plot "$out/aggregate.csv" --estimator kl,bd --sigma2 0.1 --out "$out/plane-mean-kl-bd"
infoplane verdict "${tables[@]}" --out "$out/verdict.csv" | tee "$out/verdict.txt"
infoplane report "$out"/seed{1,2,3,4,5} --estimator kl,bd,bin --sigma2 0.001,0.01,0.1,thesis \
    --epochs every:8 --out "$out/report"
echo "report: $out/report/index.html"
