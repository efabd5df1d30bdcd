#!/usr/bin/env bash
# Benchmarks the warehouse sinks' loads against their databases' own bulk
# loaders, on the same data in the same run:
#
#   pgwh Load (binary COPY from Parquet)  vs  psql \copy of the same rows as CSV
#   pgwh Load                             vs  batched multi-row INSERT via pgx
#   duckwh Load                           vs  DuckDB's COPY t FROM 'file.parquet'
#
# plus pgwh's merge path and pgx's CopyFrom fed boxed values, for scale.
# The data set is a 16-column order table (ids, doubles, ints, varchars,
# dates, a timestamp, a decimal, some NULLs) generated as Parquet and CSV;
# every Postgres loader fills an empty table of the same definition and
# must leave the same rows. Postgres is a throwaway cluster on loopback.
#
#   scripts/bench-warehouse.sh [ROWS]     default 1000000
#
# It prints a markdown table (also written to bench-out/warehouse.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rows=${1:-1000000}
out="$root/bench-out"
mkdir -p "$out/warehouse"
source scripts/lib/services.sh
trap stop_services EXIT
start_postgres
go build -o "$out/bench-warehouse" ./scripts/bench/warehouse
"$out/bench-warehouse" -dsn "$FUSION_TEST_POSTGRES_DSN" -rows "$rows" -dir "$out/warehouse" | tee "$out/warehouse.md"
