"""A tabular-network bundle served by a real ``modelworks serve`` process, on both runtimes: its
answers over HTTP equal the bundle's own predictions, as ``modelworks predict`` makes them."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest

from modelworks.bundle import load_bundle
from modelworks.data.schema import json_safe
from modelworks.predict import predict_frame


@pytest.fixture(scope="module")
def mlp_bundle(churn_df, tmp_path_factory):
    from modelworks import Experiment

    exp = Experiment(churn_df, target="will_churn", models=["mlp"], cv=2, seed=0, n_jobs=1, ensemble=False)
    exp.compare()
    exp.evaluate()
    return exp.save(tmp_path_factory.mktemp("mlp") / "churn")


@pytest.mark.parametrize("runtime", ["auto", "sklearn"])
def test_served_network_answers_as_the_bundle(start_server, mlp_bundle, churn_rows, runtime):
    bundle = load_bundle(mlp_bundle, runtime=runtime)
    if runtime == "auto":
        assert bundle.runtime == "onnx", "the network's ONNX export should have passed its parity check"
    server = start_server(mlp_bundle, "--runtime", runtime)
    table = churn_rows.drop(columns=["will_churn"]).head(60)
    records = [json_safe(r) for r in table.to_dict(orient="records")]
    labels = httpx.post(f"{server.url}/predict", json=records, timeout=60).json()
    assert [a["prediction"] for a in labels] == predict_frame(bundle, table)[0]["prediction"].tolist()
    proba = pd.DataFrame(httpx.post(f"{server.url}/predict_proba", json=records, timeout=60).json())
    want = predict_frame(bundle, table, proba=True)[0]
    assert list(proba.columns) == list(want.columns)
    np.testing.assert_allclose(proba.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)
    assert httpx.get(f"{server.url}/metadata", timeout=10).json()["runtime"] == bundle.runtime
