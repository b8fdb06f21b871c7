"""Clustering and anomaly detection (modelworks.cluster): the choice of k and method, the profiles,
bundles whose predict gives back the fitted rows' clusters, and clean errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from modelworks.bundle import load_bundle
from modelworks.cluster import Anomalies, Clustering
from modelworks.cluster import _evidence as ev
from modelworks.cluster._assign import NearestAssigner
from modelworks.errors import ConfigError, DataError, ModelworksError
from modelworks.predict import predict_frame


@pytest.fixture(scope="module")
def blobs() -> pd.DataFrame:
    """Three groups of customers: numbers that separate them, a plan that follows them, an identifier."""
    X, y = make_blobs(n_samples=150, centers=[[0, 0], [6, 0], [0, 6]], cluster_std=0.8, random_state=0)
    rng = np.random.default_rng(0)
    plan = np.where(y == 1, "premium", np.where(rng.random(len(y)) < 0.9, "basic", "plus"))
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(len(y))],
            "age": 40 + 5 * X[:, 0],
            "purchases": np.exp(1 + 0.4 * X[:, 1]),
            "plan": plan,
            "group": y,
        }
    )


def test_blobs_profiles_explain_each_cluster(blobs):
    cl = Clustering(blobs, exclude=("group",), seed=0).fit()
    assert cl.chosen.n_clusters == 3 and ev.external_scores(blobs["group"], cl.labels_)["ari"] > 0.95
    assert {
        "name": "customer_id",
        "reason": "identifier-like: unique per row, carries no pattern",
    } in cl.data.dropped
    premium = next(p for p in cl.profiles if "plan = premium" in p.sentence)
    assert "mostly plan = premium" in premium.sentence and premium.size == 50
    higher_age = next(p for p in cl.profiles if p.centre["age"] > 60)
    assert "higher age" in higher_age.sentence
    many = next(p for p in cl.profiles if p.centre["purchases"] > 20)
    assert "times the purchases" in many.sentence  # a ratio of medians of 2 or more is said as such
    for prof in cl.profiles:
        for d in prof.differences:
            assert d["p_holm"] >= d["p"] and -1 <= d["effect"] <= 1
    tests = cl.feature_tests.set_index("feature")
    assert tests.loc["age", "significant"] and tests.loc["plan", "test"] == "chi-square"


@pytest.mark.parametrize("method", ["kmeans", "gmm", "agglomerative", "dbscan", "hdbscan"])
def test_every_method_bundle_predicts_the_fitted_rows_clusters(blobs, method, tmp_path):
    cl = Clustering(blobs, method=method, exclude=("group",), seed=0).fit()
    path = cl.save(tmp_path / method, report=False)
    saved = pd.read_csv(path / "assignments.csv")
    assert saved["row"].tolist() == list(range(len(blobs)))
    bundle = load_bundle(path)
    predicted, _ = predict_frame(bundle, blobs)
    assert list(predicted.columns) == ["cluster"]
    np.testing.assert_array_equal(predicted["cluster"].to_numpy(), saved["cluster"].to_numpy())
    assert bundle.schema["assignment"] == cl.assignment_rule
    with pytest.raises(ModelworksError, match="--proba applies to classification"):
        predict_frame(bundle, blobs, proba=True)


def test_dbscan_calls_a_row_far_from_every_core_point_noise(blobs):
    cl = Clustering(blobs, method="dbscan", exclude=("group",), seed=0).fit()
    far = blobs.head(1).assign(age=1e4, purchases=1e6)
    assert cl.predict(far).tolist() == [-1]
    assert cl.assignment_rule.startswith("nearest core point")


def test_nearest_assigner_radius_and_shape():
    a = NearestAssigner("dbscan", "nearest core point", radius=1.0).fit(np.array([[0.0], [10.0]]), [0, 1])
    assert a.predict(np.array([[0.5], [9.2], [5.0]])).tolist() == [0, 1, -1]
    with pytest.raises(ValueError):
        a.predict(np.zeros((1, 2)))


def test_gap_elbow_stops_where_the_gains_fall_off():
    curve = pd.DataFrame({"k": [1, 2, 3, 4, 5], "gap": [0.5, 1.1, 1.35, 1.4, 1.45]})
    assert ev.gap_elbow(curve) == 3  # 0.6, 0.25 (≥ 25% of 0.6), then 0.05
    late = pd.DataFrame({"k": [1, 2, 3, 4, 5], "gap": [0.30, 0.31, 1.50, 1.63, 1.52]})
    assert ev.gap_elbow(late) == 3  # the bend comes after the largest gain, not before it
    flat = pd.DataFrame({"k": [1, 2, 3], "gap": [1.0, 0.9, 0.8]})
    assert ev.gap_elbow(flat) == 2


def test_choice_sets_unstable_clusterings_aside_and_breaks_silhouette_ties_by_stability():
    table = pd.DataFrame(
        {
            "method": ["kmeans", "gmm", "agglomerative"],
            "k": [3, 3, 3],
            "n_clusters": [3, 3, 3],
            "silhouette": [0.50, 0.49, 0.60],
            "stability": [0.80, 0.95, 0.55],
        }
    )
    index, why = ev.choose(table, 3)
    assert table.loc[index, "method"] == "gmm"  # agglomerative unstable; kmeans and gmm tie on silhouette
    assert "most stable" in why


def test_a_fixed_k_is_kept(blobs):
    cl = Clustering(blobs, k=4, method="kmeans", exclude=("group",), seed=0).fit()
    assert cl.chosen.n_clusters == 4 and cl.comparison["k"].tolist() == [4]


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "message"),
    [
        (pd.DataFrame({"a": [1.0]}), {}, DataError, "at least 3 rows"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}), {"k": 5}, ConfigError, "k = 5 clusters needs more rows"),
        (pd.DataFrame({"a": [1.0] * 5, "b": ["x"] * 5}), {}, DataError, "no column is usable"),
        (pd.DataFrame({"a": [np.nan] * 5, "b": [None] * 5}), {}, DataError, "entirely missing"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {"method": "spectral"}, ConfigError, "method must be"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {"k": "two"}, ConfigError, "k must be 'auto'"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), {"exclude": ("zz",)}, ConfigError, "does not have"),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0]}),
            {"method": "dbscan", "k": 3},
            ConfigError,
            "leave --k as auto",
        ),
    ],
)
def test_bad_input_is_one_clear_sentence(frame, kwargs, error, message):
    with pytest.raises(error, match=message):
        Clustering(frame, **kwargs).fit()


def test_too_few_distinct_rows_is_a_clean_error():
    with pytest.raises(ConfigError, match="distinct row"):
        Clustering(pd.DataFrame({"a": [1.0, 1.0, 1.0, 2.0], "b": [0, 0, 0, 1]})).fit()


def _with_outliers(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "height": rng.normal(170, 8, n),
            "weight": rng.normal(70, 9, n),
            "city": rng.choice(["north", "south", "east"], n),
        }
    )
    rows = rng.choice(n, 8, replace=False)
    df.loc[rows[:4], "height"] = 400.0
    df.loc[rows[4:], "weight"] = 900.0
    return df, np.sort(rows)


def test_anomalies_catch_injected_rows_and_say_which_value(tmp_path):
    df, rows = _with_outliers()
    an = Anomalies(df.assign(truth=np.isin(np.arange(len(df)), rows)), label="truth", seed=0).fit()
    assert set(rows) <= set(np.flatnonzero(an.is_anomaly_))
    assert an.external["recall"] == 1.0 and an.external["precision"] >= 0.5
    assert "far-out fence" in an.threshold_rule
    why = an.flagged.set_index("row")["why"]
    assert all(why[r].startswith(("height = 400", "weight = 900")) for r in rows)
    path = an.save(tmp_path / "an", report=False)
    predicted, _ = predict_frame(load_bundle(path), df)
    np.testing.assert_allclose(predicted["anomaly_score"], an.scores_)
    np.testing.assert_array_equal(predicted["is_anomaly"], an.is_anomaly_.astype(bool))
    saved = pd.read_csv(path / "scores.csv")
    assert saved["is_anomaly"].sum() == an.is_anomaly_.sum()


def test_contamination_sets_the_share_flagged():
    df, _ = _with_outliers()
    an = Anomalies(df, contamination=0.05, seed=0).fit()
    assert an.is_anomaly_.sum() == pytest.approx(20, abs=1)
    assert "5.00%" in an.threshold_rule
    with pytest.raises(ConfigError, match="above 0 and at most 0.5"):
        Anomalies(df, contamination=0.7)
