"""Folds in worker processes (modelworks.search.workers): the same scores, and a stop at the deadline."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from modelworks.experiment import Experiment
from modelworks.models.registry import ModelSpec
from modelworks.search.budget import Budget
from modelworks.search.crossval import Stopped, cross_validate
from modelworks.search.workers import FoldWorkers


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(4)})
    df["plan"] = rng.choice(["basic", "plus", "pro"], n)
    df["y"] = np.where(df["x0"] + (df["plan"] == "pro") + rng.normal(scale=0.8, size=n) > 0.3, "yes", "no")
    return df


def test_workers_give_the_same_scores_as_one_process(table):
    models = ["linear", "random_forest", "lightgbm", "xgboost"]
    one = Experiment(table, "y", models=models, n_jobs=1, tune=False, ensemble=False)
    two = Experiment(table, "y", models=models, n_jobs=2, tune=False, ensemble=False)
    assert one._workers is None and two._workers is not None
    first = {r.name: r for r in one.compare().results}
    second = {r.name: r for r in two.compare().results}
    assert first.keys() == second.keys() == set(models)
    for name in models:
        np.testing.assert_allclose(first[name].fold_scores[one.metric], second[name].fold_scores[two.metric])
        assert first[name].rounds == second[name].rounds
        np.testing.assert_allclose(one.models.oof[name], two.models.oof[name])


def _slow_forest_data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(4000, 20)))
    y = pd.Series(np.where(X[0] + rng.normal(size=4000) > 0, "a", "b"))
    folds = [(np.arange(0, 3000), np.arange(3000, 4000)), (np.arange(1000, 4000), np.arange(0, 1000))]
    return X, y, folds


def test_a_fit_past_the_deadline_is_stopped_and_the_workers_replaced():
    X, y, folds = _slow_forest_data()
    # about 20 s per fold on one thread: far past a deadline 2 s away
    slow = Pipeline([("model", RandomForestClassifier(n_estimators=3000, random_state=0, n_jobs=1))])
    spec = ModelSpec("random_forest", "Random forest", "tree", lambda ctx: None)
    workers = FoldWorkers(2)
    budget = Budget(4.5)  # deadline: 4.5 s less the 2.5 s reserve
    start = time.perf_counter()
    with pytest.raises(Stopped, match="deadline"):
        cross_validate(spec, slow, X, y, folds, ["roc_auc"], ["a", "b"], "b", budget, workers=workers)
    assert time.perf_counter() - start < 10
    # the killed workers are replaced: the next model's folds still run
    quick = Pipeline([("model", RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1))])
    result, oof = cross_validate(
        spec, quick, X, y, folds, ["roc_auc"], ["a", "b"], "b", Budget(None), workers=workers
    )
    validated = np.r_[0:1000, 3000:4000]
    assert len(result.fold_scores["roc_auc"]) == 2 and not np.isnan(oof[0, validated]).any()


def test_a_pool_started_early_is_the_one_the_comparison_uses():
    """``modelworks run`` warms the workers before reading the data; the experiment's pool of the
    same size then reuses those processes instead of starting its own."""
    from modelworks.search.workers import pool_size

    assert pool_size(1, 5) == 0 and pool_size(8, 5) == 5 and pool_size(2, 5) == 2
    early = FoldWorkers(2)
    early.warm()
    try:
        first = {early._pool.submit(os.getpid).result(timeout=120) for _ in range(4)}
        later = FoldWorkers(pool_size(2, 5))
        assert later._executor() is early._pool
        assert {later._pool.submit(os.getpid).result(timeout=120) for _ in range(4)} <= set(
            early._pool._processes
        )
        assert first <= set(early._pool._processes)
    finally:
        early.close()
