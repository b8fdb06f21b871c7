"""The ONNX fast path: checked JSON values to the graph without pandas, answering as the frame path.

The frame path is what the service did before the fast path and still does for CSV bodies and on
scikit-learn: :func:`modelworks.serve.validate.frame_from_values`, then
:func:`modelworks.predict.predict_frame`. Each test compares the two on the same checked values, row by
row (a single record takes the frame path's one-row code) and as one batch, on a titanic-like LightGBM
bundle (numbers with holes, numbers written as text, levels, booleans, a date with a time of day,
unseen levels allowed), on the churn bundle (a date-only column) and on a regression bundle.
"""

from __future__ import annotations

import math

import httpx
import numpy as np
import pandas as pd
import pytest

from modelworks.bundle import load_bundle
from modelworks.data.schema import json_safe
from modelworks.predict import predict_frame
from modelworks.serve.app import create_app
from modelworks.serve.encode import encode_rows
from modelworks.serve.fastpath import OnnxRecords, RecordFeeds
from modelworks.serve.shortcut import _prediction_route
from modelworks.serve.validate import check_records, compile_columns, frame_from_values


def make_titanic(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """Passengers: class, sex, age (holes), family, fare, port (holes), deck (mostly missing),
    booleans, a boarding time written as text and a fare written as money text."""
    rng = np.random.default_rng(seed)
    pclass = rng.choice([1, 2, 3], size=n, p=[0.25, 0.2, 0.55])
    sex = rng.choice(["male", "female"], size=n, p=[0.65, 0.35])
    age = rng.normal(30, 14, size=n).clip(0.5, 80).round(1)
    age[rng.random(n) < 0.15] = np.nan
    sibsp = rng.poisson(0.5, size=n)
    parch = rng.poisson(0.4, size=n)
    fare = np.round(rng.gamma(2.0, 15.0, size=n) * (4 - pclass), 2)
    embarked = rng.choice(["S", "C", "Q"], size=n, p=[0.7, 0.2, 0.1]).astype(object)
    embarked[rng.random(n) < 0.02] = None
    deck = rng.choice(list("ABCDEFG"), size=n).astype(object)
    deck[rng.random(n) < 0.75] = None
    # whole hours: the graph compares float32 elapsed days, too coarse for minutes (export refuses those)
    hours = rng.integers(0, 3 * 24, size=n)
    boarded = [
        (pd.Timestamp("1912-04-10 08:00") + pd.Timedelta(hours=int(h))).strftime("%Y-%m-%d %H:%M:%S")
        for h in hours
    ]
    paid = [f"${v:,.2f}" for v in fare * 37]
    adult_male = (sex == "male") & ~(age < 16)
    alone = (sibsp + parch) == 0
    logit = 1.2 * (sex == "female") + 0.9 * (pclass == 1) - 0.6 * (pclass == 3)
    logit -= 0.02 * np.nan_to_num(age, nan=30)
    survived = (rng.random(n) < 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))).astype(int)
    return pd.DataFrame(
        {
            "pclass": pclass,
            "sex": sex,
            "age": age,
            "sibsp": sibsp,
            "parch": parch,
            "fare": fare,
            "embarked": embarked,
            "deck": deck,
            "adult_male": adult_male,
            "alone": alone,
            "boarded": boarded,
            "paid": paid,
            "survived": survived,
        }
    )


#: Valid values the training rows never hold: holes, text numbers, unseen levels, other date forms.
ODD_VALUES = {
    "pclass": [None, "2", " 3 ", 2.0, "NA", -1, 3e38],
    "sex": [None, " female ", "unknown", "", "null", 1, True],
    "age": [None, "41.5", "1,000", "$12", "?", 0, -3.25],
    "fare": [None, "7,25", 1e-300, 512.3292],
    "embarked": [None, "X", "s", 3.0, "N/A"],
    "deck": [None, "Z", "A ", 7],
    "adult_male": [None, "True", "false", "yes", 0, 1.0],
    "alone": [None, False, "False", "maybe"],
    "boarded": [None, "1912-04-10", "1912-04-11T21:05", "1912-04-12 06:00:59", "NA"],
    "paid": [None, "$1,234.50", "99", 1234.5, "€3"],
}
#: Dates that parse but are not plain ISO: the column goes through the pipeline's own cleaner.
OTHER_DATES = ["April 10, 1912", "10 Apr 1912 13:45", "1912/04/12"]
#: A date with a time zone: fine alone; pandas refuses to parse it beside dates without one.
ZONED_DATE = "1912-04-10T09:30:00+02:00"


