"""The input schema of a trained model, and checking prediction input against it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.kinds import as_category_strings, parse_number_frame
from modelworks.errors import SchemaError
from modelworks.settings import UNSEEN_CHOICES

MAX_CATEGORIES = 1000
UNSEEN_POLICIES = UNSEEN_CHOICES


def json_safe(value: Any) -> Any:
    """A JSON-safe copy of ``value``: numpy and pandas values to Python, tuples to lists, NaN, inf
    and missing markers to ``None``, timestamps to ISO strings, other objects to their text."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return {str(c): json_safe(value[c].tolist()) for c in value.columns}
    if isinstance(value, pd.Series):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def build_schema(
    X: pd.DataFrame,
    columns: list[dict],
    dropped: list[dict],
    target: str,
    task: str,
    labels: list | None,
    positive_label: object = None,
    unseen_categories: str = "reject",
) -> dict:
    """Describe the columns a model needs.

    Parameters
    ----------
    X : DataFrame
        Training features (raw).
    columns : list of dict
        Column specification of the kept columns.
    dropped : list of dict
        Columns not used, with the reason.
    target, task, labels, positive_label
        What the model predicts.
    unseen_categories : {"reject", "allow"}
        Policy of the prediction server for a category never seen in training: answer 422, or let
        the encoders treat it as unknown. Columns with too many levels to list always allow them.

    Returns
    -------
    dict
        JSON-serialisable schema (see ARCHITECTURE.md, bundle format).
    """
    dtypes = X.dtypes.to_dict()  # one lookup per column; X[name] costs far more on wide frames
    missing = X.isna().mean().to_dict()
    numbers = parse_number_frame(X, [c["name"] for c in columns if c["kind"] == "numeric"])
    low, high = numbers.min().to_dict(), numbers.max().to_dict()  # one block on wide tables
    described = []
    for col in columns:
        name = col["name"]
        entry = {
            **col,
            "dtype": str(dtypes[name]),
            "missing_share": round(float(missing[name]), 6),
        }
        if col["kind"] == "numeric":
            entry["min"] = json_safe(low[name])
            entry["max"] = json_safe(high[name])
        elif col["kind"] in ("categorical", "boolean"):
            counts = as_category_strings(X[name]).value_counts()
            entry["categories"] = [str(c) for c in counts.index[:MAX_CATEGORIES]]
        described.append(entry)
    if unseen_categories not in UNSEEN_POLICIES:
        raise SchemaError(
            f"unseen-category policy must be one of {', '.join(UNSEEN_POLICIES)} (got {unseen_categories!r})"
        )
    return {
        "columns": described,
        # a real training row, so the API docs show input the model has seen
        "example": _first_row(X, [c["name"] for c in columns]),
        "policy": {"unseen_categories": unseen_categories},
        "dropped": dropped,
        "target": {
            "name": target,
            "task": task,
            "labels": None if labels is None else [json_safe(v) for v in labels],
            "positive_label": json_safe(positive_label),
        },
    }


def _first_row(X: pd.DataFrame, names: list[str]) -> dict:
    if not len(X) or not names:
        return {}
    # each value keeps its column's type: one row per dtype (a Series per column, or to_dict, costs
    # over 0.5 s at 10,000 columns)
    row = X.iloc[:1]
    by_dtype: dict[Any, list] = {}
    for name, dtype in zip(row.columns.tolist(), row.dtypes.tolist(), strict=True):
        by_dtype.setdefault(dtype, []).append(name)
    first: dict[str, Any] = {}
    for cols in by_dtype.values():
        first.update(zip(map(str, cols), row[cols].iloc[0].tolist(), strict=True))
    return {name: json_safe(first[name]) for name in names}


@dataclass
class Checked:
    """Prediction input checked against a schema."""

    frame: pd.DataFrame
    notices: list[str] = field(default_factory=list)


def check_input(df: pd.DataFrame, schema: dict) -> Checked:
    """Check ``df`` has the columns the model needs.

    Missing columns raise :class:`SchemaError` naming them; extra columns are ignored with a notice;
    categories never seen in training are counted in a notice (the encoders handle them).
    """
    needed = [c["name"] for c in schema["columns"]]
    missing = [n for n in needed if n not in df.columns]
    if missing:
        raise SchemaError(
            f"input lacks column(s) {', '.join(repr(m) for m in missing)} that the model needs; "
            "add them (empty values are allowed)"
        )
    notices = []
    extra = [str(c) for c in df.columns if c not in needed]
    if extra:
        shown = ", ".join(extra[:8]) + (" …" if len(extra) > 8 else "")
        notices.append(f"ignored {len(extra)} column(s) the model does not use: {shown}")
    for col in schema["columns"]:
        if "categories" not in col or len(col["categories"]) >= MAX_CATEGORIES:
            continue
        values = as_category_strings(df[col["name"]]).dropna()
        unseen = values[~values.isin(set(col["categories"]))]
        if len(unseen):
            notices.append(
                f"column {col['name']!r}: {len(unseen)} row(s) with categories unseen in training "
                f"(e.g. {unseen.iloc[0]!r}); treated as unknown"
            )
    return Checked(df[needed].reset_index(drop=True), notices)
