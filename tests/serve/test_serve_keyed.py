"""A server with an API key (``--api-key-env``), on a regression bundle whose policy allows unseen levels."""

from __future__ import annotations

import json

import httpx
import pytest
from serve_support import API_KEY

GOOD = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def example(allow_bundle) -> dict:
    return json.loads((allow_bundle / "schema.json").read_text())["example"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/predict"), ("POST", "/predict_proba"), ("GET", "/schema"), ("GET", "/metadata")],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": API_KEY},
        {"X-API-Key": ""},
    ],
)
def test_without_the_key_401(keyed_server, example, method, path, headers):
    response = httpx.request(method, keyed_server.url + path, json=example, headers=headers)
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_with_the_key_200(keyed_server, example):
    for headers in (GOOD, {"Authorization": f"Bearer {API_KEY}"}, {"authorization": f"bearer {API_KEY}"}):
        response = httpx.post(keyed_server.url + "/predict", json=example, headers=headers)
        assert response.status_code == 200, response.text
        assert isinstance(response.json()["prediction"], float)
    assert httpx.get(keyed_server.url + "/schema", headers=GOOD).status_code == 200
    assert httpx.get(keyed_server.url + "/metadata", headers=GOOD).json()["task"] == "regression"


def test_health_open_without_key(keyed_server):
    response = httpx.get(keyed_server.url + "/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_docs_need_the_key_too(keyed_server):
    assert httpx.get(keyed_server.url + "/openapi.json").status_code == 401
    doc = httpx.get(keyed_server.url + "/openapi.json", headers=GOOD).json()
    assert set(doc["components"]["securitySchemes"]) == {"APIKeyHeader", "BearerAuth"}
    assert doc["paths"]["/health"]["get"]["security"] == []


def test_allow_policy_lets_unseen_category_through(keyed_server, example):
    assert example["colour"] in {"red", "green", "blue"}
    seen = httpx.post(keyed_server.url + "/predict", json=example, headers=GOOD)
    unseen = httpx.post(keyed_server.url + "/predict", json={**example, "colour": "purple"}, headers=GOOD)
    assert seen.status_code == 200 and unseen.status_code == 200, unseen.text
    # still typed: a number is required where the schema says numeric
    bad = httpx.post(keyed_server.url + "/predict", json={**example, "x1": "high"}, headers=GOOD)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "x1"]


def test_predict_proba_on_regression_is_400(keyed_server, example):
    response = httpx.post(keyed_server.url + "/predict_proba", json=example, headers=GOOD)
    assert response.status_code == 400
    assert "regression" in response.json()["detail"] and "/predict" in response.json()["detail"]


def test_regression_csv(keyed_server, regression_df):
    body = regression_df.head(5).to_csv(index=False)
    response = httpx.post(
        keyed_server.url + "/predict",
        content=body,
        headers={**GOOD, "Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    assert lines[0] == "prediction" and len(lines) == 6
    assert all(float(v) == float(v) for v in lines[1:])
