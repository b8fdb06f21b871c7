"""The learned combiner of the ensemble (modelworks.search.stacking): cross-fitted honestly, chosen
only when significantly better, saved and loaded like the weighted ensemble."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from modelworks import load_model
from modelworks.search import stacking
from modelworks.search.ensemble import cross_fitted_scores
from modelworks.search.splits import cv_folds
from modelworks.search.stacking import Combiner, StackedEnsemble, cross_fitted, features, fit_combiner


def _binary(n: int = 600, seed: int = 0):
    """Two members: one well calibrated, one whose probabilities are badly squashed toward 0.5
    (a learned combiner rescales it; equal-sum weights cannot)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-3 * z)), "yes", "no"))
    good = 1 / (1 + np.exp(-(3 * z + rng.normal(scale=1.5, size=n))))
    squashed = 0.5 + 0.05 * np.tanh(z + rng.normal(scale=0.3, size=n))
    to_proba = lambda p: np.column_stack([1 - p, p])  # noqa: E731
    folds = cv_folds(y, None, 5, 1, 0, True)
    return y, folds, [to_proba(good)[None], to_proba(squashed)[None]]


def test_features_are_log_odds_log_probabilities_or_values():
    p = np.array([[0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(features([p], True)[:, 0], [np.log(4), 0.0])
    three = np.array([[0.2, 0.3, 0.5]])
    assert features([three, three], True).shape == (1, 6)
    np.testing.assert_allclose(
        features([np.array([1.0, 2.0]), np.array([3.0, 4.0])], False), [[1, 3], [2, 4]]
    )


def test_a_combiner_rescales_a_badly_calibrated_member_and_is_cross_fitted():
    y, folds, oofs = _binary()
    classes = ["no", "yes"]
    stacked = cross_fitted(oofs, y, folds, ["log_loss", "roc_auc"], classes, "yes", 5)
    greedy = cross_fitted_scores(oofs, y, folds, ["log_loss", "roc_auc"], classes, "yes", 5)
    assert stacking.better("log_loss", stacked.fold_scores["log_loss"], greedy["log_loss"])
    assert np.mean(stacked.fold_scores["log_loss"]) < np.mean(greedy["log_loss"]) - 0.01
    # honest: fold 0 is predicted by a combiner that never saw fold 0's labels
    flipped = y.copy()
    val = folds[0][1]
    flipped.iloc[val] = np.where(y.iloc[val] == "yes", "no", "yes")
    again = cross_fitted(oofs, flipped, folds, ["log_loss"], classes, "yes", 5)
    np.testing.assert_allclose(again.oof[0, val], stacked.oof[0, val])
    assert not np.allclose(again.oof[0, folds[1][1]], stacked.oof[0, folds[1][1]])


def test_no_combiner_when_a_class_is_missing_from_the_rows_it_learns_on():
    X = np.random.default_rng(0).normal(size=(20, 3))
    assert fit_combiner(X, np.array([0, 1] * 10), 3) is None
    assert fit_combiner(X, np.array([0, 1, 2, 1] * 5), 3) is not None


def test_regression_weights_are_non_negative():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=300)
    X = np.column_stack([truth + rng.normal(scale=0.3, size=300), -truth, truth * 0.5])
    combiner = fit_combiner(X, truth, None)
    assert (combiner.coef >= 0).all() and combiner.coef[0, 1] == 0
    assert np.corrcoef(combiner.apply(X, False, None), truth)[0, 1] > 0.95


def test_stacked_ensemble_predicts_with_its_combiner_and_survives_clone(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = pd.Series(np.where(X["a"] + X["b"] ** 2 > 0.5, "yes", "no"))
    members = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))]
    coef, intercept = [[1.5, 0.5]], [0.1]
    model = clone(StackedEnsemble(members, [0.5, 0.5], coef, intercept)).fit(X, y)
    preds = [est.predict_proba(X) for _, est in model.estimators_]
    expected = Combiner(np.array(coef), np.array(intercept)).apply(features(preds, True), True, 2)
    np.testing.assert_allclose(model.predict_proba(X), expected)
    assert set(model.predict(X)) <= {"no", "yes"}
    assert model.coef == coef and model.intercept == intercept


