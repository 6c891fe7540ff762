# Shared by bench/scale.sh, bench/wide.sh and bench/cluster.sh (sourced): timing a step, and probing a dashboard.
# Sourced after PERCEPT and OUT are set: makes OUT and says which machine and which build the figures come from.

mkdir -p "$OUT"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; percept: $PERCEPT"

# step NAME COMMAND...: runs it under /usr/bin/time (stopped after $LIMIT seconds), prints seconds, peak MiB and the exit code.
step() {
  local name=$1; shift
  local start=$(date +%s.%N)
  timeout --signal=KILL "$LIMIT" /usr/bin/time -f "%M" -o "$OUT/$name.rss" "$@" > "$OUT/$name.log" 2>&1
  local code=$?
  local rss=$(tail -1 "$OUT/$name.rss" 2>/dev/null | grep -E '^[0-9]+$' || echo 0)
  [ "$code" = 137 ] && code="killed after ${LIMIT}s"
  printf '%-28s %8.1f s  %7d MiB  exit %s\n' "$name" "$(echo "$(date +%s.%N) - $start" | bc)" "$((rss / 1024))" "$code"
}

# probe_server PORT RUN_ID "LABEL|PATH" ...: serves, waits until ready, times each API request, prints the server's peak
# resident memory, then stops it with SIGTERM. Uses $PERCEPT, $RUN and $OUT.
probe_server() {
  local port=$1 id=$2; shift 2
  $PERCEPT serve "$RUN" --port "$port" > "$OUT/serve.log" 2>&1 &
  local server=$! start=$(date +%s.%N)
  for _ in $(seq 600); do grep -q "dashboard:" "$OUT/serve.log" && break; sleep 0.1; done
  printf '%-28s %8.1f s\n' "serve: ready" "$(echo "$(date +%s.%N) - $start" | bc)"
  for what in "$@"; do
    local label=${what%%|*} path=${what#*|}
    curl -s -o /dev/null -w "%{http_code} %{time_total}\n" "http://127.0.0.1:$port/api/runs/$id/$path" |
      awk -v l="serve: $label" '{printf "%-28s %8.2f s  http %s\n", l, $2, $1}'
  done
  printf '%-28s %8d MiB\n' "serve: resident" "$(($(awk '/VmHWM/{print $2}' /proc/$server/status 2>/dev/null || echo 0) / 1024))"
  kill -TERM $server; wait $server 2>/dev/null
}
