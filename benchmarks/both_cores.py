"""Both cores: five folds one after another with two threads, or two at a time in two processes.

For each model, the five CV folds of a shared dataset are fitted (and their validation rows
predicted) either in this process with the model's two threads, or in two single-threaded worker
processes (joblib's loky, warmed first), which is what ``modelworks.search.workers`` does.
The boosters here fit all their rounds (no early stopping), the worst case for the threads' side.

Run: ``python benchmarks/both_cores.py DATASET MODEL[,MODEL...]``, e.g.
``python benchmarks/both_cores.py adult lightgbm,hist_gradient_boosting,linear``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from joblib import Parallel, delayed
from sklearn.base import clone

from modelworks.experiment import Experiment

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def fold(pipe, X, y, train, val, task) -> None:
    warnings.simplefilter("ignore")
    model = clone(pipe).fit(X.iloc[train], y.iloc[train])
    (model.predict if task == "regression" else model.predict_proba)(X.iloc[val])


def main() -> None:
    name, models = sys.argv[1], sys.argv[2].split(",")
    meta = json.loads((SHARED / name / "meta.json").read_text())
    warnings.simplefilter("ignore")
    for n_jobs in (2, 1):
        exp = Experiment(
            SHARED / name / "train.csv", meta["target"], task=meta["task"], models=models, n_jobs=n_jobs
        )
        X, y = exp.X_train, exp.y_train
        pool = Parallel(n_jobs=2) if n_jobs == 1 else None
        if pool is not None:  # start the workers and their imports before timing
            pool(delayed(fold)(exp.pipeline(models[0]), X, y, *exp.folds[0], exp.task) for _ in range(2))
        for model in models:
            pipe = exp.pipeline(model, n_jobs)
            start = time.perf_counter()
            if pool is None:
                for train, val in exp.folds:
                    fold(pipe, X, y, train, val, exp.task)
            else:
                pool(delayed(fold)(pipe, X, y, train, val, exp.task) for train, val in exp.folds)
            how = "one process, 2 threads" if pool is None else "2 processes, 1 thread each"
            print(f"{name:14} {model:24} {how:28} {time.perf_counter() - start:6.2f}s", flush=True)


if __name__ == "__main__":
    main()