def odd_records(rows: list[dict], seed: int = 0) -> list[dict]:
    """Training rows with one or several fields replaced by an odd value, plus an all-null record."""
    rng = np.random.default_rng(seed)
    out = [{name: None for name in rows[0]}]
    for name, values in ODD_VALUES.items():
        for value in values:
            out.append({**rows[int(rng.integers(len(rows)))], name: value})
    for _ in range(40):  # several odd fields at once
        record = dict(rows[int(rng.integers(len(rows)))])
        for name in rng.choice(list(ODD_VALUES), size=3, replace=False):
            choices = ODD_VALUES[str(name)]
            record[str(name)] = choices[int(rng.integers(len(choices)))]
        out.append(record)
    return out


@pytest.fixture(scope="module")
def titanic_df() -> pd.DataFrame:
    return make_titanic()


@pytest.fixture(scope="module")
def titanic_bundle(titanic_df, tmp_path_factory):
    from modelworks import Experiment

    exp = Experiment(
        titanic_df,
        target="survived",
        models=["lightgbm"],
        cv=2,
        seed=0,
        n_jobs=1,
        ensemble=False,
        unseen_categories="allow",
    )
    exp.compare()
    exp.evaluate()
    path = exp.save(tmp_path_factory.mktemp("titanic") / "titanic")
    if not (path / "model.onnx").is_file():
        pytest.skip("this pipeline was saved without model.onnx")
    return path


@pytest.fixture(scope="module")
def titanic_records(titanic_df) -> list[dict]:
    rows = [json_safe(r) for r in titanic_df.drop(columns=["survived"]).to_dict(orient="records")]
    return rows[:200] + odd_records(rows)


def frame_answer(bundle, columns, values: dict[str, list], proba: bool) -> list[dict]:
    """The frame path's answer rows for checked values."""
    result, _ = predict_frame(bundle, frame_from_values(columns, values), proba=proba)
    return encode_rows(result)


def frame_feeds(bundle, columns, values: dict[str, list]) -> dict[str, np.ndarray]:
    """The graph inputs the frame path makes: the pipeline's cleaner, then OnnxPredictor.feeds."""
    cleaner = bundle.model.steps[0][1]
    return bundle.onnx.feeds(cleaner.transform(frame_from_values(columns, values)))


def assert_same_feeds(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)
    for name, want in expected.items():
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        if want.dtype == object:
            assert got[name].tolist() == want.tolist(), name
        else:
            np.testing.assert_array_equal(got[name], want, err_msg=name)  # NaN equals NaN here


def check_parity(bundle_path, records: list[dict], together: bool = True) -> OnnxRecords:
    """Fast path == frame path: inputs and answers, each record alone and (``together``) all at once."""
    bundle = load_bundle(bundle_path, runtime="onnx")
    columns = compile_columns(bundle.schema)
    fast = OnnxRecords.for_bundle(bundle, [c.name for c in columns])
    assert fast is not None
    batches = [[r] for r in records] + ([records] if together else [])
    for batch in batches:
        values = check_records(batch, columns)
        assert_same_feeds(fast.feeds.feeds(values), frame_feeds(bundle, columns, values))
        for proba in [True, False] if bundle.task != "regression" else [False]:
            assert fast.rows(values, proba) == frame_answer(bundle, columns, values, proba), (batch, proba)
    return fast


def test_titanic_like_parity_without_pandas(titanic_bundle, titanic_records, monkeypatch):
    schema_kinds = {c["name"]: c["kind"] for c in load_bundle(titanic_bundle).schema["columns"]}
    # the table exercises every kind the fast path handles itself
    assert schema_kinds["boarded"] == "datetime" and schema_kinds["paid"] == "numeric"
    assert schema_kinds["adult_male"] == "boolean" and schema_kinds["deck"] == "categorical"

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path fell back to the cleaner")

    monkeypatch.setattr(RecordFeeds, "_slow", refuse)  # ISO dates only: no column needs pandas
    check_parity(titanic_bundle, titanic_records)


def test_other_date_forms_take_the_cleaner_and_agree(titanic_bundle, titanic_records, monkeypatch):
    records = [{**titanic_records[i], "boarded": text} for i, text in enumerate(OTHER_DATES)]
    records += [{**titanic_records[9], "boarded": text} for text in ("1912-04-10", None)]
    slow_columns: list[str] = []
    original = RecordFeeds._slow

    def spy(self, column, values, cleaner):
        slow_columns.append(column.name)
        return original(self, column, values, cleaner)

    monkeypatch.setattr(RecordFeeds, "_slow", spy)
    check_parity(titanic_bundle, records)
    assert set(slow_columns) == {"boarded"}  # only the column with a non-ISO date, never the others
    check_parity(titanic_bundle, [{**titanic_records[0], "boarded": ZONED_DATE}])


def test_a_zoned_and_a_plain_date_together_are_answered_by_both_runtimes(titanic_bundle, titanic_records):
    # dates with different UTC offsets in one request are compared in UTC (they used to be refused)
    records = [{**titanic_records[0], "boarded": ZONED_DATE}, titanic_records[1]]
    for runtime in ("auto", "sklearn"):
        service = create_app(titanic_bundle, runtime=runtime).state.service
        assert service.predict_values(check_records(records, service.columns), proba=True) is not None


