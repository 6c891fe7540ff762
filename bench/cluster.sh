#!/usr/bin/env bash
# bench cluster: the 1.05M-image set (tools/make_scale_set.py) as an array job would run it, on one machine: N shards of
# `percept analyze --shard I/N`, one after another, then `percept merge`; then the same merge with a landmark map
# (150,000 landmarks) placed at once, and placed later in N shards (`percept place --shard I/N`, then `--parts`). Each
# step timed with its peak memory. Compare with bench/scale.sh's single analysis of the same set (same machine).
#
#   bench/cluster.sh [PERCEPT] [OUT] [N]
#     PERCEPT  how to run the CLI (default: this checkout's Release build)
#     OUT      scratch folder (default /tmp/percept-bench-cluster); the set is made there (or in $SCALE_SET when set)
#     N        shards (default 8)
set -uo pipefail
cd "$(dirname "$0")/.."
PERCEPT=${1:-"dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll"}
OUT=${2:-/tmp/percept-bench-cluster}
N=${3:-8}
LIMIT=${SCALE_TIMEOUT:-1200}
MODEL=models/fmnist-cnn/epoch-5.onnx
source "$(dirname "$0")/lib.sh"
SET=${SCALE_SET:-$OUT/set-1050000}
[ -f "$SET/images.npy" ] || /usr/bin/python3 tools/make_scale_set.py --count 1050000 --out "$SET" > /dev/null || exit 1
for i in $(seq 1 "$N"); do
  step "shard-$i-of-$N" $PERCEPT analyze --model $MODEL --data "$SET/images.npy" --labels "$SET/labels.npy" --classes "$SET/classes.txt" \
    --shard "$i/$N" --out "$OUT/shards/shard-$i" --overwrite
done
du -sh "$OUT/shards" | awk '{print "shards on disk: " $1}'
step merge $PERCEPT merge "$OUT/shards" --out "$OUT/run" --overwrite
grep -E '^(map|time):' "$OUT/merge.log"
step merge-landmarks $PERCEPT merge "$OUT/shards" --out "$OUT/run-landmarks" --overwrite --map-landmarks 150000
grep -E '^(map|time):' "$OUT/merge-landmarks.log"
step merge-place-later $PERCEPT merge "$OUT/shards" --out "$OUT/run-place" --overwrite --map-landmarks 150000 --place-later
rm -rf "$OUT/parts"
for i in $(seq 1 "$N"); do
  step "place-$i-of-$N" $PERCEPT place "$OUT/run-place" --shard "$i/$N" --out "$OUT/parts/part-$i"
done
step place-parts $PERCEPT place "$OUT/run-place" --parts "$OUT/parts"
tail -1 "$OUT/place-parts.log"
