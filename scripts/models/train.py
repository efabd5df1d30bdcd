"""Train the churn models with the reference libraries and write the
fixtures fusion's inference is checked against.

Replays what fusion does to the sample — ingest's typed read of the CSV and
the pipeline's transform SQL, in the same DuckDB version — then trains on
the training split (the same md5 key-hash rule as the traindata worker) and
writes, for every curated customer, the reference library's own
predictions. The Go tests require fusion's predictions to match them
within 1e-6.

Usage: train.py SAMPLE_CSV PIPELINE_YAML MODELS_DIR FIXTURES_DIR
"""
import hashlib
import json
import sys
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import xgboost as xgb
import yaml
from sklearn.metrics import roc_auc_score


def curated_frame(csv_path, pipeline):
    src = pipeline["source"]
    cols = ", ".join(f"'{c['name']}': '{c['type']}'" for c in src["schema"])
    con = duckdb.connect()
    con.execute(
        f"""CREATE VIEW input AS SELECT * FROM read_csv('{csv_path}', header = true, delim = ',',
            quote = '"', escape = '"', auto_detect = false, columns = {{{cols}}})"""
    )
    return con.execute(pipeline["transform"]["sql"]).df()


def split_of(key, fractions):
    bucket = int(hashlib.md5(str(key).encode()).hexdigest()[:8], 16) / 2**32
    if bucket < fractions["train"]:
        return "train"
    if bucket < fractions["train"] + fractions["validation"]:
        return "validation"
    return "test"


def write_meta(path, meta):
    path.write_text(yaml.safe_dump(meta, sort_keys=False))


def main(csv_path, pipeline_path, models_dir, fixtures_dir):
    pipeline = yaml.safe_load(Path(pipeline_path).read_text())
    training = pipeline["training"]
    key, label, features = training["key"], training["label"], training["features"]
    df = curated_frame(csv_path, pipeline)
    df["__split"] = [split_of(k, training["split"]) for k in df[key]]
    X = df[features].astype("float64")
    y = df[label].astype("int64")
    train, valid, test = (df["__split"] == s for s in ("train", "validation", "test"))
    print(f"curated {len(df)} rows: train {train.sum()}, validation {valid.sum()}, test {test.sum()}")

    # Both models stop early on the validation split, as one would train them.
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "learning_rate": 0.05, "min_data_in_leaf": 30,
         "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1, "seed": 7,
         "deterministic": True, "num_threads": 1, "verbose": -1, "metric": "auc"},
        lgb.Dataset(X[train], y[train]), num_boost_round=500,
        valid_sets=[lgb.Dataset(X[valid], y[valid])],
        callbacks=[lgb.early_stopping(30, verbose=False)],
    )
    lgbm_dir = Path(models_dir, "churn_lgbm", "1")
    lgbm_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(lgbm_dir / "model.txt"), num_iteration=booster.best_iteration)
    booster = lgb.Booster(model_file=str(lgbm_dir / "model.txt"))
    lgbm_pred = booster.predict(X)
    lgbm_auc = roc_auc_score(y[test], lgbm_pred[test.values])

    dtrain = xgb.DMatrix(X[train], label=y[train], missing=np.nan)
    dvalid = xgb.DMatrix(X[valid], label=y[valid], missing=np.nan)
    bst = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.1, "subsample": 0.9,
         "tree_method": "hist", "seed": 7, "nthread": 1, "eval_metric": "auc"},
        dtrain, num_boost_round=500, evals=[(dvalid, "validation")],
        early_stopping_rounds=30, verbose_eval=False,
    )
    bst = bst[: bst.best_iteration + 1]  # keep the trees up to the best iteration
    xgb_dir = Path(models_dir, "churn_xgb", "1")
    xgb_dir.mkdir(parents=True, exist_ok=True)
    bst.save_model(str(xgb_dir / "model.json"))
    bst = xgb.Booster(model_file=str(xgb_dir / "model.json"))
    xgb_pred = bst.predict(xgb.DMatrix(X, missing=np.nan))
    xgb_auc = roc_auc_score(y[test], xgb_pred[test.values])
    print(f"lightgbm: {booster.num_trees()} trees, test AUC {lgbm_auc:.4f}; xgboost: {bst.num_boosted_rounds()} trees, test AUC {xgb_auc:.4f}")

    trained_on = f"{Path(csv_path).name}: the churn sample, train split"
    write_meta(lgbm_dir / "model.yaml", {
        "name": "churn_lgbm", "version": "1", "format": "lightgbm", "file": "model.txt",
        "features": features, "trained_with": f"lightgbm {lgb.__version__}", "trained_on": trained_on,
        "metrics": {"test_auc": round(float(lgbm_auc), 4)},
    })
    write_meta(xgb_dir / "model.yaml", {
        "name": "churn_xgb", "version": "1", "format": "xgboost-json", "file": "model.json",
        "features": features, "trained_with": f"xgboost {xgb.__version__}", "trained_on": trained_on,
        "metrics": {"test_auc": round(float(xgb_auc), 4)},
    })

    fixtures = Path(fixtures_dir)
    fixtures.mkdir(parents=True, exist_ok=True)
    # Every curated customer's reference predictions (for the end-to-end test).
    out = df[[key]].copy()
    out["churn_lgbm"] = [repr(float(v)) for v in lgbm_pred]
    out["churn_xgb"] = [repr(float(v)) for v in xgb_pred]
    out.to_csv(fixtures / "churn_reference_predictions.csv", index=False)
    # Features and predictions of a slice, with missing values, for the unit tests.
    rows = df.index[:400].union(df.index[X.isna().any(axis=1)][:100])
    part = X.loc[rows].copy()
    part.insert(0, key, df.loc[rows, key])
    part["churn_lgbm"] = [repr(float(v)) for v in lgbm_pred[rows]]
    part["churn_xgb"] = [repr(float(v)) for v in xgb_pred[rows]]
    part.to_csv(fixtures / "churn_features.csv", index=False, na_rep="")
    print(f"wrote models to {models_dir} and fixtures to {fixtures_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
