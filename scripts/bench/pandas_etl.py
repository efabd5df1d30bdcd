"""The churn pipeline written with pandas: the peer of fusion's benchmark.

It does what fusion's workers do, in one process, the way a pandas user
would write it: keep the landed bytes, read the CSV with the declared types,
write a Parquet copy, apply the transform, cut a hash-based
train/validation/test split with a manifest of statistics, score every
customer with the same LightGBM model, and load curated rows and scores
into a DuckDB file.

Usage: pandas_etl.py CSV MODEL_TXT OUT_DIR
Prints one JSON line: rows, seconds, peak RSS.
"""
import hashlib
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd

DTYPES = {
    "customer_id": "int64", "country": "string", "plan": "string", "monthly_fee": "float64",
    "tenure_months": "Int32", "sessions_30d": "Int32", "avg_session_minutes": "float64",
    "support_tickets_90d": "Int32", "payment_failures_90d": "Int32", "last_login_days_ago": "Int32",
    "discount_pct": "float64", "churned": "boolean",
}
FEATURES = ["plan_tier", "net_monthly_fee", "tenure_months", "sessions_30d", "avg_session_minutes",
            "minutes_30d", "support_tickets_90d", "payment_failures_90d", "last_login_days_ago", "discount_pct"]


def main(csv, model_txt, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    # ingest: keep the bytes, parse with the declared types, Parquet copy
    # (Parquet files are snappy-compressed, pyarrow's default and fusion's)
    shutil.copyfile(csv, out / "raw.csv")
    df = pd.read_csv(csv, dtype=DTYPES, parse_dates=["signup_date"])
    source_rows = len(df)
    for col in ("customer_id", "plan", "monthly_fee"):
        if df[col].isna().any():
            raise SystemExit(f"{col}: a value is required")
    df.to_parquet(out / "raw.parquet", index=False)

    # transform
    df = df[df["monthly_fee"] > 0].copy()
    df["country"] = df["country"].str.upper()
    df["plan_tier"] = df["plan"].map({"basic": 0, "standard": 1}).fillna(2).astype("int32")
    discount = df["discount_pct"].fillna(0)
    df["net_monthly_fee"] = (df["monthly_fee"] * (1 - discount / 100)).round(2)
    df["minutes_30d"] = df["sessions_30d"].astype("float64") * df["avg_session_minutes"]
    df["discount_pct"] = discount
    df["churned"] = df["churned"].astype("int32")
    curated = df[["customer_id", "signup_date", "country", "plan", "plan_tier", "monthly_fee", "net_monthly_fee",
                  "tenure_months", "sessions_30d", "avg_session_minutes", "minutes_30d", "support_tickets_90d",
                  "payment_failures_90d", "last_login_days_ago", "discount_pct", "churned"]]
    curated.to_parquet(out / "curated.parquet", index=False)

    # training set: the same split as fusion (md5 of the key), manifest of statistics
    bucket = curated["customer_id"].astype(str).map(lambda k: int(hashlib.md5(k.encode()).hexdigest()[:8], 16)).to_numpy() / 2.0**32
    split = np.where(bucket < 0.7, "train", np.where(bucket < 0.85, "validation", "test"))
    manifest = {}
    cols = ["customer_id"] + FEATURES + ["churned"]
    for name in ("train", "validation", "test"):
        part = curated.loc[split == name, cols]
        part.to_parquet(out / f"{name}.parquet", index=False)
        stats = part[FEATURES].astype("float64").agg(["count", "min", "max", "mean", "std"])
        manifest[name] = {"rows": len(part), "label_counts": part["churned"].value_counts().to_dict(),
                          "features": stats.to_dict()}
    (out / "manifest.json").write_text(json.dumps(manifest, default=str))

    # inference with the same model
    booster = lgb.Booster(model_file=model_txt)
    scores = booster.predict(curated[FEATURES].astype("float64").to_numpy())
    predictions = pd.DataFrame({"customer_id": curated["customer_id"].to_numpy(), "score": scores})
    predictions["model"] = pd.array(["churn_lgbm"] * len(predictions), dtype="string")
    predictions["model_version"] = pd.array(["1"] * len(predictions), dtype="string")
    predictions.to_parquet(out / "predictions.parquet", index=False)

    # load into a DuckDB warehouse
    con = duckdb.connect(str(out / "warehouse.duckdb"))
    con.execute("CREATE OR REPLACE TABLE churn_customers AS SELECT * FROM curated")
    con.execute("CREATE OR REPLACE TABLE churn_predictions AS SELECT * FROM predictions")
    con.close()

    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"source_rows": source_rows, "curated_rows": len(curated),
                      "seconds": round(seconds, 3), "peak_rss_bytes": peak}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
