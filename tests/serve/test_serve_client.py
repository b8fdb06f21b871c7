"""``modelworks.Client`` against a real server: DataFrames equal to ``modelworks predict``."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from serve_support import API_KEY, free_port

import modelworks as mw
from modelworks.client import ServiceError


def test_predict_equals_cli(churn_server, churn_rows, cli_predictions):
    with mw.Client(churn_server.url, batch_size=150) as client:  # several requests, order kept
        got = client.predict(churn_rows)
    expected = pd.read_csv(io.StringIO(cli_predictions["labels"]))
    assert list(got.columns) == ["prediction"]
    assert got["prediction"].tolist() == expected["prediction"].tolist()


def test_predict_proba_equals_cli(churn_server, churn_rows, cli_predictions):
    with mw.Client(churn_server.url) as client:
        got = client.predict_proba(churn_rows)
    expected = pd.read_csv(io.StringIO(cli_predictions["proba"]))
    assert list(got.columns) == list(expected.columns) == ["no", "yes"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


def test_schema_metadata_health(churn_server, trained_bundle):
    client = mw.Client(churn_server.url + "/")
    assert client.health()["status"] == "ok"
    assert [c["name"] for c in client.schema()["columns"]][0] == "age"
    assert client.metadata()["target"] == "will_churn"
    empty = client.predict_proba(pd.DataFrame(columns=["age"]))
    assert list(empty.columns) == ["no", "yes"] and empty.empty
    client.close()


def test_refusal_raises_with_server_message(churn_server, churn_rows):
    bad = churn_rows.head(3).copy()
    bad["plan"] = bad["plan"].astype(object)
    bad.loc[1, "plan"] = "gold"
    with pytest.raises(mw.ModelworksError, match=r"422.*1\.plan.*gold") as info:
        mw.Client(churn_server.url).predict(bad)
    assert isinstance(info.value, ServiceError) and info.value.status == 422
    with pytest.raises(ServiceError, match="413"):
        mw.Client(churn_server.url, batch_size=10_000).predict(pd.concat([churn_rows] * 2))


def test_api_key(keyed_server, regression_df):
    rows = regression_df.head(4)
    with pytest.raises(ServiceError, match="401.*API key") as info:
        mw.Client(keyed_server.url).predict(rows)
    assert info.value.status == 401
    got = mw.Client(keyed_server.url, api_key=API_KEY).predict(rows)
    assert len(got) == 4 and got["prediction"].dtype == float
    with pytest.raises(ServiceError, match="400.*regression"):
        mw.Client(keyed_server.url, api_key=API_KEY).predict_proba(rows)


def test_unreachable_server():
    with pytest.raises(ServiceError, match="cannot reach"):
        mw.Client(f"http://127.0.0.1:{free_port()}", timeout=2).health()
