"""Fuzzing the service in process: no client input may produce a server error.

Schemathesis generates requests from the app's own OpenAPI document (positive and negative cases, JSON
and CSV bodies); a Hypothesis property sends hostile records built from schema.json and checks the
exact status (200 for valid rows, 422 otherwise).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from modelworks.serve.app import create_app

with warnings.catch_warnings():  # starlette suggests httpx2 for its test client; httpx is what we have
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Generated requests per (operation, generation mode, media type) of the prediction endpoints.
PER_STRATEGY = 130
QUIET = settings(
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def app(trained_bundle):
    return create_app(trained_bundle, max_rows=50, max_body_bytes=200_000)


def _fuzz(strategy, key: str, examples: int, sent: Counter[str], statuses: Counter[int]) -> None:
    @settings(QUIET, max_examples=examples)
    @given(case=strategy)
    def run(case) -> None:
        response = case.call()
        sent[key] += 1
        statuses[response.status_code] += 1
        case.validate_response(response, checks=[not_a_server_error])

    run()


def test_schemathesis_finds_no_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        post = operation.method.upper() == "POST"
        plans = (
            [(mode, media) for mode in GenerationMode for media in ("application/json", "text/csv")]
            if post
            else [(GenerationMode.POSITIVE, None)]
        )
        for mode, media in plans:
            key = f"{operation.method.upper()} {operation.path} {mode.value} {media}"
            strategy = operation.as_strategy(generation_mode=mode, media_type=media)
            _fuzz(strategy, key, PER_STRATEGY if post else 10, sent, statuses)
    total = sum(sent.values())
    print(f"schemathesis: {total} requests, statuses {dict(statuses)}, per strategy {dict(sent)}")
    assert total >= 1000, sent
    assert not [s for s in statuses if s >= 500], statuses
    # the generators reached both sides of the validation
    assert statuses[200] > 50 and statuses[422] > 50, statuses


def _json_values(column: dict) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """Valid values of a column, and values that mix valid and hostile ones."""
    hostile = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers().map(lambda v: v * 10**400),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(["NaN", "inf", "-Infinity", "1e400", "", " ", "null", "\u0000", "\ud7ff" * 3, "١٢٣"]),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    )
    if column["kind"] == "numeric":
        valid = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6), st.integers(-(10**6), 10**6))
    elif column.get("categories"):
        valid = st.one_of(st.none(), st.sampled_from(column["categories"]))
    elif column["kind"] == "datetime":
        valid = st.one_of(st.none(), st.dates().map(str))
    else:
        valid = st.one_of(st.none(), st.text(max_size=30))
    return valid, st.one_of(valid, hostile)


def _valid(column: dict, value: object) -> bool:
    """Whether ``value`` is certainly acceptable (some values outside this are acceptable too)."""
    if value is None:
        return True
    if column["kind"] == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return (
            abs(value) <= 3.4e38 if isinstance(value, int) else math.isfinite(value) and abs(value) <= 3.4e38
        )
    if column.get("categories"):
        return isinstance(value, str) and value in column["categories"]
    if column["kind"] == "datetime":
        return isinstance(value, str) and ISO_DATE.fullmatch(value) is not None
    return isinstance(value, str)


def test_hostile_records_answer_200_or_422(app, trained_bundle):
    schema = json.loads((trained_bundle / "schema.json").read_text())
    columns = schema["columns"]
    strategies = {c["name"]: _json_values(c) for c in columns}
    valid = st.fixed_dictionaries({name: pair[0] for name, pair in strategies.items()})
    mixed = st.fixed_dictionaries({name: pair[1] for name, pair in strategies.items()})
    client = TestClient(app, raise_server_exceptions=False)
    seen: Counter[int] = Counter()

    @settings(QUIET, max_examples=300)
    @given(
        rows=st.lists(valid, min_size=1, max_size=3) | st.lists(mixed, min_size=1, max_size=3),
        proba=st.booleans(),
    )
    def run(rows: list[dict], proba: bool) -> None:
        body = json.dumps(rows, allow_nan=False).encode()
        response = client.post(
            "/predict_proba" if proba else "/predict",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        seen[response.status_code] += 1
        assert response.status_code in (200, 422), response.text
        certainly_valid = all(_valid(c, row[c["name"]]) for row in rows for c in columns)
        if certainly_valid:
            assert response.status_code == 200, response.text
        if response.status_code == 200:
            answer = response.json()
            assert len(answer) == len(rows)

    run()
    assert seen[200] > 50 and seen[422] > 50, seen