def test_an_experiment_keeps_the_combiner_only_when_significantly_better(churn_df, tmp_path, monkeypatch):
    """The real cross-fitted combiner, its predictions replaced by much better ones: the run must
    choose it, say so, save it (scikit-learn runtime, no ONNX converter) and load it back."""
    from modelworks import Experiment
    from modelworks.search import stacking as module

    real = module.cross_fitted

    def much_better(oofs, y, folds, metrics, classes, pos_label, n_splits):
        found = real(oofs, y, folds, metrics, classes, pos_label, n_splits)
        right = (y.to_numpy() == "yes").astype(float)
        sure = np.column_stack([1 - right, right]) * 0.98 + 0.01
        return module.Stacked(
            {m: [0.99 if m != "log_loss" else 0.02] * len(folds) for m in metrics},
            np.broadcast_to(sure, found.oof.shape).copy(),
            found.combiner,
        )

    monkeypatch.setattr(module, "cross_fitted", much_better)
    exp = Experiment(
        churn_df, target="will_churn", models=["linear", "decision_tree"], cv=3, seed=0, n_jobs=1
    )
    board = exp.compare()
    assert exp.stacking is not None and exp.stacking.chosen, exp.stacking
    assert "significantly better" in exp.stacking.reason
    ensemble = next(r for r in board.results if r.name == "ensemble")
    assert ensemble.label.startswith("Stacked ensemble of")
    assert isinstance(exp.pipeline("ensemble")[-1], StackedEnsemble)
    assert board.chosen == "ensemble"
    exp.evaluate()
    assert "stacked" in exp.bagging.reason
    path = exp.save(tmp_path / "stacked")
    assert exp.summary()["stacking"]["chosen"] is True
    manifest = (path / "manifest.json").read_text()
    assert "stacked ensemble" in manifest  # the ONNX export's reason: no converter yet
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(exp.X_test), exp.best_model.predict_proba(exp.X_test))


def test_an_experiment_keeps_the_greedy_weights_when_the_combiner_is_not_better(churn_df):
    from modelworks import Experiment

    exp = Experiment(
        churn_df, target="will_churn", models=["linear", "decision_tree"], cv=3, seed=0, n_jobs=1
    )
    board = exp.compare()
    assert any(r.name == "ensemble" for r in board.results)
    assert exp.stacking is not None and not exp.stacking.chosen
    assert exp.stacking.reason.startswith("the greedy weights")
    assert type(exp.pipeline("ensemble")[-1]).__name__ == "WeightedEnsemble"


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_cross_fitted_combiners_for_more_classes_and_for_values(task):
    rng = np.random.default_rng(3)
    n = 300
    z = rng.normal(size=n)
    if task == "regression":
        y = pd.Series(2 * z + rng.normal(scale=0.5, size=n))
        oofs = [(2 * z + rng.normal(scale=1.0, size=n))[None], (z + rng.normal(scale=0.5, size=n))[None]]
        classes, metrics = None, ["rmse"]
    else:
        labels = np.digitize(z, [-0.5, 0.5])
        y = pd.Series(np.array(["lo", "mid", "hi"])[labels])
        classes = ["hi", "lo", "mid"]
        onehot = np.eye(3)[[classes.index(v) for v in y]]
        noisy = 0.6 * onehot + 0.4 * rng.dirichlet(np.ones(3), size=n)
        oofs = [noisy[None], np.full((1, n, 3), 1 / 3)]
        metrics = ["log_loss"]
    folds = cv_folds(y, None, 5, 1, 0, task != "regression")
    stacked = cross_fitted(oofs, y, folds, metrics, classes, None, 5)
    assert stacked is not None and len(stacked.fold_scores[metrics[0]]) == 5
    assert np.isfinite(stacked.fold_scores[metrics[0]]).all()
    if task != "regression":
        np.testing.assert_allclose(stacked.oof[0].sum(axis=1), 1.0)
