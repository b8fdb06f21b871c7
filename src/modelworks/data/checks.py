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
    target that repeats (on a target unique per row, every identifier would qualify; those are dropped
    as identifiers). Columns with missing values are not considered.
    """
    n_target = y.nunique(dropna=True)
    if n_target < 2 or n_target == len(y):
        return []
    labels = y.astype(str).to_numpy()
    counts = nunique(X)
    copies = []
    for c in counts.index[counts == n_target]:
        x = X[c]
        if x.isna().any():
            continue
        pairs = pd.DataFrame({"x": x.astype(str).to_numpy(), "y": labels}).drop_duplicates()
        if len(pairs) == n_target:
            copies.append(str(c))
    return copies
