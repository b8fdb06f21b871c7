"""Train/test shift by adversarial validation (MW401): a classifier that tells the test rows from the
training rows means the test set is not drawn from the rows the model learns from.

No threshold here was tuned on a real dataset's results; it is reasoned from what a random split gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.checks._common import (
    bin_codes,
    bin_count,
    bin_numbers,
    category_codes,
    column_names,
    info_of,
    numeric_values,
    sample_rows,
)
from modelworks.checks._finding import CheckInput, Finding

#: The splits whose parts can differ: a random or stratified split draws the test set from the same rows
#: as the training part, so a classifier can only tell them apart by chance (every AUC above 0.5 there
#: is a false alarm, and the check's fits would be spent for nothing); by group or by time they can.
SHIFTING_SPLITS = ("group", "time")
#: Cross-validated ROC AUC of telling test from training rows at or above which MW401 is reported. A
#: random split gives 0.5 up to noise (on 2 × 5,000 rows the standard error of an AUC is about 0.006,
#: so even a lucky split stays under 0.52); 0.60 is a shift a model's score can feel, ten points of
#: separability no chance split reaches.
SHIFT_AUC = 0.60
#: ... and the AUC must also stand this many standard errors above 0.5 (one-sided p < 0.001), the
#: standard error of an AUC between unrelated parts being √((n₁ + n₂ + 1) / (12 n₁ n₂)): on small parts
#: (100 training and 30 test rows: 0.06) a chance AUC of 0.60 is common (one split in five in a
#: simulation of ours), on large ones the 0.60 bar decides.
SHIFT_Z = 3.09
#: Rows of each part at most (a seeded sample): enough for the AUC's noise above and a two-second check.
SAMPLE_ROWS = 5_000
#: Rows each part needs for the check to run.
MIN_ROWS = 30
#: Boosting rounds of the adversarial classifier: fifty rounds find any shift that a single column or a
#: pair carries; more would only fit noise on 10,000 rows.
ROUNDS = 50
#: Folds of its cross-validation.
FOLDS = 3
#: Columns the classifier is given at most: on a wide table each fold keeps those whose values, ranked,
#: tell its training rows apart best (a Mann–Whitney AUC, chosen within the fold so the held-out score
#: stays honest); a boosted model's cost grows with its columns, and a shift a model can feel shows in
#: the columns that carry it alone.
MAX_MODEL_COLUMNS = 100
#: Columns named in the message as separating the parts most: three at most...
TOP_COLUMNS = 3
#: ... and, after the first, only those whose single-column AUC reaches this: a column at 0.5 does not
#: separate the parts, and naming it would send the user to look at the wrong place.
NAMED_AUC = 0.55


def shift_findings(inp: CheckInput) -> list[Finding]:
    """The MW401 finding, when a test set is given and a classifier tells it from the training rows.

    Columns are encoded simply (numbers as floats, dates as nanoseconds, categories as ordinal codes;
    text and identifiers left out); a ``HistGradientBoostingClassifier`` is scored by 3-fold
    cross-validated ROC AUC, reported from :data:`SHIFT_AUC` when chance cannot explain it
    (:data:`SHIFT_Z`). The columns named are those whose single-column out-of-fold AUC is
    highest. Severity is "info" under a time split, where the latest rows are expected to differ.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
    """
    if inp.X_test is None or inp.split_kind not in SHIFTING_SPLITS:
        return []
    train, test = inp.X_train, inp.X_test
    if len(train) < MIN_ROWS or len(test) < MIN_ROWS:
        return []
    rng = np.random.default_rng(inp.seed)
    rows_train = sample_rows(len(train), SAMPLE_ROWS, rng)
    rows_test = sample_rows(len(test), SAMPLE_ROWS, rng)
    train = train if rows_train is None else train.iloc[rows_train]
    test = test if rows_test is None else test.iloc[rows_test]
    test_names = set(column_names(test))
    shared = [c for c in train.columns if str(c) in test_names and str(c) != inp.groups]
    both = pd.concat([train[shared], test[shared]], ignore_index=True)
    z = np.r_[np.zeros(len(train), dtype=np.int64), np.ones(len(test), dtype=np.int64)]

    names, columns, binned = [], [], []
    n_bins = bin_count(len(both))
    for j, name in enumerate(column_names(both)):
        series = both.iloc[:, j]
        kind = info_of(inp, name, series).kind
        if kind in ("text", "identifier", "constant"):
            continue
        if kind == "categorical":
            codes = category_codes(series)
            values = np.where(codes >= 0, codes, np.nan).astype("float64")
            binned.append(bin_codes(codes, n_bins))
        else:
            encoded = numeric_values(series, info_of(inp, name, series))
            if encoded is None:
                continue
            values = encoded
            binned.append(bin_numbers(values, n_bins))
        names.append(name)
        columns.append(values)
    if not columns:
        return []
    matrix = np.column_stack(columns)
    matrix[~np.isfinite(matrix)] = np.nan  # an infinite value is as unusable as a missing one
    # a row repeated within one part would be learned in one fold and recognised in another (the run
    # keeps identical rows on one side of its split): each part's distinct rows only
    distinct = ~pd.DataFrame(matrix).assign(part=z).duplicated().to_numpy()
    auc = _adversarial_auc(matrix[distinct], z[distinct], inp.seed)
    noise = np.sqrt((len(train) + len(test) + 1) / (12 * len(train) * len(test)))
    if auc < max(SHIFT_AUC, 0.5 + SHIFT_Z * noise):
        return []
    folds = np.empty(len(z), dtype=np.int64)
    folds[rng.permutation(len(z))] = np.arange(len(z)) % FOLDS
    single = [_column_auc(bins, nb, z, folds) for bins, nb in binned]
    ranked = np.argsort(-np.asarray(single), kind="stable")[:TOP_COLUMNS]
    top = [names[i] for rank, i in enumerate(ranked) if rank == 0 or single[i] >= NAMED_AUC]
    return [_finding(tuple(top), auc, inp.split_kind == "time")]


def _adversarial_auc(features: np.ndarray, z: np.ndarray, seed: int) -> float:
    """Mean ROC AUC over the folds of a boosted classifier telling test rows (1) from training rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    scores = []
    for fit, held in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(features, z):
        usable = np.flatnonzero(~np.isnan(features[fit]).all(axis=0))  # all-missing columns break HGB
        if not usable.size:
            return 0.5
        keep = usable[_separating_columns(features[fit][:, usable], z[fit], MAX_MODEL_COLUMNS)]
        model = HistGradientBoostingClassifier(max_iter=ROUNDS, early_stopping=False, random_state=seed)
        model.fit(features[fit][:, keep], z[fit])
        scores.append(roc_auc_score(z[held], model.predict_proba(features[held][:, keep])[:, 1]))
    return float(np.mean(scores))


