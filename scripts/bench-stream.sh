#!/usr/bin/env bash
# Benchmarks streaming on the embedded default: the churn_stream sample's
# records POSTed to the ingest worker (requests of 250 records, 4 at once,
# or at a fixed rate), micro-batched, transformed, scored and loaded into
# DuckDB, on a fresh home per micro-batch size. For each max_records it
# reports the micro-batches sealed, the records/s the endpoint took, the
# records/s end to end (first POST to the last row in the warehouse) and
# the p50/p99 latency from a record's POST to its row in the warehouse
# (the end of its batch's last load, from the run ledger); then real-time
# scoring (POST /v1/score) p50/p99, as the worker and the client measure.
# Prints Markdown tables.
#
#   scripts/bench-stream.sh [RECORDS] [SIZES] [RATE]
#     RECORDS  records posted per size (default 5000)
#     SIZES    max_records values (default 10,100,1000,5000)
#     RATE     records/s to post at; 0, the default, as fast as taken
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
records=${1:-5000}
sizes=${2:-10,100,1000,5000}
rate=${3:-0}
out=$(go test -tags benchstream -count=1 -run '^$' -bench '^Benchmark(Stream|RealtimeScoring)$' -benchtime 1x -timeout 60m \
  ./services/fusion/cli/ -args -stream.records="$records" -stream.sizes="$sizes" -stream.rate="$rate")
echo "$out" | grep Benchmark >&2
echo "$out" | awk -v n="$records" -v rate="$rate" -v cpus="$(nproc)" '
  function metric(name,   i) { for (i = 1; i <= NF; i++) if ($i == name) return $(i-1); return "" }
  /BenchmarkStream\/max_records=/ {
    split($1, a, "="); size = a[2]; sub(/-[0-9]+$/, "", size)
    rows[++k] = sprintf("| %s | %d | %d | %d | %.0f ms | %.0f ms |", size, metric("batches"), metric("post_records/s"),
      metric("e2e_records/s"), metric("p50_ms"), metric("p99_ms"))
  }
  /BenchmarkRealtimeScoring/ {
    rt = sprintf("| %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.0f |", metric("scored"), metric("server_p50_ms"), metric("server_p99_ms"),
      metric("client_p50_ms"), metric("client_p99_ms"), metric("scores/s"))
  }
  END {
    printf "streaming on the embedded default, %d churn records per size, posted %s, %d vCPUs, %s\n\n", n,
      (rate > 0 ? "at " rate " records/s" : "as fast as the endpoint takes them (250 per request, 4 at once)"), cpus, strftime("%Y-%m-%d", systime(), 1)
    print "| max_records | micro-batches | POST records/s | end-to-end records/s | POST -> warehouse p50 | p99 |"
    print "|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= k; i++) print rows[i]
    print ""
    print "| real-time scorings | worker p50 | worker p99 | client p50 | client p99 | scores/s (one client) |"
    print "|---:|---:|---:|---:|---:|---:|"
    print rt
  }'
