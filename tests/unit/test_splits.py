"""Repeated rows are kept and never straddle a split; a class with one row is trained on, not refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, train_test_split

from modelworks import Experiment
from modelworks.data.demo import make_churn
from modelworks.search.splits import cv_folds, holdout, rare_labels, row_groups


def repeated_table(n: int = 600, share: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """A churn table where about ``share`` of the rows repeat another row exactly."""
    df = make_churn(n_customers=n, seed=seed).drop(columns=["customer_id"], errors="ignore")
    rng = np.random.default_rng(seed)
    repeats = df.iloc[rng.integers(0, len(df), size=int(share * n))]
    return (
        pd.concat([df, repeats], ignore_index=True).sample(frac=1, random_state=seed).reset_index(drop=True)
    )


def keys(df: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(df, index=False)


def test_row_groups():
    df = pd.DataFrame({"a": [1, 2, 1, 3], "b": ["x", "y", "x", "x"]})
    groups = row_groups(df)
    assert groups is not None and groups[0] == groups[2] and len(set(groups)) == 3
    assert row_groups(df.drop_duplicates()) is None


def test_repeated_rows_are_kept_and_never_straddle_the_test_split_or_a_fold():
    df = repeated_table()
    exp = Experiment(df, "will_churn", cv=4, cv_repeats=2, seed=3, time_budget=30)
    assert exp.cleaning.duplicate_rows > 0.15 * len(df) and not exp.cleaning.duplicates_dropped
    assert len(exp.X_train) + len(exp.X_test) == len(df)  # nothing dropped
    train = keys(pd.concat([exp.X_train, exp.y_train], axis=1))
    test = keys(pd.concat([exp.X_test, exp.y_test], axis=1))
    assert not set(train) & set(test)
    assert len(exp.folds) == 8
    for fit_rows, val_rows in exp.folds:
        assert not set(train.iloc[fit_rows]) & set(train.iloc[val_rows])
    # still stratified: the churn rate of the test set is close to the table's
    rate = (df["will_churn"] == exp.positive_label).mean()
    assert abs((exp.y_test == exp.positive_label).mean() - rate) < 0.05


def test_drop_duplicates_drops_them():
    df = repeated_table()
    exp = Experiment(df, "will_churn", drop_duplicates=True, time_budget=30)
    assert exp.cleaning.duplicates_dropped
    assert len(exp.X_train) + len(exp.X_test) == len(df.drop_duplicates())


def test_without_repeats_the_splits_are_scikit_learns():
    y = pd.Series(np.random.default_rng(0).choice(["a", "b", "c"], size=200))
    train, test = holdout(y, None, 0.2, 7, True)
    want_train, want_test = train_test_split(np.arange(200), test_size=0.2, random_state=7, stratify=y)
    np.testing.assert_array_equal(train, want_train)
    np.testing.assert_array_equal(test, want_test)
    for (a, b), (c, d) in zip(
        cv_folds(y, None, 5, 1, 7, True),
        StratifiedKFold(5, shuffle=True, random_state=7).split(np.zeros((200, 1)), y),
        strict=True,
    ):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_rare_labels_count_groups():
    y = pd.Series(["a", "a", "b", "b", "c"])
    assert rare_labels(y, None) == ["c"]
    assert sorted(rare_labels(y, np.array([0, 0, 1, 2, 3]))) == ["a", "c"]  # both 'a' rows are one group


@pytest.mark.parametrize("n_single", [1, 2])
def test_a_class_with_a_single_row_is_trained_on_not_refused(n_single):
    rng = np.random.default_rng(0)
    n = 336
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    df["y"] = np.where(df["x1"] > 0, "up", "down")
    df.loc[df.index[-3:], "y"] = ["mid", "mid", "mid"]
    for i in range(n_single):
        df.loc[i, "y"] = f"lonely{i}"
    exp = Experiment(df, "y", models=["linear"], cv=3, time_budget=30, ensemble=False)
    assert sorted(exp.cleaning.rare_classes) == [f"lonely{i}" for i in range(n_single)]
    assert set(exp.classes) >= {f"lonely{i}" for i in range(n_single)}
    assert not exp.y_test.astype(str).str.startswith("lonely").any()
    assert exp.y_train.astype(str).str.startswith("lonely").sum() == n_single
    exp.compare()
    ev = exp.evaluate()
    assert 0 <= ev.metrics["accuracy"] <= 1
    proba = exp.best_model.predict_proba(df.drop(columns="y").head(5))
    assert proba.shape == (5, len(exp.classes))
