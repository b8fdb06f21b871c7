"""Repeated entities: a column whose repeated values almost determine the target (MW201), and test rows
that repeat training rows (MW202). Both mean a random split puts one entity on both sides.

No threshold here was tuned on a real dataset's results; each is reasoned from the synthetic traps and
from what chance produces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelworks.checks._common import column_names, info_of, target_rows
from modelworks.checks._finding import CheckInput, Finding

#: Distinct values a column needs to be taken for an entity (a patient, a customer): fewer are a plain
#: category (a country, a plan) whose link to the target is a feature, not a repeated entity.
MIN_ENTITIES = 20
#: ... and at least this share of the rows: 2% (at most 50 rows per value on average); a column with
#: fewer, larger groups is again a category rather than entities seen a few times each.
MIN_ENTITY_SHARE = 0.02
#: Median rows per value at least: "most values appear at least twice", else there is no repeat to
#: memorise.
MIN_MEDIAN_GROUP = 2
#: Normalised purity at or above which MW201 is reported: (purity - permuted) / (1 - permuted), where
#: "permuted" is the purity of the same groups after a seeded shuffle of the target, i.e. what small
#: groups reach by chance (a group of two rows is half the time pure). 0.8 means the value explains at
#: least 80% of the target's variation that chance leaves unexplained: four visits of a patient who
#: determines the outcome score 1.0, with one visit in ten relabelled at random about 0.8 or more, and a
#: legitimate category with a real but partial effect well under 0.5.
ENTITY_PURITY = 0.8
#: Rows below which the entity check does not run (groups of two cannot be told from chance).
MIN_ROWS = 30

#: Share of test rows equal to a training row, beyond what chance gives, from which MW202 is reported.
#: Rows with continuous features never coincide by chance, so any excess is a repeat; 5% of the test set
#: is where memorised rows start to move a test score by more than its own sampling noise (a
#: 200-row test set's accuracy has a standard error of about 3 points) — fewer are a curiosity.
DUPLICATE_SHARE = 0.05
#: ... and at least this many rows: a share of a tiny test set is one or two rows.
MIN_DUPLICATES = 5
#: Share of distinct values among present ones from which a column counts as unique per row (a row id,
#: a record number) and is ignored when rows are compared: 99.9% tolerates a few accidental repeats
#: (timestamps) while a column repeated for 5% of a test set (≥ 0.25% of all rows when the test set is a
#: twentieth) stays compared.
UNIQUE_ROW_SHARE = 0.999
#: Dates with at least this share of distinct values are timestamps of the record, ignored likewise.
UNIQUE_DATE_SHARE = 0.95


def entity_findings(inp: CheckInput) -> list[Finding]:
    """MW201 findings: columns of repeated values that almost determine the target.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
        Empty under a group split (entities are already kept together).
    """
    if inp.split_kind == "group":
        return []
    X, y = target_rows(inp)
    if len(y) < MIN_ROWS:
        return []
    rng = np.random.default_rng(inp.seed)
    shuffled = rng.permutation(y)
    found = []
    for j, name in enumerate(column_names(X)):
        if name == inp.groups:
            continue
        series = X.iloc[:, j]
        info = info_of(inp, name, series)
        if info.kind in ("constant", "boolean", "datetime", "text") or 0 < info.n_unique < MIN_ENTITIES:
            continue
        codes, _ = pd.factorize(series.to_numpy())
        present = codes >= 0
        sizes = np.bincount(codes[present])
        if len(sizes) < max(MIN_ENTITIES, MIN_ENTITY_SHARE * present.sum()):
            continue
        if np.median(sizes) < MIN_MEDIAN_GROUP:
            continue
        repeated = sizes[codes[present]] >= 2
        if repeated.sum() < MIN_ROWS:
            continue
        group = codes[present][repeated]
        purity = _purity(group, y[present][repeated], inp.classification)
        chance = _purity(group, shuffled[present][repeated], inp.classification)
        if chance >= 1.0 - 1e-9:
            continue
        normalised = (purity - chance) / (1.0 - chance)
        if normalised >= ENTITY_PURITY:
            found.append(_entity_finding(name, len(sizes), float(np.median(sizes)), normalised))
    return found


def _purity(group: np.ndarray, y: np.ndarray, classification: bool) -> float:
    """How much the group determines the target: the share of rows in their group's majority class, or
    1 - within-group variance / total variance."""
    if classification:
        k = int(y.max()) + 1
        n_groups = int(group.max()) + 1
        table = np.bincount(group * k + y, minlength=n_groups * k).reshape(n_groups, k)
        return float(table.max(axis=1).sum() / len(y))
    centred = y - y.mean()
    total = float((centred**2).sum())
    if total <= 0:
        return 1.0
    sums = np.bincount(group, weights=centred)
    counts = np.bincount(group)
    used = counts > 0
    within = total - float((sums[used] ** 2 / counts[used]).sum())
    return 1.0 - max(within, 0.0) / total


def _entity_finding(name: str, n_values: int, median: float, normalised: float) -> Finding:
    return Finding(
        "MW201",
        "warning",
        (name,),
        f"column {name!r} repeats ({n_values} values, a median of {median:g} rows each) and its value "
        f"almost determines the target (normalised purity {normalised:.2f}), so a random split puts the "
        f"same entity in training and test; pass --groups {name} to keep each entity's rows together",
        normalised,
    )


def duplicate_findings(inp: CheckInput) -> list[Finding]:
    """MW202 findings: test rows whose features equal a training row's, beyond chance.

    Columns unique per row (identifiers, record numbers, timestamps) are ignored, so two records of one
    entity that differ only in their row id count as equal. Chance is measured on a copy of the training
    rows whose columns are shuffled independently: low-cardinality columns coincide there as often as in
    the real rows, continuous ones almost never.

    Parameters
    ----------
    inp : CheckInput

    Returns
    -------
    list of Finding
        Empty without a test set or under a group split.
    """
    if inp.X_test is None or inp.split_kind == "group":
        return []
    train, test = inp.X_train, inp.X_test
    n_train, n_test = len(train), len(test)
    if n_test < MIN_DUPLICATES or n_train < MIN_DUPLICATES:
        return []
    in_test = set(test.columns)
    shared = [c for c in train.columns if c in in_test and str(c) != inp.groups]
    both = pd.concat([train[shared], test[shared]], ignore_index=True)
    hashes = []
    for j, name in enumerate(column_names(both)):
        series = both.iloc[:, j]
        if _unique_per_row(series, info_of(inp, name, series).kind):
            continue
        hashes.append(_column_hash(series))
    if not hashes:
        return []
    rng = np.random.default_rng(inp.seed)
    rows = _combine(hashes)
    shuffled = _combine([h[rng.permutation(n_train)] for h in (h[:n_train] for h in hashes)])
    seen = np.isin(rows[n_train:], rows[:n_train])
    chance = float(np.isin(rows[n_train:], shuffled).mean())
    share = float(seen.mean())
    excess = share - chance
    if excess < DUPLICATE_SHARE or int(seen.sum()) < MIN_DUPLICATES:
        return []
    return [
        Finding(
            "MW202",
            "warning",
            (),
            f"{int(seen.sum())} test rows ({share:.0%}; {chance:.0%} expected by chance) equal a training "
            "row on every feature but the unique-per-row columns, so the test score partly measures "
            "memory; pass --groups with a column that identifies the entity, or drop the duplicated rows",
            excess,
        )
    ]


def _unique_per_row(series: pd.Series, kind: str) -> bool:
    """Whether a column identifies the row rather than describes it (ignored when comparing rows)."""
    if kind == "identifier":
        return True
    present = series.dropna()
    if present.empty:
        return False
    share = present.nunique() / len(present)
    return share >= UNIQUE_ROW_SHARE or (kind == "datetime" and share >= UNIQUE_DATE_SHARE)


_NAN = np.uint64(0x7FF8_0000_0000_0001)


def _column_hash(series: pd.Series) -> np.ndarray:
    """One ``uint64`` per value, equal for equal values (missing values equal too; 1 and 1.0 equal)."""
    dtype = series.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan) + 0.0  # -0.0 becomes 0.0
        bits = values.view(np.uint64).copy()
        bits[np.isnan(values)] = _NAN
        return _mix(bits)
    return pd.util.hash_pandas_object(series.astype(object), index=False).to_numpy(dtype=np.uint64)


def _mix(x: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (MurmurHash3's): spreads every input bit over the output."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51_AFD7_ED55_8CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CE_B9FE_1A85_EC53)
    return x ^ (x >> np.uint64(33))


def _combine(hashes: list[np.ndarray]) -> np.ndarray:
    """One hash per row from its columns' hashes (order matters)."""
    out = np.zeros(len(hashes[0]), dtype=np.uint64)
    for h in hashes:
        out = _mix(out * np.uint64(0x9E37_79B9_7F4A_7C15) + h)
    return out
