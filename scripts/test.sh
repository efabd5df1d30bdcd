#!/usr/bin/env bash
# Runs fusion's test tiers: all of them, or the one named.
#
#   scripts/test.sh          every tier
#   scripts/test.sh unit     one tier
#
# Tiers:
#   unit   formatting, go vet, every package's tests and the end-to-end runs
#          of the sample on the embedded tier (no services needed), plus the
#          race detector on the pure-Go concurrency code
#   aws    the aws tier against moto server (installed from PyPI into .venv,
#          started on loopback): cfn-lint of the CloudFormation template, the
#          stack deployed onto moto, the sample end to end through
#          EventBridge -> SQS -> workers -> S3, watermill's conformance suite
#          on the SQS transport, the S3 lake's conformance suite
#   warehouse  the Postgres and Snowflake sinks and sources against a
#          throwaway PostgreSQL cluster (Debian's package) and fakesnow
#          server (PyPI), both on loopback: the warehouse conformance suite
#          (exactly-once, redelivery, crash between staging and merge,
#          schema evolution, bad values), Snowflake pushdown, Postgres as
#          an ingest source. The live Snowflake test runs when SNOWFLAKE_*
#          variables are set.
#   faults the sample on the embedded tier under injected faults, each
#          scenario ending with 0 lost and 0 duplicate rows: `fusion run`
#          killed with SIGKILL at 20 random points (final warehouse equal to
#          an uninterrupted run's), every event delivered three times,
#          out-of-order delivery, a slow warehouse failing for a while and
#          one down past the retries (dead letters, then redrive)
#   traces the sample with every span recorded (the OpenTelemetry SDK's
#          in-memory recorder), on the embedded tier and on the aws tier
#          (moto, started here): one trace per run, the ledger's, its tree
#          the flow of the events, each worker its own service, SQL and AWS
#          SDK calls as child spans, the spans exported over OTLP/gRPC to an
#          in-test receiver; a run redriven from a dead-letter queue
#          continues its trace
#   jobs   every job style's sample pipeline end to end on the embedded
#          tier (Postgres and moto started here for the copies and the
#          scheduler's deploy): scheduled batch ETL with caught-up and
#          skipped fires, preconditions and Copy/SQL/Shell activities,
#          training data, batch inference, streaming over HTTP with
#          micro-batches and real-time scoring, the Lambda architecture's
#          serving view before and after a batch recompute
#
# Each tier starts what it needs and stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tiers=(unit aws warehouse faults traces jobs)

source scripts/lib/services.sh
trap stop_services EXIT

# Packages with tests behind a build tag.
tagged() { grep -rl --include='*_test.go' "^//go:build $1" messages services deploy | xargs -n1 dirname | sort -u | sed 's|^|./|'; }

tier_unit() {
  local unformatted
  unformatted=$(gofmt -l messages services deploy)
  if [[ -n "$unformatted" ]]; then
    echo "gofmt needed:" >&2
    echo "$unformatted" >&2
    return 1
  fi
  go vet ./...
  go test -count=1 -timeout 20m ./...
  go test -count=1 -race -timeout 10m ./messages/... ./services/runtime/routing/... ./services/runtime/transport/... \
    ./services/runtime/pipeline/... ./services/runtime/worker/...
}

tier_aws() {
  local python
  python=$(scripts/venv.sh aws)
  "$(dirname "$python")/cfn-lint" deploy/cloudformation/fusion.yaml
  start_moto
  go test -tags aws -count=1 -timeout 30m $(tagged aws)
  stop_services
}

tier_warehouse() {
  start_postgres
  start_fakesnow
  go test -tags warehouse -count=1 -timeout 30m $(tagged warehouse)
  stop_services
}

tier_faults() {
  go test -tags faults -count=1 -timeout 20m -run '^TestFaults' -v $(tagged faults)
}

tier_traces() {
  start_moto
  go test -tags traces,aws -count=1 -timeout 20m -run '^TestTraces' -v $(tagged traces)
  stop_services
}

tier_jobs() {
  start_postgres
  start_moto
  go test -tags jobs,aws -count=1 -timeout 30m -run '^TestJobs' -v $(tagged jobs)
  stop_services
}

run_tier() {
  local t=$1 start=$SECONDS
  echo "=== tier $t"
  if ! declare -F "tier_$t" >/dev/null; then
    echo "unknown tier '$t' (tiers: ${tiers[*]})" >&2
    return 2
  fi
  "tier_$t"
  echo "=== tier $t passed in $((SECONDS - start))s"
}

if [[ $# -gt 0 ]]; then
  for t in "$@"; do run_tier "$t"; done
else
  for t in "${tiers[@]}"; do run_tier "$t"; done
fi
