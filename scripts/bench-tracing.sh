#!/usr/bin/env bash
# Measures what tracing costs: the churn pipeline end to end on the
# embedded tier, with spans exported over OTLP to a local sink and with
# tracing off, in the same run, on the same input.
#
#   scripts/bench-tracing.sh [ROWS] [ROUNDS]     default: 1000000 3
#
# Each round runs `fusion run` on a fresh home twice — tracing off (no
# OTEL_EXPORTER_OTLP_ENDPOINT) and on (OTEL_EXPORTER_OTLP_ENDPOINT at
# scripts/bench/otlpsink, a receiver that counts and discards, over gRPC),
# in alternating order from round to round — lands the sample with `fusion ingest --wait` and stops the process. The
# cost is the CPU seconds (user + system) of the whole `fusion run`
# process, start to exit (the final flush of the spans included), as
# GNU time reports them. It prints the best of the rounds for each mode,
# the ratio and the spans the sink received; the table also goes to
# bench-out/tracing.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rows=${1:-1000000}
rounds=${2:-3}
out="$root/bench-out"
mkdir -p "$out"
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time; Debian package time)" >&2; exit 1; }

echo "building fusion and the OTLP sink..." >&2
go build -o "$out/fusion" ./services/fusion
go build -o "$out/otlpsink" ./scripts/bench/otlpsink
csv="$out/customers-$rows.csv"
[[ -s "$csv" ]] || "$out/fusion" sample --rows "$rows" -o "$csv"

sink_out=$(mktemp "$out/sink-XXXX")
"$out/otlpsink" -protocol grpc >"$sink_out" &
sink=$!
pid=""
cleanup() {
  [[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true
  kill "$sink" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -s "$sink_out" ]] && break; sleep 0.1; done
endpoint=$(head -1 "$sink_out")

# seconds converts a Go duration (291ms, 8.81s, 1m5.2s) to seconds.
seconds() { awk '{ d=$1; s=0; if (d ~ /ms$/) { sub(/ms$/,"",d); s=d/1000 } else { if (d ~ /m/) { split(d,a,"m"); s=a[1]*60; d=a[2] } sub(/s$/,"",d); s+=d } printf "%.3f\n", s }'; }

# run MODE: one end-to-end run; prints "cpu_seconds run_seconds".
run() {
  local mode=$1 home timefile child run_line
  home=$(mktemp -d "$out/home-XXXX")
  timefile="$home.time"
  local env=(env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT FUSION_LANDING_POLL=50ms)
  if [[ $mode == on ]]; then
    env+=(OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_EXPORTER_OTLP_PROTOCOL=grpc)
  fi
  /usr/bin/time -f '%U %S' -o "$timefile" "${env[@]}" "$out/fusion" run --home "$home" 2>"$home.log" &
  pid=$!
  # GNU time does not pass signals on: stop the fusion process itself.
  for _ in $(seq 50); do child=$(pgrep -P "$pid" -x fusion || true); [[ -n "$child" ]] && break; sleep 0.1; done
  [[ -n "$child" ]] || { cat "$home.log" >&2; exit 1; }
  sleep 1
  summary=$("$out/fusion" ingest "$csv" --home "$home" --pipeline churn --wait --timeout 30m)
  kill -INT "$child"
  wait "$pid" || true
  pid=""
  run_line=$(echo "$summary" | grep -m1 '^run ')
  echo "$run_line" | grep -q succeeded || { echo "$summary" >&2; cat "$home.log" >&2; exit 1; }
  awk '{ printf "%.2f ", $1 + $2 }' "$timefile"
  echo "$run_line" | awk '{print $NF}' | seconds
  rm -rf "$home" "$home.log" "$timefile"
}

best_off="" best_on="" wall_off="" wall_on=""
for r in $(seq "$rounds"); do
  order=(off on)
  ((r % 2)) || order=(on off) # alternate, so that neither mode always goes first
  for mode in "${order[@]}"; do
    run "$mode" >"$out/.tracing-run"
    read -r cpu wall <"$out/.tracing-run"
    echo "round $r tracing $mode: $cpu CPU-s, run $wall s" >&2
    if [[ $mode == off ]]; then
      if [[ -z "$best_off" ]] || awk -v a="$cpu" -v b="$best_off" 'BEGIN { exit !(a < b) }'; then best_off=$cpu wall_off=$wall; fi
    else
      if [[ -z "$best_on" ]] || awk -v a="$cpu" -v b="$best_on" 'BEGIN { exit !(a < b) }'; then best_on=$cpu wall_on=$wall; fi
    fi
  done
done
kill -INT "$sink"; wait "$sink" || true
spans=$(awk '/^spans/ {print $2}' "$sink_out")
requests=$(awk '/^spans/ {print $4}' "$sink_out")
rm -f "$sink_out" "$out/.tracing-run"
[[ "${spans:-0}" -gt 0 ]] || { echo "the sink received no spans: tracing was not on" >&2; exit 1; }

{
  echo "churn pipeline, $rows source rows, embedded tier, $(nproc) CPUs, $(date -u +%Y-%m-%d), best of $rounds"
  echo
  echo "| tracing | CPU seconds of \`fusion run\` | run time (ledger) | spans exported |"
  echo "|---|---:|---:|---:|"
  echo "| off | $best_off | $wall_off s | 0 |"
  echo "| on, OTLP/gRPC to a local sink | $best_on | $wall_on s | $((spans / rounds)) per run ($requests requests in all) |"
  awk -v on="$best_on" -v off="$best_off" 'BEGIN { printf "| on / off | **%.3fx** (%+.1f%%) | | |\n", on/off, (on/off - 1) * 100 }'
} | tee "$out/tracing.md"
