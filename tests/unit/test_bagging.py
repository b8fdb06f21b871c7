"""Bagging: the fold models' average, chosen by a check on held-out rows, saved as tested."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_friedman1

from modelworks.bundle import load_model
from modelworks.evaluate.resampling import paired_p_value
from modelworks.experiment import Experiment
from modelworks.search.bagging import BagCheck, Skipped
from modelworks.search.ensemble import WeightedEnsemble


@pytest.fixture(scope="module")
def friedman() -> pd.DataFrame:
    X, y = make_friedman1(n_samples=500, noise=1.0, random_state=0)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    df["y"] = y
    return df


def test_a_check_without_a_p_value_is_written_as_json():
    check = BagCheck("rmse", 1.0, 2.0, 10, 1, float("nan"), False, "a single model")
    assert json.loads(json.dumps(check.to_dict(), allow_nan=False))["p_value"] is None


def test_paired_p_value_small_for_a_clear_difference_and_nan_for_none() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    good, bad = y + rng.normal(0, 0.3, 300), y + rng.normal(0, 1.5, 300)
    assert paired_p_value("rmse", y, good, bad, None, None, seed=0) < 0.01
    assert paired_p_value("rmse", y, bad, good, None, None, seed=0) < 0.01
    assert math.isnan(paired_p_value("rmse", y, good, good, None, None, seed=0))
    close = good + rng.normal(0, 0.01, 300)
    assert paired_p_value("rmse", y, good, close, None, None, seed=0) > 0.05


def test_a_high_variance_model_is_bagged_and_saved_as_tested(friedman, tmp_path) -> None:
    exp = Experiment(friedman, "y", models=["decision_tree"], cv=5, n_jobs=1, seed=0)
    exp.compare()
    ev = exp.evaluate()
    check = exp.bagging
    assert isinstance(check, BagCheck) and check.chosen, check
    assert check.bagged < check.single  # rmse: the average of five trees errs less than one tree
    assert check.rows > 0 and check.folds >= 1 and 0 <= check.p_value <= 1
    assert "averaged" in check.reason
    bag = exp.best_model[-1]
    assert isinstance(bag, WeightedEnsemble)
    assert len(bag.estimators_) == 5 and np.allclose(bag.weights, 0.2)
    # no refit: the saved model is the tested one, and its prediction is the members' mean
    assert ev.refit is False and exp.best_model is exp._train_model
    X = friedman.drop(columns="y").head(20)
    cleaned = exp.best_model[0].transform(X)
    mean = np.mean([m.predict(cleaned) for _, m in bag.estimators_], axis=0)
    assert np.allclose(exp.best_model.predict(X), mean)
    assert exp.summary()["bagging"]["chosen"] is True
    path = exp.save(tmp_path / "bundle", report=False)
    assert np.allclose(load_model(path).predict(X), exp.best_model.predict(X))


def test_bagging_is_deterministic(friedman) -> None:
    runs = []
    for _ in range(2):
        exp = Experiment(friedman, "y", models=["decision_tree"], cv=3, n_jobs=1, seed=3)
        exp.evaluate()
        runs.append((exp.bagging.to_dict(), exp.best_model.predict(friedman.head(30))))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])


def test_prefer_simple_bags_only_on_significant_evidence(friedman) -> None:
    # a linear model averaged over folds is almost the same linear model: never significant
    exp = Experiment(friedman, "y", models=["linear"], cv=3, n_jobs=1, prefer="simple")
    exp.evaluate()
    assert isinstance(exp.bagging, BagCheck)
    assert not exp.bagging.chosen and exp.bagging.p_value > 0.05
    assert exp.evaluation.refit is True
    assert not isinstance(exp.best_model[-1], WeightedEnsemble)


@pytest.mark.parametrize(
    ("options", "said"), [({"bag": False}, "--no-bag"), ({"prefer": "fast"}, "--prefer fast")]
)
def test_bagging_off_keeps_one_refitted_model(friedman, options, said) -> None:
    exp = Experiment(friedman, "y", models=["decision_tree"], cv=3, n_jobs=1, **options)
    exp.evaluate()
    assert isinstance(exp.bagging, Skipped) and said in exp.bagging.reason
    assert exp.evaluation.refit is True
    assert not isinstance(exp.best_model[-1], WeightedEnsemble)


def test_a_bagged_classifier_keeps_its_threshold_and_classes() -> None:
    X, y = make_classification(n_samples=600, n_features=10, n_informative=5, flip_y=0.05, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]).assign(y=np.where(y, "yes", "no"))
    exp = Experiment(df, "y", models=["decision_tree"], cv=5, n_jobs=1, seed=0)
    exp.evaluate()
    assert exp.bagging.chosen, exp.bagging.reason
    model, rows = exp.best_model, df.drop(columns="y").head(50)
    proba = model.predict_proba(rows)
    assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1)
    threshold = exp.threshold_choice.threshold
    expected = np.where(proba[:, list(model.classes_).index("yes")] >= threshold, "yes", "no")
    assert list(model.predict(rows)) == list(expected)
