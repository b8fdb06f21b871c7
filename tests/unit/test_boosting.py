"""Early stopping and the deadline of boosters (modelworks.models.boosting)."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

from modelworks.models.boosting import Stopping, fit_early_stopped, set_rounds
from modelworks.models.registry import REGISTRY, BuildContext

BOOSTERS = ["lightgbm", "xgboost", "catboost"]


def _data(task: str):
    if task == "regression":
        X, y = make_regression(600, 6, noise=40.0, random_state=0)
        return X, y
    X, y = make_classification(
        600, 6, n_informative=3, n_classes=3 if task == "multiclass" else 2, flip_y=0.2, random_state=0
    )
    return X, np.array(["no", "yes", "maybe"])[y]


def test_patience_grows_with_the_best_round():
    tracker = Stopping(most=300)
    assert tracker.patience() == 20  # the least, early on
    tracker.best_round = 999
    assert tracker.patience() == 300  # the most
    tracker.best_round = 199
    assert tracker.patience() == 70  # 30% of 200 rounds, plus 10


def test_stops_after_patience_without_improvement():
    tracker = Stopping(most=300)
    losses = [1.0 - 0.01 * r for r in range(10)] + [0.95] * 100
    stopped_at = next(r for r, loss in enumerate(losses) if tracker.stop(r, loss))
    assert tracker.rounds == 10
    assert stopped_at == 9 + 20


@pytest.mark.parametrize("name", BOOSTERS)
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_fit_stops_early_and_predicts_with_its_best_round(name, task):
    X, y = _data(task)
    est = REGISTRY[name].build(BuildContext(task=task, n_jobs=1))
    rounds, late = fit_early_stopped(est, X[:400], y[:400], X[400:], y[400:])
    assert not late
    assert 1 <= rounds < 1000  # noisy data: far fewer than the most allowed
    pickle.dumps(est)  # nothing local left on the fitted model
    # the same booster fitted for exactly `rounds` rounds predicts the same
    fixed = set_rounds(REGISTRY[name].build(BuildContext(task=task, n_jobs=1)), rounds).fit(X[:400], y[:400])
    method = "predict" if task == "regression" else "predict_proba"
    np.testing.assert_allclose(
        getattr(est, method)(X[400:]), getattr(fixed, method)(X[400:]), rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("name", BOOSTERS)
def test_deadline_ends_the_fit(name):
    X, y = _data("regression")
    est = REGISTRY[name].build(BuildContext(task="regression", n_jobs=1))
    start = time.perf_counter()
    rounds, late = fit_early_stopped(est, X[:400], y[:400], X[400:], y[400:], deadline=start)
    assert late
    assert rounds <= 2


def test_set_rounds_reaches_the_wrapped_booster():
    est = REGISTRY["xgboost"].build(BuildContext(task="binary"))
    assert clone(set_rounds(est, 37)).estimator.n_estimators == 37
    cat = set_rounds(REGISTRY["catboost"].build(BuildContext(task="binary")), 12)
    assert cat.get_params()["iterations"] == 12
