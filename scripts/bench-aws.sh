#!/usr/bin/env bash
# Benchmarks the aws tier's transport on moto: events/s through fusion's
# path (PutEvents in batches -> EventBridge rule -> SQS -> fusion's
# subscriber, an ack each) against a bare aws-sdk-go-v2
# SendMessageBatch/ReceiveMessage/DeleteMessageBatch loop, in the same run,
# and the batch fill of PutEvents and SendMessageBatch.
#
#   scripts/bench-aws.sh [EVENTS]     default 1000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
events=${1:-1000}
source scripts/lib/services.sh
trap stop_services EXIT
start_moto
out=$(go test -tags aws -count=1 -run '^$' -bench . -benchtime "${events}x" ./services/runtime/transport/ebus/)
echo "$out" | grep Benchmark >&2
echo "$out" | awk -v n="$events" '
  /BenchmarkAWSTier/  { for (i = 1; i <= NF; i++) { if ($i == "events/s") f = $(i-1); if ($i == "entries/PutEvents") pe = $(i-1) } }
  /BenchmarkBareSQS/  { for (i = 1; i <= NF; i++) { if ($i == "events/s") b = $(i-1); if ($i == "entries/SendMessageBatch") sb = $(i-1) } }
  END {
    printf "aws tier transport on moto, %d events, %s\n\n", n, strftime("%Y-%m-%d", systime(), 1)
    print "| path | events/s | batch fill |"
    print "|---|---:|---:|"
    printf "| fusion: PutEvents -> rule -> SQS -> subscriber | %.1f | %.1f entries/PutEvents |\n", f, pe
    printf "| bare SDK: SendMessageBatch / ReceiveMessage / DeleteMessageBatch | %.1f | %.1f entries/SendMessageBatch |\n", b, sb
    printf "| fusion / bare | **%.2fx** | |\n", f / b
  }'
