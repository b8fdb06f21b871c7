"""The held-out test set and the cross-validation folds, with repeated rows kept together.

Repeated rows are usually real observations (many customers share a profile), so they are kept; but a
row whose exact copy sits on the other side of a split would be scored on what the model memorised.
Identical rows therefore form a group that stays on one side of the test split and of every fold
(each group is split as one row by scikit-learn's ``StratifiedKFold`` or ``KFold``). A class with a
single row (or a single group of identical rows) cannot be stratified: it is kept for training and
never drawn for testing. Without repeats or rare classes the splits are exactly scikit-learn's
stratified ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    train_test_split,
)

from modelworks.data._frames import row_hashes
from modelworks.errors import DataError

Folds = list[tuple[np.ndarray, np.ndarray]]


def row_groups(df: pd.DataFrame) -> np.ndarray | None:
    """Group id of each row, identical rows sharing one; ``None`` when no row repeats."""
    _, groups = np.unique(row_hashes(df), return_inverse=True)
    return None if groups.max(initial=-1) + 1 == len(df) else groups.ravel()


def _label_codes(y: pd.Series) -> pd.Series:
    """Integer codes of the labels in their sorted order: the same stratified splits as the labels
    themselves, without sorting a million strings (scikit-learn's ``np.unique``)."""
    try:
        return pd.Series(pd.factorize(y.to_numpy(), sort=True)[0])
    except TypeError:  # labels of types that do not sort together
        return y.reset_index(drop=True)


def rare_labels(y: pd.Series, groups: np.ndarray | None) -> list:
    """Classes present in a single row or a single group of identical rows (training only)."""
    labels = y.to_numpy()
    if groups is not None:
        _, first = np.unique(groups, return_index=True)
        labels = labels[first]
    counts = pd.Series(labels).value_counts()
    return counts.index[counts < 2].tolist()


def holdout(
    y: pd.Series, groups: np.ndarray | None, test_size: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training part and of the test set.

    Whole groups go to one side; stratified by class (classification) except for the rare classes of
    :func:`rare_labels`, which are trained on only.
    """
    n = len(y)
    y = _label_codes(y) if stratify else y
    if groups is None:
        members, first = np.arange(n), np.arange(n)
    else:
        members, first = np.unique(groups, return_index=True)
    labels = y.to_numpy()[first]
    rare = np.isin(labels, rare_labels(y, groups)) if stratify else np.zeros(len(first), dtype=bool)
    pool = np.flatnonzero(~rare)
    n_classes = len(np.unique(labels[pool])) if stratify else 1
    if len(pool) < 2 or (stratify and (n_classes < 2 or len(pool) < 2 * n_classes)):
        what = "distinct rows (identical rows stay together)" if groups is not None else "rows"
        raise DataError(
            f"the table has {len(first)} {what}, too few to hold out a test set"
            f"{' with every class' if stratify else ''}; add rows"
        )
    train, test = train_test_split(
        pool, test_size=test_size, random_state=seed, stratify=labels[pool] if stratify else None
    )
    train = np.concatenate([train, np.flatnonzero(rare)])
    if groups is None:
        return train, test
    return (
        np.flatnonzero(np.isin(groups, members[train])),
        np.flatnonzero(np.isin(groups, members[test])),
    )


def cv_folds(
    y: pd.Series,
    groups: np.ndarray | None,
    cv: int,
    repeats: int,
    seed: int,
    stratify: bool,
    *,
    times: np.ndarray | None = None,
    gap: int = 0,
) -> Folds:
    """The cross-validation folds (``repeats`` times ``cv``), groups kept whole; forward-chaining
    folds over ``times`` when given (:func:`time_folds`)."""
    if times is not None:
        return time_folds(times, cv, gap)
    X = np.zeros((len(y), 1))
    y = _label_codes(y) if stratify else y
    target = y if stratify else None
    if groups is None:
        if repeats > 1:
            splitter = (RepeatedStratifiedKFold if stratify else RepeatedKFold)(
                n_splits=cv, n_repeats=repeats, random_state=seed
            )
        else:
            splitter = (StratifiedKFold if stratify else KFold)(n_splits=cv, shuffle=True, random_state=seed)
        return list(splitter.split(X, target))
    # one entry per group (identical rows share their label), split as plain rows would be, then
    # spread back to rows: linear in the rows, where StratifiedGroupKFold's greedy search took 10 s
    # on 30,000 mostly distinct rows
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    labels = y.to_numpy()[first] if stratify else None
    folds: Folds = []
    for r in range(repeats):
        splitter = (StratifiedKFold if stratify else KFold)(n_splits=cv, shuffle=True, random_state=seed + r)
        for _, val_groups in splitter.split(np.zeros((len(first), 1)), labels):
            in_val = np.zeros(len(first), dtype=bool)
            in_val[val_groups] = True
            rows = in_val[inverse.ravel()]
            folds.append((np.flatnonzero(~rows), np.flatnonzero(rows)))
    return folds


def merge_groups(first: np.ndarray, second: np.ndarray | None) -> np.ndarray:
    """Group ids such that rows sharing a group in ``first`` or in ``second`` share one: the user's
    groups (``--groups``) joined with the groups of identical rows, as connected components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a = pd.factorize(first)[0]
    if second is None:
        return a
    b = pd.factorize(second)[0] + a.max(initial=-1) + 1
    n = int(b.max(initial=-1)) + 1
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return pd.factorize(component[a])[0]


def _time_units(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct times in order, the unit of each row, and the rows of each unit."""
    values, unit_of_row, rows = np.unique(times, return_inverse=True, return_counts=True)
    return values, unit_of_row.ravel(), rows


def time_holdout(times: np.ndarray, test_size: float, gap: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training part and the test set: the test set is the latest rows (about
    ``test_size`` of them, rows of one time never split), every one later than every training row;
    ``gap`` distinct times between them are left out of both.

    Raises
    ------
    DataError
        When the times leave no room for a test set after the training rows.
    """
    values, unit_of_row, rows = _time_units(times)
    before = np.cumsum(rows) - rows  # rows earlier than each distinct time
    n_train = len(times) - int(np.ceil(len(times) * test_size))
    first_test = int(np.searchsorted(before, n_train, side="left"))
    last_train = first_test - 1 - gap
    if first_test >= len(values) or last_train < 0:
        raise DataError(
            f"the time column has {len(values)} distinct time(s), too few for a test set of later "
            f"rows{f' after a gap of {gap}' if gap else ''}; give more times or a smaller --test-size"
        )
    return np.flatnonzero(unit_of_row <= last_train), np.flatnonzero(unit_of_row >= first_test)


def time_folds(times: np.ndarray, cv: int, gap: int = 0) -> Folds:
    """Forward-chaining folds: the rows in time order cut into ``cv + 1`` blocks of about equal rows
    (a time's rows in one block); fold ``i`` trains on the blocks before block ``i + 1`` (less the
    last ``gap`` distinct times) and is validated on block ``i + 1``, as scikit-learn's
    ``TimeSeriesSplit`` does on rows. The first block is never validated on.

    Raises
    ------
    DataError
        When there are fewer distinct times than the folds need.
    """
    values, unit_of_row, rows = _time_units(times)
    if len(values) < cv + 1 + gap:
        raise DataError(
            f"the time column has {len(values)} distinct time(s), too few for {cv} forward-chaining "
            f"folds{f' with a gap of {gap}' if gap else ''}; use --cv {max(2, len(values) - 1 - gap)}"
        )
    before = np.cumsum(rows) - rows
    block = np.minimum((before * (cv + 1)) // len(times), cv)
    # every block holds at least one time: spread the times evenly when the rows crowd a few
    if len(np.unique(block)) < cv + 1:
        block = (np.arange(len(values)) * (cv + 1)) // len(values)
    folds: Folds = []
    for i in range(cv):
        val_units = np.flatnonzero(block == i + 1)
        last_train = val_units[0] - 1 - gap
        folds.append(
            (np.flatnonzero(unit_of_row <= last_train), np.flatnonzero(np.isin(unit_of_row, val_units)))
        )
    return folds
