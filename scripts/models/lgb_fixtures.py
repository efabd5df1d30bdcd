"""Write small LightGBM models, one per decision rule and output transform
fusion's compiled evaluator handles (and a few it leaves to the leaves
library), with the reference library's own predictions, so the Go tests
hold both evaluators to LightGBM on every path: NaN and zero as missing,
use_missing=false, raw / sigmoid / exp outputs, one-leaf trees,
categorical splits and random forests.

Each model's rows are sample rows plus boundary probes built from the
model's own thresholds (each threshold and its float neighbours) and edge
values (NaN, 0, -0, +-1e300, +-kZeroThreshold), where evaluators disagree
first.

Usage: lgb_fixtures.py OUT_DIR
"""
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

K = 5
ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float literal)

CASES = {
    "binary_nan": ({"objective": "binary"}, "binary", "nan"),
    "zero_as_missing": ({"objective": "binary", "zero_as_missing": True}, "binary", "zeros"),
    "no_missing": ({"objective": "regression", "use_missing": False}, "real", "nan"),
    "regression": ({"objective": "regression"}, "real", "nan"),
    "poisson": ({"objective": "poisson"}, "count", "nan"),
    "constant": ({"objective": "regression", "min_data_in_leaf": 1000}, "real", "nan"),
    "categorical": ({"objective": "binary", "min_data_per_group": 5, "cat_smooth": 1}, "binary", "categorical"),
    "random_forest": ({"objective": "regression", "boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1,
                       "feature_fraction": 0.8}, "real", "nan"),
}


def features(rng, n, kind):
    X = rng.normal(size=(n, K)) * [1, 10, 100, 0.01, 3]
    if kind == "zeros":
        X[rng.random(size=(n, K)) < 0.25] = 0.0
    if kind == "categorical":
        X[:, 0] = rng.integers(0, 12, size=n)
    X[rng.random(size=(n, K)) < 0.08] = np.nan
    return X


def thresholds(booster):
    out = {f: set() for f in range(K)}

    def walk(node):
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            out[node["split_feature"]].add(float(node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return out


def probes(rng, X, booster):
    edges = [np.nan, 0.0, -0.0, 1e300, -1e300, ZERO, -ZERO, np.nextafter(ZERO, 1), np.nextafter(-ZERO, -1), 1e-35, -1e-35]
    rows = []
    for f, ts in thresholds(booster).items():
        values = edges + [v for t in sorted(ts) for v in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf))]
        for v in values:
            row = X[rng.integers(len(X))].copy()
            row[f] = v
            rows.append(row)
    return np.array(rows)


def main(out_dir):
    rng = np.random.default_rng(5)
    n = 600
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (params, target, kind) in CASES.items():
        X = features(rng, n, kind)
        signal = np.nan_to_num(X[:, 0]) + 0.1 * np.nan_to_num(X[:, 1]) - 0.01 * np.nan_to_num(X[:, 2]) + 50 * np.nan_to_num(X[:, 3])
        y = {
            "binary": (signal + rng.normal(size=n) > 0).astype(float),
            "real": signal * 3 + rng.normal(size=n),
            "count": rng.poisson(np.exp(np.clip(signal, -2, 2))).astype(float),
        }[target]
        train = lgb.Dataset(X, y, categorical_feature=[0] if kind == "categorical" else "auto", free_raw_data=False)
        booster = lgb.train({**params, "num_leaves": 8, "learning_rate": 0.2, "min_data_in_leaf": params.get("min_data_in_leaf", 10),
                             "seed": 3, "deterministic": True, "num_threads": 1, "verbose": -1}, train, num_boost_round=12)
        booster.save_model(str(out / f"{name}.txt"))
        booster = lgb.Booster(model_file=str(out / f"{name}.txt"))
        rows = np.vstack([X[:150], probes(rng, X, booster)])
        df = pd.DataFrame(rows, columns=[f"f{i}" for i in range(K)])
        df["prediction"] = [repr(float(v)) for v in booster.predict(rows)]
        df.to_csv(out / f"{name}.csv", index=False, na_rep="", float_format="%.17g")
    print(f"wrote {len(CASES)} LightGBM fixtures to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
