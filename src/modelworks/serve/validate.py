"""Check request rows against a bundle's schema and build the DataFrame the model predicts.

Every field the model needs must be present (``null`` is allowed and means missing); extra fields are
ignored. Values are checked by column kind:

- numeric: a JSON number, a numeric string (``"1,234.5"``, ``"$12"``: parsed as the model's cleaning
  step parses them) or null; booleans, objects, lists, other strings and magnitudes beyond float32
  are refused;
- categorical and boolean: a string, number or boolean, compared as
  :func:`modelworks.data.kinds.as_category_strings` writes it (``1``, ``1.0`` and ``"1"`` are one
  level); under the ``reject`` policy a level never seen in training is refused, except in columns
  whose levels were too many to list;
- datetime: a date string that parses;
- text: a string (numbers are taken as text).

Strings are stripped and the usual missing markers (``""``, ``"NA"``, ``"null"`` ...) mean missing,
as :func:`modelworks.data.load.load` does for files, so the service and ``modelworks predict`` see the
same values.

:func:`check_records` returns the checked values, one list per column; :func:`frame_from_values` makes
the DataFrame the model predicts from them (:func:`frame_from_records` does both), and the ONNX fast
path (:mod:`modelworks.serve.fastpath`) feeds the graph from the lists themselves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.kinds import parse_dates
from modelworks.data.load import MISSING_MARKERS
from modelworks.data.schema import MAX_CATEGORIES
from modelworks.serve.problems import error_item, invalid

#: Largest magnitude accepted for a number: tree models compute in float32, where more is infinite.
FLOAT32_MAX = float(np.finfo(np.float32).max)
_MISSING = frozenset(MISSING_MARKERS)
_NUMBER_CLEAN = re.compile(r"[\s$€£,%]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAN = float("nan")


class _Invalid(Exception):
    def __init__(self, msg: str, kind: str):
        super().__init__(msg)
        self.msg = msg
        self.kind = kind


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _check_range(number: float) -> float:
    if math.isnan(number):
        return number
    if not -FLOAT32_MAX <= number <= FLOAT32_MAX:
        raise _Invalid(
            f"number out of range: the magnitude must be at most {FLOAT32_MAX:.4g}", "out_of_range"
        )
    return number


def to_number(value: object) -> float:
    """A numeric field's value as a float (NaN for missing); raise ``_Invalid`` otherwise."""
    if value is None:
        return _NAN
    if isinstance(value, bool | np.bool_):
        raise _Invalid("expected a number or null, got a boolean", "number_type")
    if isinstance(value, int | np.integer):
        try:
            return _check_range(float(value))
        except OverflowError:
            raise _Invalid("number out of range", "out_of_range") from None
    if isinstance(value, float | np.floating):
        return _check_range(float(value))
    if isinstance(value, str):
        text = value.strip()
        if text in _MISSING:
            return _NAN
        cleaned = _NUMBER_CLEAN.sub("", text)
        if _NUMBER.fullmatch(cleaned):
            return _check_range(float(cleaned))
        raise _Invalid(f"expected a number or null, got {_describe(value)}", "number_parsing")
    raise _Invalid(f"expected a number or null, got {_describe(value)}", "number_type")


def category_string(value: object) -> str | None:
    """A categorical value as the model's cleaning step writes it (``None`` for missing).

    Mirrors :func:`modelworks.data.kinds.as_category_strings`, plus the missing markers of
    :func:`modelworks.data.load.load` for strings.
    """
    if _is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if text in _MISSING else text
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return str(number)
    raise _Invalid(f"expected a string, number or null, got {_describe(value)}", "category_type")


def _text(value: object) -> object:
    if _is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if text in _MISSING else text
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        return value  # the cleaning step writes it as text, as it does for files
    raise _Invalid(f"expected a string or null, got {_describe(value)}", "string_type")


def _date_text(value: object) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if text in _MISSING else text
    raise _Invalid(
        f"expected a date string (such as 2024-01-31) or null, got {_describe(value)}", "date_type"
    )


@dataclass(frozen=True)
class Column:
    """How one schema column is checked.

    Parameters
    ----------
    name : str
        Field name.
    kind : str
        Column kind from the schema.
    allowed : frozenset of str or None
        Levels accepted (as category strings); ``None`` accepts any level.
    """

    name: str
    kind: str
    allowed: frozenset[str] | None = None


def compile_columns(schema: dict) -> list[Column]:
    """The :class:`Column` checks of a bundle schema, honouring its unseen-category policy.

    Parameters
    ----------
    schema : dict
        Contents of ``schema.json``. A missing ``policy`` means ``"reject"``.
    """
    policy = (schema.get("policy") or {}).get("unseen_categories", "reject")
    columns = []
    for col in schema["columns"]:
        allowed = None
        categories = col.get("categories")
        listed = (
            categories is not None and len(categories) < MAX_CATEGORIES and not col.get("high_cardinality")
        )
        if policy == "reject" and col["kind"] in ("categorical", "boolean") and listed:
            allowed = frozenset(str(c) for c in categories)
        columns.append(Column(str(col["name"]), str(col["kind"]), allowed))
    return columns


