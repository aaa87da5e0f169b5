#!/usr/bin/env bash
# Five seeds of the 12-10-7-5-4-3-2 tanh network on Tishby's 12-bit task (3000 epochs each),
# estimated with the pairwise bounds, the Monte-Carlo estimate between them and Tishby's binning
# at three σ² and the thesis rule; then the mean information plane with 95 % bands over the
# seeds (aggregate, plot) and the per-layer robustness verdict, and a report of all five
# (kl, bd and bin; it aggregates the seeds and opens with the verdict). About 8 minutes on 2 cores.
source "$(dirname "$0")/record_common.sh"
out="${1:-out/examples/tishby-seeds}"
tables=()
for seed in 1 2 3 4 5; do
    record --model fcn --dataset tishby --seed "$seed" --quiet --out "$out/seed$seed"
    infoplane estimate "$out/seed$seed" --estimator kl,bd,mc,bin \
        --sigma2 "0.001,0.01,0.1,thesis" --epochs every:4 --out "$out/estimates-seed$seed.csv"
    tables+=("$out/estimates-seed$seed.csv")
done
infoplane aggregate "${tables[@]}" --by seed --out "$out/aggregate.csv"
infoplane plot "$out/aggregate.csv" --estimator mc,bin --out "$out/plane-mean"
infoplane verdict "${tables[@]}" --out "$out/verdict.csv" | tee "$out/verdict.txt"
# All five seeds in one report: it aggregates them and opens with the verdict.
infoplane report "$out"/seed{1,2,3,4,5} --estimator kl,bd,bin --sigma2 0.001,0.01,0.1,thesis \
    --epochs every:4 --out "$out/report"
echo "report: $out/report/index.html"
