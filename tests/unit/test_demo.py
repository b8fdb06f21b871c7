"""Tests for the synthetic churn data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from modelworks.data.demo import make_churn

COLUMNS = [
    "customer_id",
    "age",
    "income",
    "purchases",
    "plan",
    "region",
    "signup_date",
    "will_churn",
]


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return make_churn(5000, seed=0)


def test_shape_columns_and_values(churn: pd.DataFrame) -> None:
    assert churn.shape == (5000, 8)
    assert list(churn.columns) == COLUMNS
    assert churn["customer_id"].is_unique
    assert churn["customer_id"].iloc[0] == "C00001"
    assert churn["customer_id"].str.fullmatch(r"C\d{5}").all()
    age = churn["age"].dropna()
    assert age.between(18, 80).all()
    assert (age == age.round()).all()
    assert (churn["income"].dropna() > 0).all()
    assert pd.api.types.is_integer_dtype(churn["purchases"])
    assert (churn["purchases"] >= 0).all()
    assert set(churn["plan"]) == {"basic", "standard", "premium"}
    assert set(churn["region"].dropna()) == {"north", "south", "east", "west"}
    assert set(churn["will_churn"]) == {"yes", "no"}
    dates = pd.to_datetime(churn["signup_date"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2019-01-01")
    assert dates.max() <= pd.Timestamp("2025-12-31")
    assert dates.dt.year.nunique() == 7  # spread over the whole range


def test_same_seed_gives_identical_table() -> None:
    pd.testing.assert_frame_equal(make_churn(800, seed=7), make_churn(800, seed=7))


def test_different_seeds_give_different_tables() -> None:
    a, b = make_churn(800, seed=1), make_churn(800, seed=2)
    assert not a.equals(b)
    assert not a["signup_date"].equals(b["signup_date"])
    assert not a["will_churn"].equals(b["will_churn"])


def test_size_parameter_and_id_width() -> None:
    assert len(make_churn(10)) == 10
    big = make_churn(100_001, seed=0)
    assert big["customer_id"].is_unique
    assert big["customer_id"].iloc[-1] == "C100001"
    with pytest.raises(ValueError):
        make_churn(0)


def test_churn_share_in_range(churn: pd.DataFrame) -> None:
    for seed in (0, 1, 2):
        share = (make_churn(3000, seed=seed)["will_churn"] == "yes").mean()
        assert 0.18 < share < 0.32


def test_missing_values_present(churn: pd.DataFrame) -> None:
    missing = churn.isna().mean()
    assert 0.015 < missing["age"] < 0.05
    assert 0.025 < missing["income"] < 0.06
    assert 0.002 < missing["region"] < 0.025
    for col in ("customer_id", "purchases", "plan", "signup_date", "will_churn"):
        assert missing[col] == 0


def test_signal_directions(churn: pd.DataFrame) -> None:
    yes = churn["will_churn"] == "yes"
    by_plan = yes.groupby(churn["plan"]).mean()
    assert by_plan["basic"] > by_plan["standard"] > by_plan["premium"]
    year = pd.to_datetime(churn["signup_date"]).dt.year
    by_year = yes.groupby(year).mean()
    assert by_year.loc[2025] > by_year.loc[2019] + 0.15  # newer customers churn more
    assert churn.loc[yes, "purchases"].mean() < churn.loc[~yes, "purchases"].mean()


def test_signal_is_learnable_but_not_trivial(churn: pd.DataFrame) -> None:
    y = (churn["will_churn"] == "yes").astype(int)
    tenure = (pd.Timestamp("2026-01-01") - pd.to_datetime(churn["signup_date"])).dt.days
    X = pd.DataFrame(
        {
            "tenure_days": tenure,
            "purchases": churn["purchases"],
            "basic": (churn["plan"] == "basic").astype(int),
            "premium": (churn["plan"] == "premium").astype(int),
        }
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    assert 0.65 < auc < 0.95
    # A random feature alone carries no signal.
    noise = np.random.default_rng(0).random(len(y_test))
    assert abs(roc_auc_score(y_test, noise) - 0.5) < 0.06
