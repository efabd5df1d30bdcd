#!/usr/bin/env bash
# Retrains the committed churn models and regenerates their reference
# predictions with the pinned reference libraries (lightgbm, xgboost).
# Run it after changing the sample generator or the churn pipeline's SQL.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=$(scripts/venv.sh ml)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./services/fusion sample -o "$tmp/customers.csv"
"$python" scripts/models/train.py "$tmp/customers.csv" deploy/pipelines/churn.yaml deploy/models services/inference/model/testdata
"$python" scripts/models/xgb_fixtures.py services/inference/model/testdata/xgboost
"$python" scripts/models/lgb_fixtures.py services/inference/model/testdata/lightgbm
