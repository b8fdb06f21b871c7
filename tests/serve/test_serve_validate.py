"""Request checks against a schema, in process: kinds, category normalisation, the unseen-category policy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from modelworks.data.schema import MAX_CATEGORIES
from modelworks.serve.problems import MAX_ERRORS, Problem
from modelworks.serve.validate import compile_columns, frame_from_records, frame_from_table


def schema(policy: str | None = "reject", **extra_columns: dict) -> dict:
    columns = [
        {"name": "x", "kind": "numeric"},
        {"name": "grade", "kind": "categorical", "categories": ["1", "2", "3"]},
        {"name": "flag", "kind": "boolean", "categories": ["True", "False"]},
        {"name": "when", "kind": "datetime"},
        {"name": "note", "kind": "text"},
    ]
    columns += [{"name": name, **spec} for name, spec in extra_columns.items()]
    out = {"columns": columns, "target": {"name": "y", "task": "binary", "labels": [0, 1]}}
    if policy is not None:
        out["policy"] = {"unseen_categories": policy}
    return out


ROW = {"x": 1.5, "grade": "2", "flag": True, "when": "2024-01-31", "note": "hello there"}


def problems(rows: list, sch: dict, single: bool = False) -> list[dict]:
    with pytest.raises(Problem) as info:
        frame_from_records(rows, compile_columns(sch), single=single)
    assert info.value.status == 422
    assert isinstance(info.value.detail, list)
    return info.value.detail


def test_valid_rows_make_a_typed_frame():
    frame = frame_from_records(
        [ROW, {**ROW, "x": None, "grade": None, "note": "NA"}], compile_columns(schema())
    )
    assert list(frame.columns) == ["x", "grade", "flag", "when", "note"]
    assert frame["x"].dtype == np.float64
    assert math.isnan(frame["x"][1])
    assert frame["grade"].tolist()[0] == "2" and pd.isna(frame["grade"][1])
    assert frame["flag"].tolist() == ["True", "True"]
    assert pd.isna(frame["note"][1])


@pytest.mark.parametrize("value", [1, 1.0, "1", " 1 "])
def test_category_levels_normalised(value):
    frame = frame_from_records([{**ROW, "grade": value}], compile_columns(schema()))
    assert frame["grade"].tolist() == ["1"]


@pytest.mark.parametrize("value", [1.5, "1.0", "4", "one"])
def test_unseen_levels_rejected(value):
    (item,) = problems([{**ROW, "grade": value}], schema())
    assert item["loc"] == ["body", 0, "grade"]
    assert item["type"] == "unseen_category"


def test_boolean_levels_accept_json_booleans_and_text():
    cols = compile_columns(schema())
    assert frame_from_records([{**ROW, "flag": "False"}], cols)["flag"].tolist() == ["False"]
    (item,) = problems([{**ROW, "flag": "maybe"}], schema())
    assert item["loc"] == ["body", 0, "flag"]


def test_policy_absent_means_reject():
    assert problems([{**ROW, "grade": "9"}], schema(policy=None))[0]["type"] == "unseen_category"


def test_policy_allow_lets_unseen_levels_through():
    frame = frame_from_records([{**ROW, "grade": "9", "flag": "maybe"}], compile_columns(schema("allow")))
    assert frame["grade"].tolist() == ["9"]
    assert frame["flag"].tolist() == ["maybe"]


def test_unlisted_levels_always_allowed():
    many = [str(i) for i in range(MAX_CATEGORIES)]
    sch = schema(
        city={"kind": "categorical", "categories": ["a", "b"], "high_cardinality": True},
        code={"kind": "categorical", "categories": many},
    )
    frame = frame_from_records([{**ROW, "city": "zzz", "code": "new"}], compile_columns(sch))
    assert frame[["city", "code"]].iloc[0].tolist() == ["zzz", "new"]
    # still a type check in those columns
    assert problems([{**ROW, "city": {"a": 1}, "code": "x"}], sch)[0]["loc"] == ["body", 0, "city"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        ("1,234.5", 1234.5),
        ("$12", 12.0),
        (" 7 ", 7.0),
        ("", None),
        ("null", None),
        ("NaN", None),
        (-1e30, -1e30),
    ],
)
def test_numbers_parse_like_the_cleaning_step(value, expected):
    got = frame_from_records([{**ROW, "x": value}], compile_columns(schema()))["x"][0]
    assert (math.isnan(got) and expected is None) or got == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "number_type"),
        ("abc", "number_parsing"),
        ("1e5e5", "number_parsing"),
        ("1.2.3", "number_parsing"),
        ("inf", "number_parsing"),
        ({"v": 1}, "number_type"),
        ([1], "number_type"),
        (10**400, "out_of_range"),
        (float("inf"), "out_of_range"),
        (1e39, "out_of_range"),
    ],
)
def test_bad_numbers(value, kind):
    (item,) = problems([{**ROW, "x": value}], schema(), single=True)
    assert item["loc"] == ["body", "x"]
    assert item["type"] == kind


def test_dates_and_text():
    cols = compile_columns(schema())
    assert frame_from_records([{**ROW, "when": "March 3, 2021"}], cols)["when"].tolist() == ["March 3, 2021"]
    assert problems([{**ROW, "when": "31/31/2024"}], schema())[0]["type"] == "date_parsing"
    assert problems([{**ROW, "when": 20240131}], schema())[0]["type"] == "date_type"
    assert problems([{**ROW, "note": {"t": 1}}], schema())[0]["type"] == "string_type"
    assert frame_from_records([{**ROW, "note": 12}], cols)["note"].tolist() == [12]


def test_missing_fields_and_non_objects():
    items = problems([{"x": 1}, "row", ROW], schema())
    locs = [i["loc"] for i in items]
    assert ["body", 1] in locs
    assert ["body", 0, "grade"] in locs and ["body", 0, "note"] in locs
    assert not any(loc[:2] == ["body", 2] for loc in locs)


def test_errors_are_capped():
    items = problems([{**ROW, "x": "bad"}] * (MAX_ERRORS + 30), schema())
    assert len(items) == MAX_ERRORS + 1
    assert items[-1]["type"] == "too_many_errors"
    assert "30 more" in items[-1]["msg"]


def test_table_checks_name_row_and_column():
    cols = compile_columns(schema())
    table = pd.DataFrame([ROW, {**ROW, "grade": 7}, ROW])
    with pytest.raises(Problem) as info:
        frame_from_table(table, cols)
    assert [i["loc"] for i in info.value.detail] == [["body", 1, "grade"]]
    with pytest.raises(Problem) as info:
        frame_from_table(table.drop(columns=["note"]), cols)
    assert [i["loc"] for i in info.value.detail] == [["body", "note"]]
    frame = frame_from_table(pd.DataFrame([ROW, {**ROW, "x": np.nan}]), cols)
    assert frame["x"].isna().tolist() == [False, True]


def test_missing_fields_and_bad_values_reported_together():
    items = problems([{"x": 1}, {**ROW, "x": "bad"}], schema())
    assert ["body", 1, "x"] in [i["loc"] for i in items]
    assert [i["loc"][1] for i in items] == sorted(i["loc"][1] for i in items)
    single = problems([{"x": "bad"}], schema(), single=True)
    assert ["body", "grade"] in [i["loc"] for i in single]
