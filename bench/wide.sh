#!/usr/bin/env bash
# bench wide: a run wider than 2^31 floats — 550,000 samples of a randomly initialised 64 -> 4,096 -> 10 MLP
# (tools/make_wide_mlp.py), whose 4,106 features per sample are projected to 4,096-wide perception vectors (2.25·10⁹
# floats, 9 GB) — analysed, a row range exported, served with /similar and a heat map answered; each step timed with
# its peak memory.
#
#   bench/wide.sh [PERCEPT] [OUT] [COUNT]
#     PERCEPT  how to run the CLI (default: this checkout's Release build)
#     OUT      scratch folder (default /tmp/percept-bench-wide); the run takes about 19 GB of disk
#     COUNT    samples (default 550000)
set -uo pipefail
cd "$(dirname "$0")/.."
PERCEPT=${1:-"dotnet src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll"}
OUT=${2:-/tmp/percept-bench-wide}
COUNT=${3:-550000}
LIMIT=${WIDE_TIMEOUT:-2400}

source "$(dirname "$0")/lib.sh"

[ -f "$OUT/set/x.npy" ] || /usr/bin/python3 tools/make_wide_mlp.py --count "$COUNT" --out "$OUT/set" > /dev/null || exit 1
RUN="$OUT/run"
step analyze $PERCEPT analyze --model "$OUT/set/model.onnx" --data "$OUT/set/x.npy" --labels "$OUT/set/labels.npy" --out "$RUN" --overwrite
grep -E '^(samples|map|time):' "$OUT/analyze.log"
python3 -c "import json; e=[f for f in json.load(open('$RUN/run.json'))['fields'] if f['name']=='embedding'][0]; print(f\"embedding: {e['rows']:,} x {e['width']:,} = {e['rows']*e['width']:,} floats\")"
step export-rows $PERCEPT export "$RUN" --field embedding --rows 100000:110000 --out "$OUT/rows.npy"
ls -l "$OUT/rows.npy" | awk '{print "export: " $5 " bytes"}'
step info $PERCEPT info "$RUN"

probe_server 5392 run "similar (first)|samples/123456/similar?k=12" "similar (again)|samples/500001/similar?k=50" \
  "heat map (saliency)|samples/123456/explain?method=saliency" "map|map"
