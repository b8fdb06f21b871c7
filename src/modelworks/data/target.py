"""Decide the learning task from the target column and check the target is usable."""

from __future__ import annotations

import difflib
from typing import Literal

import numpy as np
import pandas as pd

from modelworks.errors import ConfigError, TargetError

Task = Literal["binary", "multiclass", "regression"]
TASKS = ("binary", "multiclass", "regression")
#: An integer target with at most this many distinct values is treated as classes.
MAX_INTEGER_CLASSES = 10
_POSITIVE_WORDS = ("1", "true", "yes", "y", "t", "positive", "pos", "churn", "bad", ">50k")


def find_target(df: pd.DataFrame, target: str) -> pd.Series:
    """Return the target column, or raise naming the closest column names."""
    if target in df.columns:
        return df[target]
    names = [str(c) for c in df.columns]
    lowered = {n.lower(): n for n in names}
    if target.lower() in lowered:
        hint = [lowered[target.lower()]]
    else:
        hint = difflib.get_close_matches(target, names, n=3, cutoff=0.5)
    suggestion = (
        f"did you mean {', '.join(repr(h) for h in hint)}?"
        if hint
        else f"the columns are {', '.join(repr(n) for n in names[:12])}" + (" …" if len(names) > 12 else "")
    )
    raise TargetError(f"target column {target!r} not found; {suggestion}")


def detect_task(y: pd.Series, task: str = "auto") -> tuple[str, str]:
    """Detect the task from the target values.

    Parameters
    ----------
    y : Series
        The target column (missing values allowed; they are ignored here).
    task : {"auto", "binary", "multiclass", "regression"}
        A task given by the user; checked against the data instead of detected.

    Returns
    -------
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    reason : str
        A short sentence saying why, shown to the user.
    """
    present = y.dropna()
    if present.empty:
        raise TargetError(
            f"target column {y.name!r} is entirely missing; choose a column with known outcomes"
        )
    n_unique = int(present.nunique())
    numeric = pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present)
    if task not in ("auto", *TASKS):
        raise ConfigError(f"unknown task {task!r}; use one of auto, binary, multiclass, regression")
    if n_unique < 2:
        raise TargetError(
            f"target column {y.name!r} has a single value ({present.iloc[0]!r}); "
            "a model needs at least two classes or varying values"
        )
    if task == "regression":
        if not numeric:
            raise TargetError(
                f"target column {y.name!r} is not numeric, so it cannot be regressed; "
                "use --task binary or multiclass"
            )
        return "regression", "regression requested"
    if task in ("binary", "multiclass"):
        if task == "binary" and n_unique != 2:
            raise TargetError(
                f"target column {y.name!r} has {n_unique} classes, not 2; use --task multiclass"
            )
        if task == "multiclass" and n_unique == 2:
            return "binary", "two classes, so the task is binary"
        return task, f"{task} requested"
    if not numeric:
        kind = "binary" if n_unique == 2 else "multiclass"
        return kind, f"{n_unique} distinct labels"
    values = present.to_numpy(dtype="float64")
    integral = bool(np.all(np.mod(values, 1) == 0))
    if n_unique == 2:
        return "binary", "numeric target with two values"
    if integral and n_unique <= MAX_INTEGER_CLASSES:
        return "multiclass", (
            f"integer target with {n_unique} values; use --task regression for an ordered quantity"
        )
    return "regression", f"numeric target with {n_unique} distinct values"


def positive_label(labels: list) -> object:
    """Pick the positive class of a binary target: a 1/true/yes-like label when there is one,
    otherwise the last label in sorted order (recorded in the schema, so it is never ambiguous)."""
    for word in _POSITIVE_WORDS:
        for label in labels:
            if str(label).strip().lower() == word:
                return label
    return sorted(labels, key=str)[-1]
