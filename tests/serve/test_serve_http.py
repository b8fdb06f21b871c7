"""The prediction server over real HTTP: answers equal ``modelworks predict``, every refusal as stated."""

from __future__ import annotations

import io
import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import numpy as np
import pandas as pd
import pytest
from serve_support import MAX_BODY_MB, MAX_ROWS

from modelworks.data.schema import json_safe

FEATURES = ["age", "income", "purchases", "plan", "region", "signup_date"]


def records(df: pd.DataFrame) -> list[dict]:
    return [json_safe(r) for r in df.to_dict(orient="records")]


@pytest.fixture(scope="module")
def http(churn_server):
    with httpx.Client(base_url=churn_server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def example(trained_bundle) -> dict:
    return json.loads((trained_bundle / "schema.json").read_text())["example"]


def detail(response: httpx.Response) -> list[dict]:
    body = response.json()
    assert isinstance(body["detail"], list), body
    return body["detail"]


# --- predictions equal the command line ------------------------------------------------------------


def test_json_list_labels_equal_cli(http, churn_rows, cli_predictions):
    response = http.post("/predict", json=records(churn_rows))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer, list) and len(answer) == len(churn_rows)
    assert all(set(a) == {"prediction"} for a in answer)
    expected = pd.read_csv(io.StringIO(cli_predictions["labels"]))["prediction"]
    assert [a["prediction"] for a in answer] == expected.tolist()


def test_json_list_proba_equal_cli(http, churn_rows, cli_predictions):
    response = http.post("/predict_proba", json=records(churn_rows))
    assert response.status_code == 200, response.text
    got = pd.DataFrame(response.json())
    expected = pd.read_csv(io.StringIO(cli_predictions["proba"]))
    assert list(got.columns) == ["no", "yes"] == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-9)
    assert got["yes"].nunique() > 5  # real probabilities, not a constant


def test_single_objects_equal_cli(http, churn_rows, cli_predictions):
    labels = pd.read_csv(io.StringIO(cli_predictions["labels"]))["prediction"]
    proba = pd.read_csv(io.StringIO(cli_predictions["proba"]))
    for i, record in enumerate(records(churn_rows.head(15))):
        answer = http.post("/predict", json=record).json()
        assert answer == {"prediction": labels[i]}
        p = http.post("/predict_proba", json=record).json()
        assert list(p) == ["no", "yes"]
        np.testing.assert_allclose([p["no"], p["yes"]], proba.iloc[i].to_numpy(), rtol=0, atol=1e-12)


