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
python=$(scripts/venv.sh aws)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 120); do curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" && break; sleep 0.5; done
out=$(AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  AWS_EC2_METADATA_DISABLED=true go test -tags aws -count=1 -run '^$' -bench . -benchtime "${events}x" ./services/runtime/transport/ebus/)
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
