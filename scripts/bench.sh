#!/usr/bin/env bash
# Benchmarks the churn pipeline end to end on the embedded tier against the
# same ETL written with pandas, in the same run, on the same input.
#
#   scripts/bench.sh [ROWS...]      default: 1000000 10000000
#
# For each size it generates the sample (fusion sample), then
#   fusion: starts "fusion run" on a fresh home and lands the file with
#           "fusion ingest --wait"; time is the run's duration in the ledger
#           (first step started to last step finished), peak RSS is the
#           "fusion run" process's;
#   pandas: scripts/bench/pandas_etl.py (same steps, same model), timed
#           inside, peak RSS of the process.
# It prints a markdown table (also written to bench-out/results.md) with
# rows/s, peak RSS and the speed ratio, and fusion's RSS growth across sizes.
# Each side runs BENCH_REPEAT times per size (default 3), alternating; the
# times are the medians (timings on a shared machine vary by ±20% from run
# to run), the peak RSS the highest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000000 10000000)
repeat=${BENCH_REPEAT:-3}
out="$root/bench-out"
mkdir -p "$out"
echo "building fusion and the Python peer's environment..." >&2
go build -o "$out/fusion" ./services/fusion
python=$(scripts/venv.sh ml)
model=deploy/models/churn_lgbm/1/model.txt

# seconds converts a Go duration (291ms, 8.81s, 1m5.2s) to seconds.
seconds() { awk '{ d=$1; s=0; if (d ~ /ms$/) { sub(/ms$/,"",d); s=d/1000 } else { if (d ~ /m/) { split(d,a,"m"); s=a[1]*60; d=a[2] } sub(/s$/,"",d); s+=d } printf "%.3f\n", s }'; }

rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

pid=""
trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true' EXIT

# median prints the middle of its arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

results=()
first_rss=""
for rows in "${sizes[@]}"; do
  csv="$out/customers-$rows.csv"
  [[ -s "$csv" ]] || "$out/fusion" sample --rows "$rows" -o "$csv"
  fusion_runs=() pandas_runs=() peak_kb=0 pandas_rss=0
  for ((r = 1; r <= repeat; r++)); do
    echo "$rows rows, run $r of $repeat..." >&2
    # fusion
    home=$(mktemp -d "$out/home-XXXX")
    FUSION_LANDING_POLL=50ms "$out/fusion" run --home "$home" 2>"$home.log" &
    pid=$!
    sleep 1
    kill -0 "$pid" 2>/dev/null || { cat "$home.log" >&2; exit 1; }
    summary=$("$out/fusion" ingest "$csv" --home "$home" --pipeline churn --wait --timeout 30m)
    kb=$(rss_kb "$pid")
    peak_kb=$(( kb > peak_kb ? kb : peak_kb ))
    kill -INT "$pid"; wait "$pid" || true
    pid=""
    run_line=$(echo "$summary" | grep -m1 '^run ')
    echo "$run_line" | grep -q succeeded || { echo "$summary" >&2; exit 1; }
    fusion_runs+=("$(echo "$run_line" | awk '{print $NF}' | seconds)")
    rm -rf "$home" "$home.log"

    # pandas
    pdir=$(mktemp -d "$out/pandas-XXXX")
    pjson=$("$python" scripts/bench/pandas_etl.py "$csv" "$model" "$pdir")
    rm -rf "$pdir"
    pandas_runs+=("$(echo "$pjson" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')")
    kb=$(echo "$pjson" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peak_rss_bytes"] // 1024)')
    pandas_rss=$(( kb > pandas_rss ? kb : pandas_rss ))
  done
  fusion_s=$(median "${fusion_runs[@]}")
  pandas_s=$(median "${pandas_runs[@]}")
  echo "$rows rows: fusion ${fusion_runs[*]} s, pandas ${pandas_runs[*]} s" >&2

  [[ -n "$first_rss" ]] || first_rss=$peak_kb
  results+=("$(awk -v n="$rows" -v fs="$fusion_s" -v fr="$peak_kb" -v ps="$pandas_s" -v pr="$pandas_rss" -v r0="$first_rss" 'BEGIN {
    printf "| %d | %.2f s | %.0f | %.0f MB (%.2fx) | %.2f s | %.0f | %.0f MB | **%.2fx** |", n, fs, n/fs, fr/1024, fr/r0, ps, n/ps, pr/1024, ps/fs }')")
done

{
  echo "churn pipeline end to end, embedded tier, $(nproc) CPUs, $(date -u +%Y-%m-%d), median of $repeat runs each"
  echo
  echo "| source rows | fusion | fusion rows/s | fusion peak RSS (vs first size) | pandas | pandas rows/s | pandas peak RSS | speed vs pandas |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${results[@]}"
} | tee "$out/results.md"
