"""Answers as JSON: prediction values to JSON-ready Python values, and compact JSON bytes."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.schema import json_safe

__all__ = ["dumps", "encode_rows", "json_values"]


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of ``value`` (NaN and infinities refused, as JSON has none)."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()


def json_values(values: np.ndarray | pd.Series) -> list:
    """One column of predictions as JSON-ready values.

    Parameters
    ----------
    values : ndarray or Series
        Labels, probabilities or regression values.

    Returns
    -------
    list
        Python values; non-finite numbers become ``None``.
    """
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    kind = array.dtype.kind
    if kind == "f":
        return [v if math.isfinite(v) else None for v in array.tolist()]
    if kind in "iub":
        return array.tolist()
    return [json_safe(v) for v in array.tolist()]


def encode_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a prediction frame as JSON-ready dicts (non-finite numbers become ``None``)."""
    names = [str(c) for c in frame.columns]
    columns = [json_values(frame[c]) for c in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
