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
mkdir -p "$OUT"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; percept: $PERCEPT"

step() {
  local name=$1; shift
  local start=$(date +%s.%N)
  timeout --signal=KILL "$LIMIT" /usr/bin/time -f "%M" -o "$OUT/$name.rss" "$@" > "$OUT/$name.log" 2>&1
  local code=$?
  local rss=$(tail -1 "$OUT/$name.rss" 2>/dev/null | grep -E '^[0-9]+$' || echo 0)
  printf '%-28s %8.1f s  %7d MiB  exit %s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)" "$((rss / 1024))" "$code"
}

[ -f "$OUT/set/x.npy" ] || /usr/bin/python3 tools/make_wide_mlp.py --count "$COUNT" --out "$OUT/set" > /dev/null || exit 1
RUN="$OUT/run"
step analyze $PERCEPT analyze --model "$OUT/set/model.onnx" --data "$OUT/set/x.npy" --labels "$OUT/set/labels.npy" --out "$RUN" --overwrite
grep -E '^(samples|map|time):' "$OUT/analyze.log"
python3 -c "import json; e=[f for f in json.load(open('$RUN/run.json'))['fields'] if f['name']=='embedding'][0]; print(f\"embedding: {e['rows']:,} x {e['width']:,} = {e['rows']*e['width']:,} floats\")"
step export-rows $PERCEPT export "$RUN" --field embedding --rows 100000:110000 --out "$OUT/rows.npy"
ls -l "$OUT/rows.npy" | awk '{print "export: " $5 " bytes"}'
step info $PERCEPT info "$RUN"

$PERCEPT serve "$RUN" --port 5392 > "$OUT/serve.log" 2>&1 &
SERVER=$!
start=$(date +%s.%N)
for _ in $(seq 600); do grep -q "dashboard:" "$OUT/serve.log" && break; sleep 0.1; done
printf '%-28s %8.1f s\n' "serve: ready" "$(echo "$(date +%s.%N) - $start" | bc)"
for what in "similar (first)|samples/123456/similar?k=12" "similar (again)|samples/500001/similar?k=50" \
            "heat map (saliency)|samples/123456/explain?method=saliency" "map|map"; do
  label=${what%%|*}; path=${what#*|}
  curl -s -o /dev/null -w "%{http_code} %{time_total}\n" "http://127.0.0.1:5392/api/runs/run/$path" |
    awk -v l="serve: $label" '{printf "%-28s %8.2f s  http %s\n", l, $2, $1}'
done
printf '%-28s %8d MiB\n' "serve: resident" "$(($(awk '/VmHWM/{print $2}' /proc/$SERVER/status 2>/dev/null || echo 0) / 1024))"
kill -TERM $SERVER; wait $SERVER 2>/dev/null
