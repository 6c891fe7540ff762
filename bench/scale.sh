#!/usr/bin/env bash
# bench scale: the 1.05M-image set (tools/make_scale_set.py) end to end with the demo CNN, then info, insights, report and
# the dashboard (/similar, a heat map) on that run, each timed with its peak memory; and analyze alone at 100k and 300k.
#
#   bench/scale.sh [PERCEPT] [OUT]
#     PERCEPT  how to run the CLI (default: this checkout's Release build, "dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll")
#     OUT      scratch folder for the sets and runs (default /tmp/percept-bench-scale); needs about 3 GB
#
# Prints one line per step: seconds (wall), peak resident memory (MiB), exit code. A step over SCALE_TIMEOUT seconds
# (default 1200) is stopped and reported as such. Needs /usr/bin/time and curl, and the full Fashion-MNIST
# (../shared/datasets/fashion-mnist or /usr/share/datasets/fashion-mnist); says so and stops when it is absent.
set -uo pipefail
cd "$(dirname "$0")/.."
PERCEPT=${1:-"dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll"}
OUT=${2:-/tmp/percept-bench-scale}
LIMIT=${SCALE_TIMEOUT:-1200}
MODEL=models/fmnist-cnn/epoch-5.onnx

source "$(dirname "$0")/lib.sh"

for count in 100000 300000 1050000; do
  [ -f "$OUT/set-$count/images.npy" ] || /usr/bin/python3 tools/make_scale_set.py --count "$count" --out "$OUT/set-$count" > /dev/null || exit 1
done

for count in 100000 300000; do
  step "analyze-$count" $PERCEPT analyze --model $MODEL --data "$OUT/set-$count/images.npy" --labels "$OUT/set-$count/labels.npy" \
    --classes "$OUT/set-$count/classes.txt" --out "$OUT/run-$count" --overwrite
done
SET="$OUT/set-1050000"
RUN="$OUT/run-1050000"
step analyze-1050000 $PERCEPT analyze --model $MODEL --data "$SET/images.npy" --labels "$SET/labels.npy" --classes "$SET/classes.txt" --out "$RUN" --overwrite
grep -E '^(map|time):' "$OUT/analyze-1050000.log"
step info $PERCEPT info "$RUN"
step insights $PERCEPT insights "$RUN"
step report $PERCEPT report "$RUN" --out "$OUT/report.html"
ls -l "$OUT/report.html" 2>/dev/null | awk '{print "report size: " $5 " bytes"}'

# The dashboard: ready, the first /similar and a later one, a heat map; then SIGTERM.
probe_server 5391 "$(basename "$RUN")" "similar (first)|samples/123456/similar?k=12" "similar (again)|samples/654321/similar?k=12" \
  "heat map (gradcam)|samples/123456/explain?method=gradcam" "map|map"
