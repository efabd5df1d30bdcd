"""Write small XGBoost models, one per supported objective and booster,
with the reference library's predictions, so fusion's XGBoost JSON
evaluator is checked on every path (margins, transforms, missing values,
dart weights), not only on the churn model.

Usage: xgb_fixtures.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

CASES = {
    "binary_logistic": ({"objective": "binary:logistic"}, "binary"),
    "binary_logitraw": ({"objective": "binary:logitraw"}, "binary"),
    "reg_logistic": ({"objective": "reg:logistic"}, "binary"),
    "reg_squarederror": ({"objective": "reg:squarederror"}, "real"),
    "reg_absoluteerror": ({"objective": "reg:absoluteerror"}, "real"),
    "count_poisson": ({"objective": "count:poisson"}, "count"),
    "reg_gamma": ({"objective": "reg:gamma"}, "positive"),
    "reg_tweedie": ({"objective": "reg:tweedie"}, "positive"),
    "dart": ({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.2, "skip_drop": 0.0}, "binary"),
    "random_forest": ({"objective": "reg:squarederror", "num_parallel_tree": 4, "subsample": 0.7, "colsample_bynode": 0.8}, "real"),
}


def main(out_dir):
    rng = np.random.default_rng(11)
    n, k = 400, 5
    X = rng.normal(size=(n, k)) * [1, 10, 100, 0.01, 3]
    X[rng.random(size=(n, k)) < 0.08] = np.nan  # missing values take default branches
    signal = np.nan_to_num(X[:, 0]) + 0.1 * np.nan_to_num(X[:, 1]) - 0.01 * np.nan_to_num(X[:, 2])
    targets = {
        "binary": (signal + rng.normal(size=n) > 0).astype(float),
        "real": signal * 3 + rng.normal(size=n),
        "count": rng.poisson(np.exp(np.clip(signal, -2, 2))).astype(float),
        "positive": np.exp(np.clip(signal, -2, 2)) + rng.random(size=n),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, (params, target) in CASES.items():
        dtrain = xgb.DMatrix(X, label=targets[target], missing=np.nan)
        bst = xgb.train({**params, "max_depth": 3, "eta": 0.3, "seed": 3, "nthread": 1}, dtrain, num_boost_round=12)
        bst.save_model(str(out / f"{name}.json"))
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(k)])
        df["prediction"] = [repr(float(v)) for v in bst.predict(xgb.DMatrix(X, missing=np.nan))]
        df.to_csv(out / f"{name}.csv", index=False, na_rep="")
    print(f"wrote {len(CASES)} XGBoost fixtures to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
