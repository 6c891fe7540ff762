#!/usr/bin/env bash
# Submits a Percept analysis to Slurm: an array of N shard tasks, then the merge, which starts only when all succeeded.
#   MODEL=m.onnx DATA=images/ SHARDS=/shared/shards RUN=/shared/run [LABELS=… CLASSES=… PERCEPT=percept] examples/slurm/submit.sh [N]
# SHARD_CPUS (default 4) and MERGE_CPUS (default 8) are the cores each task asks for; PERCEPT_ARGS and MERGE_ARGS add
# options to analyze and merge. Prints the two job ids: `squeue` shows them; the run appears at $RUN when the merge is done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-8}"
mkdir -p "$SHARDS"
shards=$(sbatch --parsable --export=ALL --array=0-$((n - 1)) --cpus-per-task="${SHARD_CPUS:-4}" "$here/shards.sbatch")
merge=$(sbatch --parsable --export=ALL --cpus-per-task="${MERGE_CPUS:-8}" --dependency=afterok:"$shards" "$here/merge.sbatch")
echo "shards: job $shards ($n tasks); merge: job $merge"
