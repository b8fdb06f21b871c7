"""Clustering and anomaly bundles served by a real ``modelworks serve`` process: JSON and CSV answered
as the bundle predicts, /predict_proba refused, the OpenAPI answer shape and the key held."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pytest
from serve_support import API_KEY, API_KEY_ENV
from sklearn.datasets import make_blobs

from modelworks.cluster import Anomalies, Clustering


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    X, y = make_blobs(n_samples=90, centers=3, n_features=2, cluster_std=0.6, random_state=4)
    return pd.DataFrame(X, columns=["x", "y"]).assign(shop=np.array(["a", "b", "c"])[y])


@pytest.fixture(scope="module")
def bundles(rows, tmp_path_factory):
    root = tmp_path_factory.mktemp("unsupervised")
    cl = Clustering(rows, method="agglomerative", seed=0).fit()
    an = Anomalies(rows, seed=0).fit()
    return cl, cl.save(root / "clusters", report=False), an, an.save(root / "anomalies", report=False)


def test_clusters_are_served_as_the_bundle_assigns_them(start_server, bundles, rows):
    cl, path, _, _ = bundles
    server = start_server(path)
    records = rows.head(12).to_dict(orient="records")
    answer = httpx.post(f"{server.url}/predict", json=records, timeout=30)
    assert answer.status_code == 200, answer.text
    assert [r["cluster"] for r in answer.json()] == cl.labels_[:12].tolist()
    one = httpx.post(f"{server.url}/predict", json=records[0], timeout=30).json()
    assert one == {"cluster": int(cl.labels_[0])}
    csv = httpx.post(
        f"{server.url}/predict",
        content=rows.to_csv(index=False),
        headers={"content-type": "text/csv"},
        timeout=30,
    )
    assert csv.status_code == 200
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(csv.text))["cluster"], cl.labels_)
    refused = httpx.post(f"{server.url}/predict_proba", json=records[0], timeout=30)
    assert refused.status_code == 400 and "clustering model" in refused.json()["detail"]
    bad = httpx.post(f"{server.url}/predict", json={"x": "high", "y": 1.0, "shop": "a"}, timeout=30)
    assert bad.status_code == 422
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    assert "cluster" in spec["components"]["schemas"]["Prediction"]["properties"]
    assert httpx.get(f"{server.url}/metadata", timeout=30).json()["task"] == "clustering"


def test_anomaly_scores_are_served_behind_the_key(start_server, bundles, rows):
    _, _, an, path = bundles
    server = start_server(path, "--api-key-env", API_KEY_ENV, env={API_KEY_ENV: API_KEY})
    far = {"x": 1e4, "y": -1e4, "shop": "a"}
    assert httpx.post(f"{server.url}/predict", json=far, timeout=30).status_code == 401
    answer = httpx.post(
        f"{server.url}/predict",
        json=[far, rows.iloc[0].to_dict()],
        headers={"X-API-Key": API_KEY},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    first, second = answer.json()
    assert first["is_anomaly"] is True and first["anomaly_score"] > an.threshold
    assert second["anomaly_score"] == pytest.approx(an.scores_[0])
