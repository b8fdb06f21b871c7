"""Measure one CV-fold fit+predict of every zoo model at two sizes, to calibrate the cost model.

The registry's ``cost`` (seconds relative to logistic regression on 1,000 rows) and ``exponent``
(growth with rows) come from this script. Run: ``python benchmarks/calibrate_costs.py [DATASET]``.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from modelworks.experiment import Experiment

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def fold_time(exp: Experiment, name: str, n: int) -> float:
    pipe = exp.pipeline(name)
    X, y = exp.X_train.iloc[:n], exp.y_train.iloc[:n]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
        (pipe.predict_proba if exp.task != "regression" else pipe.predict)(exp.X_test.iloc[: n // 4])
    return time.perf_counter() - start


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "adult"
    meta = pd.read_json(SHARED / name / "meta.json", typ="series")
    df = pd.read_csv(SHARED / name / "train.csv")
    exp = Experiment(df, meta["target"], task=meta["task"], n_jobs=2)
    small, large = 2000, min(len(exp.X_train), 24000)
    base = None
    print(f"{'model':24} {'t_small':>8} {'t_large':>8} {'exponent':>8} {'cost@1k':>8}")
    for spec in exp.specs:
        if spec.max_rows and large > spec.max_rows:
            continue
        ts, tl = fold_time(exp, spec.name, small), fold_time(exp, spec.name, large)
        exponent = math.log(tl / ts) / math.log(large / small)
        at_1k = ts * (1000 / small) ** exponent
        base = base or at_1k
        print(f"{spec.name:24} {ts:8.2f} {tl:8.2f} {exponent:8.2f} {at_1k / base:8.1f}")


if __name__ == "__main__":
    main()
