"""The Python API: Experiment from a DataFrame through compare, evaluate and save."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

import modelworks.workflows.tabular._holdout as holdout_stage
from modelworks import Experiment, ModelworksError, load_model
from modelworks.data.target import detect_task
from modelworks.errors import ConfigError, DataError, TargetError
from modelworks.models.wrappers import LabelEncodedClassifier, unwrap

FAST = {"models": ["linear", "decision_tree"], "cv": 3, "n_jobs": 1}


def small(n: int = 60, seed: int = 0, **targets) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "w": rng.uniform(size=n), **targets})


# ------------------------------------------------------------------------------ task


@pytest.mark.parametrize(
    ("target", "task"),
    [
        (["no", "yes"] * 30, "binary"),
        ([0, 1] * 30, "binary"),
        (["a", "b", "c"] * 20, "multiclass"),
        ([1, 2, 3, 4, 5, 6] * 10, "multiclass"),  # integer target with few values
        (list(range(10)) * 6, "multiclass"),  # ten values: still classes
        (list(range(12)) * 5, "regression"),  # more than ten: a quantity
        (np.linspace(0, 1, 60).tolist(), "regression"),
        ([True, False] * 30, "binary"),
    ],
)
def test_task_detection(target, task):
    exp = Experiment(small(y=target), "y", **FAST)
    assert exp.task == task
    assert exp.task_reason


def test_task_override():
    df = small(y=[1, 2, 3, 4, 5, 6] * 10)
    assert Experiment(df, "y", task="regression", **FAST).task == "regression"
    with pytest.raises(TargetError, match="not 2"):
        Experiment(df, "y", task="binary", **FAST)
    assert detect_task(pd.Series([0, 1] * 5, name="y"), "multiclass")[0] == "binary"
    with pytest.raises(TargetError, match="not numeric"):
        Experiment(small(y=["a", "b", "c"] * 20), "y", task="regression", **FAST)
    with pytest.raises(ConfigError, match="unknown task"):
        Experiment(df, "y", task="clustering", **FAST)


def test_options_are_checked():
    df = small(y=["no", "yes"] * 30)
    for kwargs, word in [
        ({"cv": 1}, "--cv"),
        ({"test_size": 0.0}, "--test-size"),
        ({"time_budget": -1}, "--time-budget"),
        ({"metric": "rmse"}, "rmse"),
        ({"models": ["nope"]}, "nope"),
    ]:
        with pytest.raises(ConfigError, match=word):
            Experiment(df, "y", **{**FAST, **kwargs})
    with pytest.raises(ConfigError, match="gaussian_nb"):
        Experiment(small(y=np.linspace(0, 1, 60)), "y", models=["gaussian_nb"])


# ------------------------------------------------------------------------------ cleaning


def test_duplicates_missing_targets_identifiers_and_constants(churn_df):
    df = pd.concat([churn_df, churn_df.head(10)], ignore_index=True)
    df["source"] = "crm"
    df.loc[len(df) - 1 - 10, "will_churn"] = None  # the last original row loses its target
    exp = Experiment(df, "will_churn", **FAST)
    c = exp.cleaning
    assert c.rows_in == 410
    assert c.missing_target_rows == 1
    assert c.duplicate_rows == 10
    assert len(exp.X_train) + len(exp.X_test) == 409  # repeats kept, grouped (test_splits.py)
    assert not exp.cleaning.duplicates_dropped
    dropped = {d["name"]: d["reason"] for d in c.dropped_columns}
    assert set(dropped) == {"customer_id", "source"}
    assert "identifier" in dropped["customer_id"]
    assert "constant" in dropped["source"]
    assert {"name": "signup_date", "as": "date"} in c.parsed_columns
    used = {col["name"] for col in exp.columns}
    assert used == {"age", "income", "purchases", "plan", "region", "signup_date"}
    schema = exp.schema()
    assert [col["name"] for col in schema["columns"]] == [col["name"] for col in exp.columns]
    assert {d["name"] for d in schema["dropped"]} == {"customer_id", "source"}


def test_no_usable_columns_refused():
    df = pd.DataFrame({"id": [f"u{i}" for i in range(40)], "k": 1, "y": ["a", "b"] * 20})
    with pytest.raises(ModelworksError, match="no usable feature"):
        Experiment(df, "y", **FAST)


def test_feature_checks():
    with pytest.raises(DataError, match="'x'.*infinite"):
        Experiment(small(y=["a", "b"] * 30).assign(x=np.inf), "y", **FAST)
    with pytest.raises(DataError, match="entirely missing"):
        Experiment(small(y=["a", "b"] * 30).assign(w=np.nan), "y", **FAST)


# ------------------------------------------------------------------------------ split and folds


def test_test_set_held_out_and_stratified(churn_experiment, churn_df):
    exp = churn_experiment
    train_ids, test_ids = set(exp.X_train["customer_id"]), set(exp.X_test["customer_id"])
    assert not train_ids & test_ids
    assert train_ids | test_ids == set(churn_df["customer_id"])
    assert len(exp.X_test) == math.ceil(0.2 * len(churn_df))
    assert len(exp.y_train) == len(exp.X_train) and len(exp.y_test) == len(exp.X_test)
    share = churn_df["will_churn"].eq("yes").mean()
    assert exp.y_train.eq("yes").mean() == pytest.approx(share, abs=0.01)
    assert exp.y_test.eq("yes").mean() == pytest.approx(share, abs=0.02)
    # the rows line up: each test row keeps its own label
    joined = exp.X_test.assign(y=exp.y_test.to_numpy()).merge(churn_df, on="customer_id")
    assert (joined["y"] == joined["will_churn"]).all()


def test_same_folds_for_every_model(churn_experiment):
    exp = churn_experiment
    assert len(exp.folds) == 3
    validation = np.sort(np.concatenate([val for _, val in exp.folds]))
    np.testing.assert_array_equal(validation, np.arange(len(exp.X_train)))
    fold_scores = exp.leaderboard.fold_scores()
    assert set(fold_scores) - {"ensemble"} == {"linear", "decision_tree"}
    for scores in fold_scores.values():
        assert set(scores) == set(exp.metrics)
        assert all(len(v) == exp.cv for v in scores.values())
    summary = exp.summary()
    assert summary["fold_scores"] == fold_scores
    assert summary["rows"] == {"train": len(exp.X_train), "test": len(exp.X_test)}


def test_folds_are_seeded(churn_df):
    a = Experiment(churn_df, "will_churn", seed=1, **FAST)
    b = Experiment(churn_df, "will_churn", seed=1, **FAST)
    c = Experiment(churn_df, "will_churn", seed=2, **FAST)
    for (_, va), (_, vb) in zip(a.folds, b.folds, strict=True):
        np.testing.assert_array_equal(va, vb)
    assert list(a.X_test["customer_id"]) == list(b.X_test["customer_id"])
    assert list(a.X_test["customer_id"]) != list(c.X_test["customer_id"])


# ------------------------------------------------------------------------------ evaluate


def test_evaluate_once(churn_df, monkeypatch):
    calls: list[int] = []
    real = holdout_stage.predict_scores

    def counting(model, X, classes):
        calls.append(len(X))
        return real(model, X, classes)

    monkeypatch.setattr(holdout_stage, "predict_scores", counting)
    exp = Experiment(churn_df, "will_churn", **FAST)
    first = exp.evaluate()
    assert exp.evaluate() is first
    assert calls == [len(exp.X_test)]
    assert first.model == exp.leaderboard.best.name
    assert first.n_test == len(exp.X_test)
    assert first.confusion_matrix.to_numpy().sum() == len(exp.X_test)
    assert first.residuals is None
    assert set(first.metrics) == set(exp.metrics)


def test_best_model_is_a_fitted_pipeline(churn_experiment):
    model = churn_experiment.best_model
    assert isinstance(model, Pipeline)
    check_is_fitted(model)
    assert list(model.classes_) == ["no", "yes"]
    pred = model.predict(churn_experiment.X_test)
    assert set(pred) <= {"no", "yes"}
    proba = model.predict_proba(churn_experiment.X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_refit_uses_all_rows_unless_disabled(churn_df):
    refit = Experiment(churn_df, "will_churn", models=["linear"], cv=2, n_jobs=1, bag=False)
    kept = Experiment(churn_df, "will_churn", models=["linear"], cv=2, n_jobs=1, refit=False, bag=False)
    assert refit.evaluate().refit is True
    assert kept.evaluate().refit is False
    assert kept.best_model is kept._train_model
    n_all = len(refit.X_train) + len(refit.X_test)
    # the refitted model saw every row, the kept one only the training rows
    num = refit.best_model.named_steps["prepare"].named_transformers_["num"]
    assert num.named_steps["standardscaler"].n_samples_seen_ == n_all
    num = kept.best_model.named_steps["prepare"].named_transformers_["num"]
    assert num.named_steps["standardscaler"].n_samples_seen_ == len(kept.X_train)


@pytest.mark.parametrize("metric", ["accuracy", "log_loss"])
def test_metric_option_sets_the_ranking(churn_df, metric):
    exp = Experiment(churn_df, "will_churn", metric=metric, **FAST)
    board = exp.compare()
    assert exp.metric == board.metric == metric
    assert exp.metrics[0] == metric
    means = board.to_frame()[f"{metric}_mean"].tolist()
    assert means == sorted(means, reverse=metric == "accuracy")
    assert board.best.name == board.to_frame()["model"].iloc[0]


def test_regression_residuals(regression_df):
    exp = Experiment(regression_df, "price", **FAST)
    assert exp.task == "regression"
    assert exp.metric == "rmse"
    assert exp.classes is None
    ev = exp.evaluate()
    assert ev.confusion_matrix is None
    assert set(ev.residuals) >= {"mean", "std", "median", "q05", "q95", "max_abs"}
    assert ev.residuals["q05"] <= ev.residuals["median"] <= ev.residuals["q95"]
    assert ev.metrics["rmse"] < regression_df["price"].std()
    assert ev.to_dict()["residuals"] == ev.residuals
    pred = exp.best_model.predict(exp.X_test)
    assert pred.dtype.kind == "f"


# ------------------------------------------------------------------------------ labels


def test_xgboost_keeps_string_labels(churn_df, tmp_path):
    exp = Experiment(churn_df, "will_churn", models=["xgboost"], cv=2, n_jobs=1, tune=False, bag=False)
    exp.evaluate()
    model = exp.best_model
    assert isinstance(unwrap(model.named_steps["model"]), LabelEncodedClassifier)
    assert list(model.classes_) == ["no", "yes"]
    pred = model.predict(exp.X_test)
    assert set(pred) <= {"no", "yes"}
    path = exp.save(tmp_path / "xgb", report=False)
    loaded = load_model(path)
    assert list(loaded.predict(exp.X_test)) == list(pred)
    np.testing.assert_array_equal(loaded.predict_proba(exp.X_test), model.predict_proba(exp.X_test))


def test_label_encoded_classifier_round_trips_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.array(["cat", "dog", "emu"])[np.argmax(X @ rng.normal(size=(2, 3)), axis=1)]
    clf = LabelEncodedClassifier(LogisticRegression()).fit(X, y)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert set(clf.estimator_.classes_) == {0, 1, 2}
    pred = clf.predict(X)
    assert pred.dtype.kind == "U"
    assert (pred == y).mean() > 0.8
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    assert clf.get_params()["estimator"].__class__ is LogisticRegression
