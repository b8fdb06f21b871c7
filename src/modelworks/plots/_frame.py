"""Input handling shared by the data Displays: numeric coercion, the task, class labels and sampling."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.kinds import stored_as_numbers

#: Share of the non-missing values that must parse as numbers for a text column to count as numeric.
NUMERIC_SHARE = 0.95
#: Classes drawn as separate series; the rarer ones are pooled as "other".
MAX_CLASSES = 8
OTHER = "other"
MISSING = "(missing)"
TASKS = ("binary", "multiclass", "regression")
#: Points drawn at most in a scatter (a seeded sample beyond that).
MAX_POINTS = 5000


def as_frame(X: Any) -> pd.DataFrame:
    """``X`` as a DataFrame with string column names (a copy is not made when not needed)."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    return frame


def is_numeric(values: pd.Series) -> bool:
    """Whether ``values`` is numeric, or text of which nearly every non-missing value is a number."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return False
    present = values.dropna()
    if present.empty:
        return False
    parsed = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return bool(parsed.notna().mean() >= NUMERIC_SHARE)


def to_numeric(values: pd.Series) -> pd.Series:
    """``values`` as float64, text parsed with :func:`pandas.to_numeric` (NaN where it does not parse)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64")


def numeric_frame(X: pd.DataFrame, features: Sequence[str] | None = None) -> pd.DataFrame:
    """The numeric (or numeric-text) columns of ``X`` as float64, in order; constant or empty ones dropped."""
    names = list(features) if features is not None else list(X.columns)
    dtypes = X.dtypes.to_dict()  # one lookup per column; X[name] costs far more on wide frames
    # columns stored as numbers are converted in one block (wide tables have thousands)
    stored = [name for name in names if stored_as_numbers(dtypes[name])]
    stored_set = set(stored)
    block = pd.DataFrame(X[stored].to_numpy(dtype="float64", na_value=np.nan), columns=stored, index=X.index)
    if features is None and stored and len(X):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            values = block.to_numpy()
            varies = np.nanmin(values, axis=0) < np.nanmax(values, axis=0)
        block = block.loc[:, varies]
    elif features is None:
        block = block.iloc[:, :0]
    out = {}
    for name in names:
        if name in stored_set:
            continue
        if features is None and not is_numeric(X[name]):
            continue
        values = to_numeric(X[name])
        if features is None and values.nunique(dropna=True) < 2:
            continue
        out[name] = values
    if not out:
        return block
    kept = set(block.columns) | set(out)
    frame = pd.concat([block, pd.DataFrame(out, index=X.index)], axis=1)
    return frame[[name for name in names if name in kept]]


def categorical_columns(X: pd.DataFrame, max_levels: int = 50) -> list[str]:
    """Columns that are not numeric and have between 2 and ``max_levels`` distinct values."""
    dtypes = X.dtypes.to_dict()
    return [
        name
        for name in X.columns
        if not stored_as_numbers(dtypes[name])
        and not is_numeric(X[name])
        and 2 <= X[name].nunique(dropna=True) <= max_levels
    ]


def infer_task(y: pd.Series, task: str | None) -> str:
    """``task`` checked, or inferred from ``y``: numbers with many values are a regression target."""
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        return task
    present = y.dropna()
    if is_numeric(present) and present.nunique() > 20:
        return "regression"
    return "binary" if present.nunique() <= 2 else "multiclass"


def align(X: Any, y: Any, task: str | None) -> tuple[pd.DataFrame, pd.Series, str]:
    """``X`` and ``y`` as a frame and a series on the same index, rows with a missing target dropped."""
    frame = as_frame(X)
    if y is None:
        raise ValueError("a target y is needed")
    target = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y), name="target")
    if len(target) != len(frame):
        raise ValueError(f"X has {len(frame)} rows but y has {len(target)}")
    target = target.set_axis(frame.index)
    if target.name is None:
        target = target.rename("target")
    keep = target.notna().to_numpy()
    frame, target = frame.loc[keep], target.loc[keep]
    task = infer_task(target, task)
    if task == "regression":
        target = to_numeric(target)
    return frame, target, task


def class_order(y: pd.Series, max_classes: int = MAX_CLASSES) -> list[Any]:
    """Class labels in sorted order, keeping the ``max_classes - 1`` most frequent when there are more."""
    counts = y.value_counts()
    labels = list(counts.index)
    if len(labels) > max_classes:
        labels = labels[: max_classes - 1]
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def pooled_classes(y: pd.Series, max_classes: int = MAX_CLASSES) -> tuple[pd.Series, list[Any]]:
    """``y`` with the classes beyond the ``max_classes - 1`` most frequent pooled as "other"."""
    labels = class_order(y, max_classes)
    if y.nunique() <= len(labels):
        return y, labels
    pooled = y.astype(object).where(y.isin(labels), OTHER)
    return pooled, [*labels, OTHER]


def sample_index(n: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Sorted positions of at most ``max_rows`` of ``n`` rows, chosen with a seeded generator."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def positive_label(classes: Sequence[Any], pos_label: Any = None) -> Any:
    """``pos_label`` when given and present, else the last of the sorted ``classes`` (scikit-learn's rule)."""
    if pos_label is not None:
        if pos_label not in list(classes):
            raise ValueError(f"pos_label {pos_label!r} is not one of the classes {list(classes)!r}")
        return pos_label
    return list(classes)[-1]


def short(text: Any, width: int = 24) -> str:
    """``text`` as a string cut to ``width`` characters with an ellipsis."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"