def _check_column(column: Column, values: Sequence[Any], rows: Sequence[int]) -> tuple[list, list[dict]]:
    """Convert one column's values; return them and the validation items of the bad ones."""
    errors: list[dict] = []
    out: list[Any] = []
    convert: Callable[[object], Any]
    if column.kind == "numeric":
        convert = to_number
    elif column.kind in ("categorical", "boolean"):
        convert = category_string
    elif column.kind == "datetime":
        convert = _date_text
    else:
        convert = _text
    allowed = column.allowed
    for row, value in zip(rows, values, strict=True):
        try:
            converted = convert(value)
        except _Invalid as exc:
            errors.append(error_item(_loc(row, column.name), exc.msg, exc.kind))
            converted = None
        else:
            if allowed is not None and converted is not None and converted not in allowed:
                shown = ", ".join(sorted(allowed)[:10]) + (" ..." if len(allowed) > 10 else "")
                errors.append(
                    error_item(
                        _loc(row, column.name),
                        f"category {converted!r} was not seen in training; use one of: {shown}",
                        "unseen_category",
                    )
                )
        out.append(converted)
    if column.kind == "datetime":  # values refused above are None here, so not reported twice
        errors += _check_dates(column.name, out, rows)
    return out, errors


def _check_dates(name: str, values: list, rows: Sequence[int]) -> list[dict]:
    """Validation items for date strings that do not parse (ISO dates take a fast path)."""
    doubtful = []
    for i, text in enumerate(values):
        if text is None:
            continue
        try:
            datetime.fromisoformat(text)
        except ValueError:
            doubtful.append(i)
    if not doubtful:
        return []
    parsed = parse_dates(pd.Series([values[i] for i in doubtful], dtype=object))
    return [
        error_item(
            _loc(rows[i], name),
            f"expected a date (such as 2024-01-31), got {_describe(values[i])}",
            "date_parsing",
        )
        for i, ok in zip(doubtful, parsed.notna().tolist(), strict=True)
        if not ok
    ]


def _loc(row: int, name: str) -> list[str | int]:
    return ["body", name] if row < 0 else ["body", row, name]


def frame_from_values(columns: list[Column], values: dict[str, list]) -> pd.DataFrame:
    """The DataFrame the model predicts from checked values (see :func:`check_records`).

    Parameters
    ----------
    columns : list of Column
        From :func:`compile_columns`.
    values : dict of str to list
        One list of checked values per column.

    Returns
    -------
    DataFrame
        One column per schema column: float64 for numeric ones, pandas' own types for the others.
    """
    data: dict[str, Any] = {}
    for column in columns:
        column_values = values[column.name]
        data[column.name] = (
            np.asarray(column_values, dtype="float64") if column.kind == "numeric" else column_values
        )
    return pd.DataFrame(data, columns=[c.name for c in columns])


def frame_from_records(records: list, columns: list[Column], single: bool = False) -> pd.DataFrame:
    """Check JSON records and return them as a DataFrame with one column per schema column.

    Parameters
    ----------
    records : list
        Decoded JSON records (each should be an object).
    columns : list of Column
        From :func:`compile_columns`.
    single : bool
        The body was one object: validation locations leave out the row index.

    Raises
    ------
    Problem
        422 with one item per missing field, bad value or non-object record.
    """
    return frame_from_values(columns, check_records(records, columns, single))


def check_records(records: list, columns: list[Column], single: bool = False) -> dict[str, list]:
    """Check JSON records; return the checked values, one list per schema column.

    Numbers become floats (NaN for missing); categorical and boolean values become their level
    strings (``None`` for missing); dates and text become stripped strings (text keeps numbers).

    Parameters
    ----------
    records : list
        Decoded JSON records (each should be an object).
    columns : list of Column
        From :func:`compile_columns`.
    single : bool
        The body was one object: validation locations leave out the row index.

    Returns
    -------
    dict of str to list
        Column name to the values of every record, in record order.

    Raises
    ------
    Problem
        422 with one item per missing field, bad value or non-object record.
    """
    errors: list[dict] = []
    names = [c.name for c in columns]
    complete: list[int] = []
    for i, record in enumerate(records):
        row = -1 if single else i
        if not isinstance(record, dict):
            where: list[str | int] = ["body"] if single else ["body", i]
            errors.append(
                error_item(where, f"expected an object (one record), got {_describe(record)}", "dict_type")
            )
            continue
        absent = [n for n in names if n not in record]
        for name in absent:
            errors.append(
                error_item(_loc(row, name), "field required (send null for a missing value)", "missing")
            )
        if not absent:
            complete.append(i)
    rows = [-1 if single else i for i in complete]
    converted: dict[str, list] = {}
    for column in columns:
        values, bad = _check_column(column, [records[i][column.name] for i in complete], rows)
        converted[column.name] = values
        errors.extend(bad)
    if errors:
        raise invalid(_by_row(errors))
    return converted


def frame_from_table(table: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """Check a table read from a CSV body and return the columns the model needs.

    Raises
    ------
    Problem
        422 naming missing columns, or each bad value with its row index.
    """
    errors = [
        error_item(["body", c.name], "column required (leave cells empty for missing values)", "missing")
        for c in columns
        if c.name not in table.columns
    ]
    if errors:
        raise invalid(errors)
    rows = list(range(len(table)))
    converted: dict[str, list] = {}
    for column in columns:
        values, bad = _check_column(column, table[column.name].tolist(), rows)
        converted[column.name] = values
        errors.extend(bad)
    if errors:
        raise invalid(_by_row(errors))
    return frame_from_values(columns, converted)


def _by_row(errors: list[dict]) -> list[dict]:
    """Validation items ordered by row, then by column order (stable)."""
    return sorted(
        errors, key=lambda e: e["loc"][1] if len(e["loc"]) > 1 and isinstance(e["loc"][1], int) else -1
    )