def test_churn_and_regression_parity(trained_bundle, churn_rows, allow_bundle, regression_df):
    churn = [json_safe(r) for r in churn_rows.drop(columns=["will_churn"]).to_dict(orient="records")]
    if (trained_bundle / "model.onnx").is_file():
        check_parity(trained_bundle, churn[:120])
    if not (allow_bundle / "model.onnx").is_file():
        pytest.skip("the regression bundle was saved without model.onnx")
    rows = [json_safe(r) for r in regression_df.drop(columns=["price"]).head(80).to_dict(orient="records")]
    rows += [
        {"x1": None, "x2": "1,5", "colour": "purple"},
        {"x1": "-0.5", "x2": None, "colour": None},
        {"x1": 1e30, "x2": 0, "colour": " red "},
    ]
    check_parity(allow_bundle, rows)


def test_infinite_numbers_are_left_to_the_frame_path(titanic_bundle, titanic_records):
    bundle = load_bundle(titanic_bundle, runtime="onnx")
    columns = compile_columns(bundle.schema)
    fast = OnnxRecords.for_bundle(bundle, [c.name for c in columns])
    values = check_records(titanic_records[:2], columns)
    values["fare"] = [math.inf, 1.0]  # the checks refuse such numbers; the fast path must not predict them
    assert fast.rows(values, proba=True) is None


def test_service_uses_the_fast_path_on_onnx_only(titanic_bundle, titanic_records, monkeypatch):
    onnx = create_app(titanic_bundle, runtime="auto").state.service
    assert onnx.runtime == "onnx" and onnx.fast is not None
    sklearn = create_app(titanic_bundle, runtime="sklearn").state.service
    assert sklearn.runtime == "sklearn" and sklearn.fast is None

    values = check_records(titanic_records[:25], onnx.columns)
    expected = onnx.predict_values(values, proba=True)
    assert expected == onnx.fast.rows(values, proba=True)
    # scikit-learn predicts the same probabilities (to the ONNX parity tolerance)
    reference = sklearn.predict_values(values, proba=True)
    np.testing.assert_allclose(
        pd.DataFrame(expected).to_numpy(), pd.DataFrame(reference).to_numpy(), rtol=0, atol=1e-5
    )

    def broken(values, proba):
        raise RuntimeError("simulated failure of the fast path")

    monkeypatch.setattr(onnx.fast, "rows", broken)
    assert onnx.predict_values(values, proba=True) == expected  # the frame path answers instead


def test_fast_path_needs_every_cleaned_column(titanic_bundle):
    bundle = load_bundle(titanic_bundle, runtime="onnx")
    names = [c["name"] for c in bundle.schema["columns"]]
    assert OnnxRecords.for_bundle(bundle, names) is not None
    assert OnnxRecords.for_bundle(bundle, names[1:]) is None
    assert OnnxRecords.for_bundle(load_bundle(titanic_bundle, runtime="sklearn"), names) is None


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"type": "http", "method": "POST", "path": "/predict"}, False),
        ({"type": "http", "method": "POST", "path": "/predict_proba"}, True),
        ({"type": "http", "method": "POST", "path": "/api/predict_proba", "root_path": "/api"}, True),
        ({"type": "http", "method": "GET", "path": "/predict"}, None),
        ({"type": "http", "method": "POST", "path": "/predict/"}, None),
        ({"type": "http", "method": "POST", "path": "/schema"}, None),
        ({"type": "websocket", "path": "/predict"}, None),
    ],
)
def test_shortcut_takes_only_the_prediction_routes(scope, expected):
    assert _prediction_route(scope) is expected


def test_real_server_answers_as_the_frame_path(start_server, titanic_bundle, titanic_records):
    """One record per request over one keep-alive connection to ``modelworks serve``, then a list."""
    server = start_server(titanic_bundle)
    bundle = load_bundle(titanic_bundle, runtime="onnx")
    columns = compile_columns(bundle.schema)
    records = titanic_records[:30] + titanic_records[-30:]
    records += [{**titanic_records[0], "boarded": text} for text in OTHER_DATES]
    records.append({**titanic_records[0], "boarded": ZONED_DATE})
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/metadata").json()["runtime"] == "onnx"
        for record in records:
            values = check_records([record], columns, single=True)
            for path, proba in (("/predict_proba", True), ("/predict", False)):
                response = http.post(path, json=record)
                assert response.status_code == 200, response.text
                assert response.json() == frame_answer(bundle, columns, values, proba)[0]
        values = check_records(records[:-1], columns)
        response = http.post("/predict_proba", json=records[:-1])
        assert response.json() == frame_answer(bundle, columns, values, proba=True)
        # the shortcut answers refusals as FastAPI's handler did
        bad = http.post("/predict", json={**records[0], "age": "old"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "age"]
        assert http.get("/predict").status_code == 405
    assert "Traceback" not in server.log()
