"""Batched permutation importance equals scikit-learn's, and predicts in few calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import inspection
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelworks.plots._permutation import permutation_importance


def _table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
            "noise": rng.uniform(size=n),
        },
        index=np.arange(n) * 3 + 7,  # not a range index: the shuffles must not align on it
    )


def _pipeline(estimator):
    pre = make_column_transformer(
        (StandardScaler(), ["a", "b", "noise"]), (OneHotEncoder(handle_unknown="ignore"), ["colour"])
    )
    return make_pipeline(pre, estimator)


def _fitted(task: str, X: pd.DataFrame, noise: np.ndarray | float = 0.0):
    """A target of ``task`` driven by 'a', 'b' and 'colour' (not 'noise'), and a pipeline fitted to it."""
    signal = 2 * X["a"] - X["b"] + (X["colour"] == "red") + noise
    if task == "regression":
        y, model = signal.to_numpy(), _pipeline(LinearRegression())
    elif task == "binary":
        y, model = (signal > 0).to_numpy(), _pipeline(LogisticRegression())
    else:
        y, model = np.digitize(signal, [-1, 1]), _pipeline(LogisticRegression())
    return y, model.fit(X, y)


class Counting:
    """Counts the calls reaching the wrapped pipeline's prediction methods."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __getattr__(self, name):
        attr = getattr(self.model, name)
        if name.startswith("predict") or name == "decision_function":

            def counted(X):
                self.calls += 1
                return attr(X)

            counted.__name__ = name
            return counted
        return attr

    def __sklearn_tags__(self):
        return self.model.__sklearn_tags__()


@pytest.mark.parametrize(
    ("task", "scoring"),
    [
        ("binary", "roc_auc"),
        ("binary", "neg_log_loss"),
        ("binary", "accuracy"),
        ("multiclass", "neg_log_loss"),
        ("regression", "neg_root_mean_squared_error"),
        ("regression", None),
    ],
)
def test_equals_scikit_learn(task: str, scoring: str | None) -> None:
    X = _table()
    noise = np.random.default_rng(1).normal(scale=0.5, size=len(X))
    y, model = _fitted(task, X, noise)
    ours = permutation_importance(model, X, y, scoring=scoring, n_repeats=3, random_state=4)
    theirs = inspection.permutation_importance(model, X, y, scoring=scoring, n_repeats=3, random_state=4)
    np.testing.assert_allclose(ours.importances, theirs.importances, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.importances_mean, theirs.importances_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.importances_std, theirs.importances_std, rtol=0, atol=1e-12)
    assert ours.importances_mean[0] > ours.importances_mean[3]  # 'a' matters, 'noise' does not


def test_predicts_in_a_few_calls_and_splits_by_memory() -> None:
    X = _table(200)
    y = (X["a"] > 0).to_numpy()
    model = Counting(_pipeline(LogisticRegression()).fit(X, y))
    permutation_importance(model, X, y, scoring="roc_auc", n_repeats=5, random_state=0)
    assert model.calls == 2  # the baseline, then all 20 shuffled copies at once
    model.calls = 0
    # room for 3 copies per call: 20 copies take 7 calls, plus the baseline
    split = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=5, random_state=0, max_cells=3 * 200 * 4
    )
    assert model.calls == 8
    whole = permutation_importance(model.model, X, y, scoring="roc_auc", n_repeats=5, random_state=0)
    np.testing.assert_array_equal(split.importances, whole.importances)


def test_keeps_column_dtypes_in_the_shuffled_copies() -> None:
    X = _table(60)
    y = (X["colour"] == "red").to_numpy()
    seen: list[pd.Series] = []

    class Spy(LogisticRegression):
        pass

    model = _pipeline(Spy()).fit(X, y)
    original = model.predict_proba

    def spy(frame):
        seen.append(frame.dtypes)
        return original(frame)

    spy.__name__ = "predict_proba"
    model.predict_proba = spy
    permutation_importance(model, X, y, scoring="neg_log_loss", n_repeats=2)
    assert all((dtypes == X.dtypes).all() for dtypes in seen)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("column", ["a", "colour"])
def test_partial_dependence_equals_scikit_learn_in_one_call(task: str, column: str) -> None:
    from modelworks.plots._inspection import _grid, _partial_dependence

    X = _table(150)
    y, model = _fitted(task, X)
    categorical = column == "colour"
    grid = _grid(X[column], categorical, 12, 20)
    counted = Counting(model)
    ours = _partial_dependence(counted, X, column, grid, categorical)
    theirs = inspection.partial_dependence(
        model,
        X,
        [column],
        categorical_features=[column] if categorical else None,
        custom_values={column: grid},
        kind="average",
    )
    assert counted.calls == 1
    np.testing.assert_allclose(ours["average"], theirs["average"], rtol=0, atol=1e-12)
    assert ours["average"].shape == theirs["average"].shape
    for mine, reference in zip(ours["grid_values"], theirs["grid_values"], strict=True):
        np.testing.assert_array_equal(mine, reference)
