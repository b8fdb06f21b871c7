"""Ensemble selection on out-of-fold predictions, and the ensemble in the workflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelworks.bundle import load_model
from modelworks.experiment import Experiment
from modelworks.search.ensemble import WeightedEnsemble, cross_fitted_scores, greedy_weights


def _binary_oofs(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = pd.Series(rng.integers(0, 2, 400))
    signal = y.to_numpy() * 1.0
    good = np.clip(0.5 + 0.3 * (signal - 0.5) + rng.normal(0, 0.2, 400), 0.01, 0.99)
    noise = rng.uniform(0.01, 0.99, 400)
    as_proba = [np.column_stack([1 - p, p]) for p in (good, noise)]
    return y, as_proba


def test_greedy_weights_prefer_the_informative_model() -> None:
    y, (good, noise) = _binary_oofs()
    w = greedy_weights([noise, good], y, "roc_auc", [0, 1], 1)
    assert w.sum() == pytest.approx(1.0)
    assert w[1] > 0.8


def test_two_complementary_models_are_mixed() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(size=500)
    y = pd.Series(truth)
    a = truth + rng.normal(0, 1, 500)  # independent errors: the average is better than either
    b = truth + rng.normal(0, 1, 500)
    w = greedy_weights([a, b], y, "rmse", None, None)
    assert 0.3 < w[0] < 0.7
    mixed = w[0] * a + w[1] * b
    assert np.sqrt(np.mean((mixed - truth) ** 2)) < min(
        np.sqrt(np.mean((a - truth) ** 2)), np.sqrt(np.mean((b - truth) ** 2))
    )


def test_cross_fitted_scores_use_every_fold() -> None:
    y, oofs = _binary_oofs()
    idx = np.arange(len(y))
    folds = [(np.setdiff1d(idx, idx[k::4]), idx[k::4]) for k in range(4)]
    scores = cross_fitted_scores([p[None] for p in oofs], y, folds, ["roc_auc", "accuracy"], [0, 1], 1)
    assert len(scores["roc_auc"]) == 4 and len(scores["accuracy"]) == 4
    assert all(0.5 < s <= 1 for s in scores["roc_auc"])


def test_ensemble_in_workflow_round_trips_through_a_bundle(churn_df, tmp_path) -> None:
    exp = Experiment(
        churn_df,
        "will_churn",
        models=["linear", "decision_tree", "hist_gradient_boosting"],
        cv=3,
        n_jobs=1,
    )
    board = exp.compare()
    assert "ensemble" in [r.name for r in board.results], board.skipped
    pipe = exp.pipeline("ensemble")
    assert list(pipe.named_steps) == ["clean", "model"]
    ensemble = pipe.named_steps["model"]
    assert isinstance(ensemble, WeightedEnsemble)
    assert sum(ensemble.weights) == pytest.approx(1.0)
    fitted = pipe.fit(exp.X_train, exp.y_train)
    proba = fitted.predict_proba(exp.X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(fitted.predict(exp.X_test)) <= {"yes", "no"}
    path = exp.save(tmp_path / "bundle")
    if exp.best_name == "ensemble":
        np.testing.assert_allclose(
            load_model(path).predict_proba(exp.X_test), exp.best_model.predict_proba(exp.X_test)
        )


def test_hist_gradient_boosting_with_categories_saves_and_loads(churn_df, tmp_path) -> None:
    # native categorical support stores a functools.partial that the bundle must trust
    # what is tested is the bundle: no tuning, bagging or report
    exp = Experiment(
        churn_df, "will_churn", models=["hist_gradient_boosting"], cv=3, n_jobs=1, tune=False, bag=False
    )
    path = exp.save(tmp_path / "hgb", report=False)
    model = load_model(path)
    np.testing.assert_allclose(model.predict_proba(exp.X_test), exp.best_model.predict_proba(exp.X_test))


@pytest.mark.slow
def test_regression_ensemble_with_catboost_predicts_values(regression_df) -> None:
    target = regression_df.columns[-1]
    exp = Experiment(regression_df, target, models=["linear", "catboost"], cv=3, n_jobs=1)
    ensemble = WeightedEnsemble(
        [("linear", exp.pipeline("linear")), ("catboost", exp.pipeline("catboost"))], [0.5, 0.5]
    ).fit(exp.X_train, exp.y_train)
    assert not hasattr(ensemble, "classes_")
    pred = ensemble.predict(exp.X_test)
    members = [est.predict(exp.X_test) for _, est in ensemble.estimators_]
    np.testing.assert_allclose(pred, 0.5 * members[0] + 0.5 * members[1])
