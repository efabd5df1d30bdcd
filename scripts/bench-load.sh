#!/usr/bin/env bash
# Load benchmark: N concurrent runs of the churn pipeline on the embedded
# tier, all landed at once into one "fusion run".
#
#   scripts/bench-load.sh [N] [SMALL_N]      default: 100 10
#
# Environment: ROWS (source rows per input, default 10000, the sample's
# size), TIMEOUT (seconds a round may take, default 600), LAND (how the
# inputs land: "mv", the default, renames them all into the landing
# directory at once, as an uploader that writes elsewhere and renames
# does; "ingest" runs N "fusion ingest" processes in parallel), and every
# FUSION_* setting (FUSION_CONCURRENCY, FUSION_ENGINE_MEMORY, ...), passed
# to "fusion run". KEEP=1 keeps the homes and logs of passed rounds too.
#
# It builds fusion, writes N distinct inputs (fusion sample with seed 1..N,
# customer ids shifted so that no two inputs share a key: the loads merge
# by customer_id, so a shared key would hide a lost or doubled load), then
# for SMALL_N and N, each on a fresh home: starts "fusion run", lands the
# inputs, waits until every run has finished and checks, for real:
#   - one run per input, every run succeeded with all its steps, its input
#     the landed file, its loads' rows what that file must give (the rows
#     with monthly_fee > 0, counted by awk from the CSV);
#   - no dead letters (fusion dlq list), nothing quarantined, no ERROR in
#     the log of "fusion run";
#   - the warehouse holds exactly the expected rows, every customer_id
#     once, in both tables, and 2 loads per run in its load history.
# Wall time runs from the landing to the last step's end (from the log),
# "steps before the loads done" to the end of the last ingest, transform,
# traindata or inference step (the loader, one writer at a time into the
# DuckDB file, drains its queue after that); peak RSS is VmHWM of
# "fusion run", CPU its user+system time, peak fds and threads are sampled
# while waiting. It prints a markdown table (also written to
# bench-out/load.md) with RSS(N)/RSS(SMALL_N), and exits non-zero when a
# check fails. Other load on the machine shows in the times, not the checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n_big=${1:-100}
n_small=${2:-10}
rows=${ROWS:-10000}
timeout_s=${TIMEOUT:-600}
land=${LAND:-mv}
[[ $land == mv || $land == ingest ]] || { echo "LAND must be mv or ingest" >&2; exit 2; }
(( n_small >= 1 && n_big > n_small )) || { echo "need N > SMALL_N >= 1" >&2; exit 2; }
out="$root/bench-out"
mkdir -p "$out"
echo "building fusion..." >&2
go build -o "$out/fusion" ./services/fusion
fusion="$out/fusion"
clk=$(getconf CLK_TCK)

# Inputs: load-<rows>/in-<i>.csv, with the expected curated rows of each
# in load-<rows>/expected (one "file rows" line per input).
inputs="$out/load-$rows"
mkdir -p "$inputs"
echo "writing $n_big inputs of $rows rows..." >&2
: >"$inputs/expected.tmp"
for ((i = 1; i <= n_big; i++)); do
  f=$(printf 'in-%03d.csv' "$i")
  "$fusion" sample --rows "$rows" --seed "$i" |
    awk -F, -v OFS=, -v off=$(( (i - 1) * rows )) -v out="$inputs/$f" -v name="$f" '
      NR == 1 { print > out; next }
      { $1 += off; print > out; if ($5 > 0) kept++ }
      END { close(out); print name " " kept + 0 }' >>"$inputs/expected.tmp"
done
mv "$inputs/expected.tmp" "$inputs/expected"

rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() { awk -v t="$clk" '{ sub(/^.*\) /, ""); printf "%.1f\n", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# step_end PATTERN: the latest time (epoch seconds) of the log lines matching.
step_end() { { grep -E "$1" "$log" || true; } | sed -E 's/^\{"time":"([^"]+)".*/\1/' | date -f - +%s.%N | sort -n | tail -1; }

pid=""
trap '[[ -z "$pid" ]] || kill "$pid" 2>/dev/null || true' EXIT
failed=0
results=()
declare -A peak

# round N: one fresh home, N inputs landed at once.
round() {
  local n=$1 home log problems=() i f
  home=$(mktemp -d "$out/load-home-XXXX")
  log="$home.log"
  FUSION_LANDING_POLL=${FUSION_LANDING_POLL:-50ms} "$fusion" run --home "$home" 2>"$log" &
  pid=$!
  for ((i = 0; i < 50; i++)); do grep -q '"fusion running"' "$log" 2>/dev/null && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }

  head -n "$n" "$inputs/expected" >"$home.expected"
  local files=() total_rows=$(( n * rows )) expected_rows
  expected_rows=$(awk '{s += $2} END {print s}' "$home.expected")
  while read -r f _; do files+=("$f"); done <"$home.expected"

  # Land them all at once.
  local landing="$home/lake/landing/churn" t0
  if [[ $land == mv ]]; then
    mkdir -p "$home/staging" "$landing"
    for f in "${files[@]}"; do cp "$inputs/$f" "$home/staging/$f"; done
    t0=$(now)
    (cd "$home/staging" && mv -t "$landing" "${files[@]}")
  else
    t0=$(now)
    printf '%s\n' "${files[@]}" |
      xargs -P "$n" -I{} "$fusion" ingest "$inputs/{}" --home "$home" --pipeline churn >/dev/null ||
      problems+=("a fusion ingest failed")
  fi

  # Wait until there are n runs and none is running.
  local deadline max_fds=0 max_threads=0 listing running=0 count=0 v
  deadline=$(( $(date +%s) + timeout_s ))
  while :; do
    kill -0 "$pid" 2>/dev/null || { problems+=("fusion run exited"); break; }
    v=$(fds "$pid"); (( v > max_fds )) && max_fds=$v
    v=$(threads "$pid"); (( v > max_threads )) && max_threads=$v
    listing=$("$fusion" runs --home "$home" --limit $(( n * 2 + 10 )) | tail -n +2)
    count=$(grep -c . <<<"$listing" || true)
    running=$(awk '$3 == "running"' <<<"$listing" | grep -c . || true)
    (( count >= n && running == 0 )) && break
    if (( $(date +%s) > deadline )); then
      problems+=("timeout after ${timeout_s}s: $count runs, $running running")
      break
    fi
    sleep 0.2
  done
  # The end is the last step's end in the log; "upstream" is when the last
  # step before the loads ended (the loads then drain the loader's queue).
  local t_end t_up rss cpu
  t_end=$(step_end '"msg":"step (succeeded|failed)"')
  [[ -n $t_end ]] || t_end=$(now)
  t_up=$(step_end '"msg":"step (succeeded|failed)".*"step":"(ingest|transform|traindata|inference)"')
  [[ -n $t_up ]] || t_up=$t_end
  rss=$(rss_kb "$pid")
  cpu=$(cpu_s "$pid")
  kill -INT "$pid"
  local stopped=0
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || { stopped=1; break; }; sleep 0.1; done
  (( stopped )) || { problems+=("fusion run did not stop within 30s of SIGINT"); kill -9 "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
  pid=""

  # Per run: succeeded, all steps, its input one of ours, its rows right.
  local ok=0 retries=0 lost dup=0 dead quarantined errors id status steps detail input want
  declare -A run_of=()
  listing=$("$fusion" runs --home "$home" --limit $(( n * 2 + 10 )) | tail -n +2)
  while read -r id _ status _ _ steps _; do
    [[ -n $id ]] || continue
    detail=$("$fusion" runs "$id" --home "$home")
    input=$(awk '$1 == "input" {print $2; exit}' <<<"$detail")
    input=${input##*/}
    want=$(awk -v f="$input" '$1 == f {print $2}' "$home.expected")
    if [[ -z $want ]]; then problems+=("run $id: input $input is not one of ours"); continue; fi
    if [[ -n ${run_of[$input]:-} ]]; then problems+=("$input ran twice: ${run_of[$input]} and $id"); continue; fi
    run_of[$input]=$id
    retries=$(( retries + $(awk '$1 ~ /^(ingest|transform|traindata|inference|load\.)/ && $6 ~ /^[0-9]+$/ && $6 > 1 {r += $6 - 1} END {print r + 0}' <<<"$detail") ))
    if [[ $status != succeeded || ${steps%/*} != "${steps#*/}" || ${steps#*/} != 6 ]]; then
      problems+=("run $id ($input): $status, steps $steps"); continue
    fi
    if ! awk -v rows="$rows" -v want="$want" '
        $1 == "ingest" && ($3 != rows || $4 != rows) { bad = 1 }
        $1 ~ /^load\./ { loads++; if ($4 != want) bad = 1 }
        END { exit bad || loads != 2 }' <<<"$detail"; then
      problems+=("run $id ($input): rows differ from ingest $rows, loads $want each"); continue
    fi
    ok=$(( ok + 1 ))
  done <<<"$listing"
  lost=$(( n - ok ))
  (( lost == 0 )) || problems+=("$lost of $n inputs without a correct succeeded run")

  dead=$("$fusion" dlq list --home "$home" 2>/dev/null | tail -n +2 | grep -c . || true)
  (( dead == 0 )) || problems+=("$dead dead letters")
  quarantined=$({ find "$home/lake/quarantine" -type f 2>/dev/null || true; } | wc -l)
  (( quarantined == 0 )) || problems+=("$quarantined files quarantined")
  errors=$(grep -c '"level":"ERROR"' "$log" || true)
  (( errors == 0 )) || problems+=("$errors ERROR lines in the log, e.g. $(grep -m1 '"level":"ERROR"' "$log" | cut -c1-300)")
  local left
  left=$({ find "$home/lake/landing" -type f 2>/dev/null || true; } | wc -l)
  (( left == 0 )) || problems+=("$left files still in landing")

  # The warehouse: exactly the expected rows, each key once, 2 loads a run.
  local t c d
  for t in churn_customers churn_predictions; do
    IFS=, read -r c d < <("$fusion" query --home "$home" "SELECT count(*), count(DISTINCT customer_id) FROM $t" | tail -1)
    (( c == expected_rows )) || problems+=("$t has $c rows, expected $expected_rows")
    dup=$(( dup + c - d ))
  done
  (( dup == 0 )) || problems+=("$dup duplicate rows")
  c=$("$fusion" query --home "$home" "SELECT count(*) FROM _fusion_loads" | tail -1)
  (( c == 2 * n )) || problems+=("load history has $c loads, expected $(( 2 * n ))")

  peak[$n]=$rss
  results+=("$(awk -v n="$n" -v r="$total_rows" -v t0="$t0" -v te="$t_end" -v tu="$t_up" \
      -v rss="$rss" -v cpu="$cpu" -v fd="$max_fds" -v th="$max_threads" -v re="$retries" -v l="$lost" -v d="$dup" -v dl="$dead" 'BEGIN {
    s = te - t0
    printf "| %d | %d | %.1f s | %.1f s | %.2f | %.0f | %.0f MB | %.0f s | %d | %d | %d | %d | %d | %d |", n, r, s, tu - t0, n/s, r/s, rss/1024, cpu, fd, th, re, l, d, dl }')")
  if (( ${#problems[@]} )); then
    failed=1
    echo "N=$n: FAILED (home kept: $home, log $log)" >&2
    printf '  %s\n' "${problems[@]}" >&2
  else
    echo "N=$n: all checks passed" >&2
    [[ ${KEEP:-} == 1 ]] && echo "  home kept: $home, log $log" >&2 || rm -rf "$home" "$log" "$home.expected"
  fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "$n_small" "$n_big"; do
  echo "round: $n concurrent runs ($land)..." >&2
  round "$n"
done

{
  echo "$n_big concurrent churn runs ($rows source rows each), embedded tier, one \"fusion run\", $(nproc) CPUs," \
    "FUSION_CONCURRENCY=${FUSION_CONCURRENCY:-2}, landed by $land, $(date -u +%Y-%m-%d), load average before: $load_before"
  echo
  echo "| runs | source rows | wall | steps before the loads done | runs/s | source rows/s | peak RSS | CPU | peak fds | peak threads | retries | lost events | duplicate rows | dead letters |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${results[@]}"
  echo
  awk -v a="${peak[$n_big]}" -v b="${peak[$n_small]}" -v n="$n_big" -v m="$n_small" 'BEGIN {
    printf "peak RSS %d runs / %d runs: **%.2fx** for %.0fx the runs\n", n, m, a / b, n / m }'
  (( failed == 0 )) && echo "checks: every run succeeded with the expected rows, no dead letters, no duplicates: **passed**" ||
    echo "checks: **FAILED** (see stderr)"
} | tee "$out/load.md"
exit "$failed"
