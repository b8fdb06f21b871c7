"""The input schema of a trained model, and checking prediction input against it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelworks.data.kinds import parse_numbers
from modelworks.errors import SchemaError

MAX_CATEGORIES = 1000


def to_json_value(v: object) -> object:
    """A JSON-safe version of a scalar (numpy types to Python, NaN to None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def build_schema(
    X: pd.DataFrame,
    columns: list[dict],
    dropped: list[dict],
    target: str,
    task: str,
    labels: list | None,
    positive_label: object = None,
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

    Returns
    -------
    dict
        JSON-serialisable schema (see ARCHITECTURE.md, bundle format).
    """
    from modelworks.prepare.clean import as_category_strings

    described = []
    for col in columns:
        values = X[col["name"]]
        entry = {
            **col,
            "dtype": str(values.dtype),
            "missing_share": round(float(values.isna().mean()), 6),
        }
        if col["kind"] == "numeric":
            numbers = parse_numbers(values)
            entry["min"] = to_json_value(numbers.min())
            entry["max"] = to_json_value(numbers.max())
        elif col["kind"] in ("categorical", "boolean"):
            counts = as_category_strings(values).value_counts()
            entry["categories"] = [str(c) for c in counts.index[:MAX_CATEGORIES]]
        described.append(entry)
    return {
        "columns": described,
        "dropped": dropped,
        "target": {
            "name": target,
            "task": task,
            "labels": None if labels is None else [to_json_value(v) for v in labels],
            "positive_label": to_json_value(positive_label),
        },
    }


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
    from modelworks.prepare.clean import as_category_strings

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
