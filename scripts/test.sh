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
#
# Each tier starts what it needs and stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tiers=(unit aws)

# Background services a tier started; stopped on exit whatever happens.
services=()
stop_services() {
  for pid in "${services[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  services=()
}
trap stop_services EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for URL: until the service answers, for up to 60s.
wait_for() {
  for _ in $(seq 120); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.5
  done
  echo "service at $1 did not come up" >&2
  return 1
}

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
  local python venv port log
  python=$(scripts/venv.sh aws)
  venv=$(dirname "$python")
  "$venv/cfn-lint" deploy/cloudformation/fusion.yaml
  port=$(free_port)
  log=$(mktemp)
  "$venv/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  services+=($!)
  wait_for "http://127.0.0.1:$port/moto-api/" || { cat "$log" >&2; return 1; }
  # Only loopback: the SDK talks to moto, never to AWS or instance metadata.
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    go test -tags aws -count=1 -timeout 30m $(tagged aws)
  stop_services
  rm -f "$log"
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