def test_csv_body_answers_csv_identical_to_cli(http, rows_csv, cli_predictions):
    body = rows_csv.read_bytes()
    for path, name in (("/predict", "labels"), ("/predict_proba", "proba")):
        response = http.post(path, content=body, headers={"Content-Type": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text == cli_predictions[name]


def test_extra_fields_are_ignored(http, example):
    plain = http.post("/predict_proba", json=example).json()
    extra = http.post("/predict_proba", json={**example, "customer_id": "C1", "unknown": [1, 2]}).json()
    assert plain == extra


def test_strings_are_normalised_like_files(http, example):
    # surrounding spaces, a numeric string, a missing marker: read as modelworks.load reads files
    base = http.post("/predict_proba", json={**example, "region": None}).json()
    same = http.post(
        "/predict_proba",
        json={**example, "plan": f" {example['plan']} ", "age": str(example["age"]), "region": "NA"},
    ).json()
    assert same == base


# --- validation: 422 naming the field (and the row) -----------------------------------------------


def test_missing_field_single_object(http, example):
    record = {k: v for k, v in example.items() if k != "income"}
    response = http.post("/predict", json=record)
    assert response.status_code == 422
    items = detail(response)
    assert [i["loc"] for i in items] == [["body", "income"]]
    assert items[0]["type"] == "missing"


def test_missing_field_in_list_names_the_row(http, example):
    bad = {k: v for k, v in example.items() if k != "plan"}
    response = http.post("/predict", json=[example, bad, example])
    assert response.status_code == 422
    assert [i["loc"] for i in detail(response)] == [["body", 1, "plan"]]


def test_null_is_allowed_for_every_field(http):
    response = http.post("/predict_proba", json=dict.fromkeys(FEATURES))
    assert response.status_code == 200, response.text
    assert sum(response.json().values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("age", "forty", "number_parsing"),
        ("age", True, "number_type"),
        ("income", {"amount": 5}, "number_type"),
        ("purchases", [1, 2], "number_type"),
        ("income", 1e39, "out_of_range"),
        ("plan", {"name": "basic"}, "category_type"),
        ("region", ["north"], "category_type"),
        ("signup_date", 20221120, "date_type"),
        ("signup_date", "not a date", "date_parsing"),
    ],
)
def test_wrong_type_names_field(http, example, field, value, kind):
    response = http.post("/predict", json=[example, {**example, field: value}])
    assert response.status_code == 422, response.text
    items = detail(response)
    assert [(i["loc"], i["type"]) for i in items] == [(["body", 1, field], kind)]


def test_unseen_category_rejected(http, example):
    response = http.post("/predict", json={**example, "plan": "platinum"})
    assert response.status_code == 422
    (item,) = detail(response)
    assert item["loc"] == ["body", "plan"]
    assert item["type"] == "unseen_category"
    assert "platinum" in item["msg"] and "basic" in item["msg"]


def test_several_errors_all_reported(http, example):
    rows = [{**example, "age": "x"}, example, {**example, "plan": "gold", "income": False}]
    items = detail(http.post("/predict", json=rows))
    assert sorted(tuple(i["loc"]) for i in items) == [
        ("body", 0, "age"),
        ("body", 2, "income"),
        ("body", 2, "plan"),
    ]


@pytest.mark.parametrize("body", [b"[]", b"42", b'"text"', b"[1, 2]", b"null", b"true"])
def test_bad_shapes_are_422(http, body):
    response = http.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert detail(response)


# --- bad bodies and content types: 400/413/415, never 500 -----------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"age": NaN}', "application/json", 400),
        (b"[" * 50_000, "application/json", 400),
        (b"\xff\xfe\xfa\x00", "application/json", 400),
        (b"age=1", "application/x-www-form-urlencoded", 415),
        (b"<a/>", "application/xml", 415),
        (b"", "text/csv", 400),
        (b"age,income\n", "text/csv", 400),
        (b"a,b\n1,2,3,4\n", "text/csv", 400),
    ],
)
def test_bad_content(http, content, content_type, status):
    response = http.post("/predict", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert isinstance(response.json()["detail"], str)


def test_csv_missing_column_is_422(http, churn_rows):
    body = churn_rows.drop(columns=["region"]).head(3).to_csv(index=False)
    response = http.post("/predict", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert [i["loc"] for i in detail(response)] == [["body", "region"]]


def test_csv_bad_value_names_row_and_column(http, churn_rows):
    rows = churn_rows.head(4).copy()
    rows["plan"] = rows["plan"].astype(object)
    rows.loc[2, "plan"] = "gold"
    response = http.post("/predict", content=rows.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert [i["loc"] for i in detail(response)] == [["body", 2, "plan"]]


def test_too_many_rows_is_413(http, example):
    response = http.post("/predict", json=[example] * (MAX_ROWS + 1))
    assert response.status_code == 413
    assert f"{MAX_ROWS}" in response.json()["detail"]
    assert http.post("/predict", json=[example] * MAX_ROWS).status_code == 200


def test_body_over_limit_is_413(http, example):
    limit = int(MAX_BODY_MB * 1_000_000)
    big = json.dumps([{**example, "note": "x" * (limit // 2)}] * 3).encode()
    response = http.post("/predict", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_chunked_body_without_length_is_counted(churn_server, example):
    """A raw chunked request (no Content-Length at all) past the limit is refused while reading."""
    limit = int(MAX_BODY_MB * 1_000_000)
    url = urlsplit(churn_server.url)
    piece = json.dumps({**example, "note": "y" * 4000}).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        data = b"[" + piece
        try:
            while sent <= limit + 2 * len(piece):
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                sent += len(data)
                data = b"," + piece
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before everything is sent
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_declared_length_over_limit_refused_before_reading(churn_server):
    url = urlsplit(churn_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n[{"
        )
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


# --- schema, metadata, health, OpenAPI ------------------------------------------------------------


def test_schema_is_the_bundle_schema(http, trained_bundle):
    response = http.get("/schema")
    assert response.status_code == 200
    assert response.json() == json.loads((trained_bundle / "schema.json").read_text())


def test_health(http):
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_metadata(http, trained_bundle):
    meta = http.get("/metadata").json()
    metrics = json.loads((trained_bundle / "metrics.json").read_text())
    manifest = json.loads((trained_bundle / "manifest.json").read_text())
    assert meta["task"] == "binary"
    assert meta["target"] == "will_churn"
    assert meta["model"] == metrics["chosen_model"]
    assert meta["data_sha256"] == metrics["data_sha256"]
    assert meta["created"] == manifest["created"]
    assert meta["versions"]["scikit-learn"] == manifest["versions"]["scikit-learn"]
    assert meta["runtime"] == ("onnx" if (trained_bundle / "model.onnx").is_file() else "sklearn")
    assert set(meta["test_metrics"]) == set(metrics["test"]["metrics"])
    for name, entry in meta["test_metrics"].items():
        assert entry["value"] == pytest.approx(metrics["test"]["metrics"][name])
        low, high = entry["interval"]
        assert low <= entry["value"] <= high


def test_openapi_request_model_from_schema(http, trained_bundle):
    doc = http.get("/openapi.json").json()
    schema = json.loads((trained_bundle / "schema.json").read_text())
    record = doc["components"]["schemas"]["Record"]
    assert list(record["properties"]) == [c["name"] for c in schema["columns"]]
    assert record["required"] == [c["name"] for c in schema["columns"]]
    assert record["examples"] == [schema["example"]]
    plan = record["properties"]["plan"]["anyOf"][0]
    assert sorted(plan["enum"]) == sorted(
        next(c for c in schema["columns"] if c["name"] == "plan")["categories"]
    )
    assert {"type": "null"} in record["properties"]["age"]["anyOf"]
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    shapes = body["application/json"]["schema"]["oneOf"]
    assert {"$ref": "#/components/schemas/Record"} in shapes
    assert body["application/json"]["examples"]["one record"]["value"] == schema["example"]
    answers = doc["paths"]["/predict_proba"]["post"]["responses"]
    assert {"200", "401", "413", "415", "422"} <= set(answers)
    assert set(doc["components"]["schemas"]["Probabilities"]["properties"]) == {"no", "yes"}
    assert http.get("/docs").status_code == 200


def test_unknown_path_and_method(http):
    assert http.get("/nope").status_code == 404
    assert http.get("/predict").status_code == 405


def _access_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def test_access_log_one_json_line_per_request(http, churn_server, example):
    marker = "/health?access-log-check"
    http.get(marker)
    http.post("/predict", json=[example, example])

    def logged_predicts() -> list[dict]:
        lines = _access_lines(churn_server)
        return [e for e in lines if e["path"] == "/predict" and e["rows"] == 2 and e["status"] == 200]

    deadline = time.monotonic() + 5
    while not logged_predicts() and time.monotonic() < deadline:  # written once the answer is sent
        time.sleep(0.05)
    lines = _access_lines(churn_server)
    assert lines, churn_server.log()
    assert all({"time", "method", "path", "status", "duration_ms", "rows", "client"} <= set(e) for e in lines)
    predicts = logged_predicts()
    assert predicts and predicts[-1]["method"] == "POST" and predicts[-1]["duration_ms"] > 0
    assert "127.0.0.1" in predicts[-1]["client"]
    assert not any(
        '"GET /health' in line for line in churn_server.log().splitlines()
    )  # no uvicorn access log
    assert "Traceback" not in churn_server.log()
