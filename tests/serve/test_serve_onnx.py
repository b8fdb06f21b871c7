"""A boosted-tree bundle served with ONNX Runtime (``runtime="auto"``) answers as ``modelworks predict``.

In process (FastAPI's test client): the command line's path is :func:`modelworks.data.load.load` on the
file, then :func:`modelworks.predict.predict_frame` on the bundle loaded with the same runtime.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

from modelworks.bundle import load_bundle
from modelworks.data.load import load
from modelworks.data.schema import json_safe
from modelworks.predict import predict_frame
from modelworks.serve.app import create_app

with warnings.catch_warnings():  # starlette suggests httpx2 for its test client; httpx is what we have
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def boosted_bundle(churn_df, tmp_path_factory):
    from modelworks import Experiment

    exp = Experiment(
        churn_df, target="will_churn", models=["lightgbm"], cv=2, seed=0, n_jobs=1, ensemble=False
    )
    exp.compare()
    exp.evaluate()
    path = exp.save(tmp_path_factory.mktemp("boosted") / "churn")
    if not (path / "model.onnx").is_file():
        pytest.skip("this pipeline was saved without model.onnx")
    return path


@pytest.mark.parametrize("runtime", ["auto", "sklearn"])
def test_http_equals_cli_path(boosted_bundle, rows_csv, runtime):
    client = TestClient(create_app(boosted_bundle, runtime=runtime))
    assert client.get("/metadata").json()["runtime"] == ("onnx" if runtime == "auto" else "sklearn")
    table = load(rows_csv)
    bundle = load_bundle(boosted_bundle, runtime=runtime)
    labels = predict_frame(bundle, table)[0]["prediction"].tolist()
    proba = predict_frame(bundle, table, proba=True)[0]
    records = [json_safe(r) for r in table.to_dict(orient="records")]

    answer = client.post("/predict", json=records).json()
    assert [a["prediction"] for a in answer] == labels
    got = pd.DataFrame(client.post("/predict_proba", json=records).json())
    assert list(got.columns) == list(proba.columns)
    np.testing.assert_allclose(got.to_numpy(), proba.to_numpy(), rtol=0, atol=1e-12)

    csv = client.post("/predict_proba", content=rows_csv.read_bytes(), headers={"Content-Type": "text/csv"})
    np.testing.assert_allclose(
        pd.read_csv(io.StringIO(csv.text)).to_numpy(), proba.to_numpy(), rtol=0, atol=1e-12
    )

    for i in range(10):  # one record at a time takes ONNX's single-row path
        one = client.post("/predict_proba", json=records[i]).json()
        np.testing.assert_allclose(list(one.values()), proba.iloc[i].to_numpy(), rtol=0, atol=1e-6)
        assert client.post("/predict", json=records[i]).json() == {"prediction": labels[i]}
