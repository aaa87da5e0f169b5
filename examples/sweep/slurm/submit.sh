#!/bin/bash
# Submits the shard array, then the merge once every shard succeeded.
set -euo pipefail
mkdir -p logs
array=$(sbatch --parsable examples/sweep/slurm/sweep_array.sbatch)
sbatch --dependency=afterok:"$array" --job-name=infoplane-merge --output=logs/merge-%j.out \
    --wrap "infoplane merge parts --expect runs/seed1 runs/seed2 runs/seed3 runs/seed4 runs/seed5 --epochs every:4 --out merged.parquet"
