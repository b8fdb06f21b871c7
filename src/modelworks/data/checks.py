"""Checks that turn unusable input into one clear sentence before anything is fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.data._frames import nunique
from modelworks.errors import DataError, TargetError


def check_features(X: pd.DataFrame) -> None:
    """Refuse feature columns that are entirely missing or hold infinite values."""
    empty = [str(c) for c, gone in X.isna().all().items() if gone]
    if empty:
        raise DataError(
            f"column(s) {', '.join(repr(c) for c in empty)} are entirely missing; "
            "drop them or fill them in before training"
        )
    check_finite(X)


def check_finite(X: pd.DataFrame) -> None:
    """Refuse numeric columns holding infinite values: every command follows this one rule (``run``,
    ``cluster``, ``anomalies``), since no model or distance is defined on them and guessing what they
    stand for (a cap? a missing value?) is the user's call."""
    # numbers checked in one block: a wide table has thousands of columns
    numbers = [
        i
        for i, dtype in enumerate(X.dtypes)
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]
    if not numbers:
        return
    block = X.iloc[:, numbers].to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(block).sum(axis=0)
    for i, n_inf in zip(numbers, infinite, strict=True):
        if n_inf:
            raise DataError(
                f"column {str(X.columns[i])!r} holds {int(n_inf)} infinite value(s); replace them with a "
                "number or leave the cells empty"
            )


def check_classes(y: pd.Series, test_size: float, cv: int) -> None:
    """Refuse class counts that make stratified splitting or cross-validation impossible.

    Classes with a single row are accepted (they are trained on, never tested); the others must be at
    least two and leave room for a test set holding each of them.
    """
    counts = y.value_counts()
    n_classes = int((counts >= 2).sum())
    if n_classes < 2:
        raise TargetError(
            f"target {y.name!r} has fewer than two classes with more than one row "
            f"({len(counts)} classes in {len(y)} rows); is it a numeric target? use --task regression"
        )
    n_test = int(np.ceil(len(y) * test_size))
    n_train = len(y) - n_test
    if n_test < n_classes or n_train < n_classes * min(cv, 2):
        raise TargetError(
            f"target {y.name!r} has {n_classes} classes but only {len(y)} rows, too few for a "
            f"{n_test}-row test set and {cv}-fold cross-validation; add rows or merge rare classes"
        )


def target_copies(X: pd.DataFrame, y: pd.Series) -> list[str]:
    """Columns that copy the target: a one-to-one relabelling of it (leakage).

    A column counts when its values determine the target exactly and the target determines them, on a
    target that repeats. On a target unique per row (a continuous one) every identifier would qualify,
    so there only a column holding the target's very values counts. Columns with missing values are not
    considered.
    """
    n_target = y.nunique(dropna=True)
    if n_target < 2:
        return []
    labels = y.astype(str).to_numpy()
    counts = nunique(X)
    return [str(c) for c in counts.index[counts == n_target] if _copies(X[c], y, labels, n_target)]


def _copies(x: pd.Series, y: pd.Series, labels: np.ndarray, n_target: int) -> bool:
    """Whether ``x``, with ``n_target`` distinct values as ``y`` has, copies the target as
    :func:`target_copies` counts it; ``labels`` is ``y`` as text."""
    if n_target == len(labels):  # a target unique per row: only its very values count
        return _equal_values(x, y)
    if x.isna().any():
        return False
    pairs = pd.DataFrame({"x": x.astype(str).to_numpy(), "y": labels}).drop_duplicates()
    return len(pairs) == n_target


def _equal_values(x: pd.Series, y: pd.Series) -> bool:
    """Whether ``x`` holds exactly ``y``'s values, row by row (as numbers where both are numbers)."""
    if x.isna().any():
        return False
    numeric = pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y)
    if numeric and not (pd.api.types.is_bool_dtype(x) or pd.api.types.is_bool_dtype(y)):
        a = x.to_numpy(dtype="float64", na_value=np.nan)
        b = y.to_numpy(dtype="float64", na_value=np.nan)
        return bool(np.array_equal(a, b))
    return bool((x.astype(str).to_numpy() == y.astype(str).to_numpy()).all())


def check_not_only_copies(X: pd.DataFrame, y: pd.Series) -> None:
    """Refuse a table whose every feature column copies the target: nothing would be left to learn.

    Raises
    ------
    DataError
        Naming the copies and the fix.
    """
    n_target = y.nunique(dropna=True)
    if n_target < 2 or X.shape[1] == 0:
        return
    labels = y.astype(str).to_numpy()
    for c in X.columns:  # column by column: the first that is no copy ends the check, at its cost
        x = X[c]
        if x.nunique(dropna=True) != n_target or not _copies(x, y, labels, n_target):
            return
    names = ", ".join(repr(str(c)) for c in X.columns)
    raise DataError(
        f"column(s) {names} copy the target {str(y.name)!r} exactly (leakage) and no other column is "
        "left to learn from; remove them and give the columns known before the target is"
    )
