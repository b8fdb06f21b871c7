"""Typing raw columns by a column specification, without scikit-learn.

:class:`~modelworks.prepare.clean.TableCleaner` runs these functions inside a pipeline; the prediction
path runs them directly on the specification saved with an ONNX model, so predicting never imports
scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.data.kinds import as_category_strings, parse_dates, parse_numbers, stored_as_numbers

DATE_PARTS = ("year", "month", "day", "dayofweek")
#: Part name (kept in the feature names) to the pandas accessor (``.dt.dayofweek`` is deprecated).
_DT_ATTRIBUTE = {"dayofweek": "day_of_week"}
_EPOCH = pd.Timestamp("1970-01-01")


def _date_parts(has_time: bool) -> list[str]:
    return [*DATE_PARTS, "hour"] if has_time else list(DATE_PARTS)


def date_feature_names(name: str, has_time: bool) -> list[str]:
    """Names of the numeric columns a date column becomes."""
    return [f"{name}__{p}" for p in _date_parts(has_time)] + [f"{name}__days"]


def output_names(columns: list[dict]) -> list[str]:
    """Names of the cleaned columns of a specification, in order."""
    names: list[str] = []
    for col in columns:
        if col["kind"] == "datetime":
            names += date_feature_names(col["name"], bool(col.get("has_time")))
        else:
            names.append(col["name"])
    return names


def clean(columns: list[dict], X: pd.DataFrame) -> pd.DataFrame:
    """``X`` typed by the specification ``columns`` (see :class:`~modelworks.prepare.TableCleaner`)."""
    # numbers already stored as numbers are converted in one block (wide tables have thousands)
    # one lookup per column (X[name] costs far more on wide frames); names listed at once, as
    # iterating an Index of pandas strings goes through Arrow one item at a time
    dtypes = dict(zip(X.columns.tolist(), X.dtypes.tolist(), strict=True))
    stored = {
        c["name"] for c in columns if c["kind"] == "numeric" and stored_as_numbers(dtypes.get(c["name"]))
    }
    block = [c["name"] for c in columns if c["name"] in stored]
    out: dict[str, pd.Series] = {}
    for col in columns:
        name, kind = col["name"], col["kind"]
        if name in stored:
            continue
        values = X[name].reset_index(drop=True)
        if kind == "numeric":
            out[name] = parse_numbers(values)
        elif kind == "datetime":
            dates = parse_dates(values)
            for part in _date_parts(bool(col.get("has_time"))):
                attr = _DT_ATTRIBUTE.get(part, part)
                out[f"{name}__{part}"] = getattr(dates.dt, attr).astype("float64")
            out[f"{name}__days"] = (dates - _EPOCH).dt.total_seconds().astype("float64") / 86400
        elif kind == "text":
            out[name] = values.astype("string").fillna("").astype(object)
        else:
            out[name] = as_category_strings(values)
    # column names as Python strings (object): scikit-learn and narwhals walk them on every fit and
    # transform, 10 to 20 times faster than an Index of pandas strings on a wide table
    names = pd.Index(output_names(columns), dtype=object)
    if not block:
        frame = pd.DataFrame(out, columns=names)
    else:
        numbers = pd.DataFrame(X[block].to_numpy(dtype="float64", na_value=np.nan), columns=block)
        frame = pd.concat([numbers, pd.DataFrame(out)], axis=1)[names] if out else numbers[names]
    frame.columns = names
    return frame
