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
#
# Each tier starts what it needs and stops it afterwards.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

tiers=(unit)

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