def _separating_columns(features: np.ndarray, z: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the ``limit`` columns whose ranks tell the two parts apart best (all of them when
    there are no more), by the distance of each column's Mann–Whitney AUC from 0.5."""
    from scipy.stats import rankdata

    p = features.shape[1]
    if p <= limit:
        return np.arange(p)
    filled = np.where(np.isnan(features), -np.inf, features)  # missing values rank together, first
    ranks = rankdata(filled, axis=0)
    n_pos = int(z.sum())
    n_neg = len(z) - n_pos
    auc = (ranks[z == 1].sum(axis=0) - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1)
    return np.sort(np.argsort(-np.abs(auc - 0.5), kind="stable")[:limit])


def _column_auc(bins: np.ndarray, n_bins: int, z: np.ndarray, folds: np.ndarray) -> float:
    """Out-of-fold ROC AUC of one binned column's share of test rows per bin (0.5 is no separation)."""
    from scipy.stats import rankdata

    pred = np.empty(len(z), dtype="float64")
    pos_all = np.bincount(bins, weights=z, minlength=n_bins)
    count_all = np.bincount(bins, minlength=n_bins)
    for f in range(FOLDS):
        held = folds == f
        pos = pos_all - np.bincount(bins[held], weights=z[held], minlength=n_bins)
        count = count_all - np.bincount(bins[held], minlength=n_bins)
        pred[held] = ((pos + 0.5) / (count + 1.0))[bins[held]]
    ranks = rankdata(pred)
    n_pos = int(z.sum())
    n_neg = len(z) - n_pos
    return float((ranks[z == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _finding(top: tuple[str, ...], auc: float, expected: bool) -> Finding:
    named = ", ".join(repr(c) for c in top)
    if expected:
        return Finding(
            "MW401",
            "info",
            top,
            f"a classifier tells the test rows from the training rows (cross-validated ROC AUC {auc:.2f}, "
            f"most through {named}), as expected when the test set is the latest rows; read the test "
            "score as how the model holds up on later data",
            auc,
        )
    return Finding(
        "MW401",
        "warning",
        top,
        f"a classifier tells the test rows from the training rows (cross-validated ROC AUC {auc:.2f}, most "
        f"through {named}), so the test set is not drawn from the rows the model learns from; check how "
        "the test set was drawn, or expect its score to differ from cross-validation",
        auc,
    )
