"""What the checks share: the rows they look at, each column as numbers or bins, and the out-of-fold
skill of a single binned column.

The single-column predictor is deliberately simple: a column is cut into bins (quantiles for numbers
and dates, the most frequent levels for categories, missing values in a bin of their own), each bin
predicts from the training folds' rows in it, and the held-out rows are scored. It needs no model
fitting, so every column of a wide or long table is scored in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelworks.checks._finding import CheckInput
from modelworks.data.kinds import ColumnInfo, infer_column, parse_dates, parse_numbers

#: Folds of the single-column predictor: three keep two thirds of the rows to learn each bin from (a
#: near copy's bins are learnt from hundreds of rows) at a third of the cost of five.
FOLDS = 3
#: Bins per column at most: 64 quantile bins describe a monotone or smooth relation to within ~1.5% of
#: the rows (the share of one bin), which is finer than the 0.90 skill the leakage rules ask for.
MAX_BINS = 64
#: Rows per bin at least (fewer bins on a small table): a bin learnt from fewer rows than this in the
#: training folds predicts mostly noise.
ROWS_PER_BIN = 20
#: Pseudo-rows that pull a bin's mean toward the overall mean (regression) or smooth a bin's share of
#: each class (classification): one row's worth, enough to keep an almost empty bin from a wild guess.
SMOOTHING = 1.0


def column_names(X: pd.DataFrame) -> list[str]:
    """The columns of ``X`` as strings (the names findings carry)."""
    return [str(c) for c in X.columns]


def info_of(inp: CheckInput, name: str, series: pd.Series) -> ColumnInfo:
    """The column's kind as the run inferred it, or inferred here when the run did not."""
    info = inp.kinds.get(name)
    return info if info is not None else infer_column(series.rename(name))


def row_positions(X: pd.DataFrame) -> np.ndarray:
    """Each row's position in the file: the index when it is a unique integer index (a split keeps the
    file's row numbers there), else the row's position in ``X``."""
    index = X.index
    if pd.api.types.is_integer_dtype(index.dtype) and index.is_unique:
        return index.to_numpy(dtype="float64")
    return np.arange(len(X), dtype="float64")


def date_values(series: pd.Series) -> np.ndarray:
    """A date column as float nanoseconds (NaN where missing or unparsable); strings are parsed once per
    distinct value."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = parse_dates(series)
    else:
        codes, levels = pd.factorize(series.astype(object))
        if len(levels) == 0:
            return np.full(len(series), np.nan)
        parsed = _parse_levels(pd.Series(np.asarray(levels, dtype=object)))
        parsed = np.append(parsed, np.datetime64("NaT", "ns"))
        dates = pd.Series(parsed[codes])  # code -1 (missing) takes the trailing NaT
    values = dates.to_numpy(dtype="datetime64[ns]")
    out = values.astype("int64").astype("float64")
    out[np.isnat(values)] = np.nan
    return out


def _parse_levels(levels: pd.Series) -> np.ndarray:
    """Distinct date strings as ``datetime64[ns]``: first in the format pandas infers from them (one
    vectorised pass), then :func:`parse_dates` (element by element, any format) for those that fail."""
    import warnings

    text = levels.astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fast = pd.to_datetime(text, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            fast = pd.Series(pd.NaT, index=levels.index, dtype="datetime64[ns, UTC]")
    out = fast.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    failed = np.isnat(out)
    if failed.any():
        out[failed] = parse_dates(levels[failed]).to_numpy(dtype="datetime64[ns]")
    return out


def numeric_values(series: pd.Series, info: ColumnInfo) -> np.ndarray | None:
    """A column as floats with NaN for missing values: numbers, dates (nanoseconds), booleans (0/1),
    identifiers (their value, or their rank among the sorted strings); ``None`` for other kinds."""
    kind = info.kind
    if kind == "numeric":
        if pd.api.types.is_bool_dtype(series.dtype):
            return series.to_numpy(dtype="float64", na_value=np.nan)
        if pd.api.types.is_numeric_dtype(series.dtype):
            return series.to_numpy(dtype="float64", na_value=np.nan)
        return parse_numbers(series).to_numpy(dtype="float64", na_value=np.nan)
    if kind == "datetime":
        return date_values(series)
    if kind in ("boolean", "identifier"):
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
            return series.to_numpy(dtype="float64", na_value=np.nan)
        codes, _ = pd.factorize(series.astype(object).map(_text), sort=True)
        out = codes.astype("float64")
        out[codes < 0] = np.nan
        return out
    return None


def _text(v: object) -> object:
    """A value as text for sorting mixed types together (missing stays missing)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return np.nan
    return str(v)


def category_codes(series: pd.Series) -> np.ndarray:
    """A column's levels as integer codes (-1 for missing), by first appearance."""
    codes, _ = pd.factorize(series.astype(object).map(_text))
    return codes


def bin_count(n_rows: int) -> int:
    """Bins for a column of ``n_rows`` rows: :data:`MAX_BINS` at most, :data:`ROWS_PER_BIN` rows each."""
    return int(min(MAX_BINS, max(2, n_rows // ROWS_PER_BIN)))


def bin_numbers(values: np.ndarray, n_bins: int) -> tuple[np.ndarray, int]:
    """Quantile bins of a float column; missing values in a bin of their own. Returns the bin of every
    row and the number of bins."""
    finite = np.isfinite(values)
    present = values[finite]
    if present.size:
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    else:
        edges = np.empty(0)
    bins = np.full(len(values), len(edges) + 1, dtype=np.int64)
    bins[finite] = np.searchsorted(edges, present, side="right")
    return bins, len(edges) + 2


def bin_codes(codes: np.ndarray, n_bins: int) -> tuple[np.ndarray, int]:
    """Bins of a categorical column: its ``n_bins - 1`` most frequent levels, the others pooled, missing
    values (code -1) in a bin of their own."""
    present = codes >= 0
    counts = np.bincount(codes[present]) if present.any() else np.zeros(0, dtype=np.int64)
    top = np.argsort(-counts, kind="stable")[: max(1, n_bins - 1)]
    lookup = np.full(max(len(counts), 1), len(top), dtype=np.int64)
    lookup[top] = np.arange(len(top))
    bins = np.full(len(codes), len(top) + 1, dtype=np.int64)
    bins[present] = lookup[codes[present]]
    return bins, len(top) + 2


def fold_ids(
    y: np.ndarray, classification: bool, rng: np.random.Generator, groups: np.ndarray | None = None
) -> np.ndarray:
    """A fold (0 to :data:`FOLDS` - 1) for every row: stratified for classes, whole groups when
    ``groups`` (integer codes) are given, else at random."""
    n = len(y)
    if groups is not None:
        n_groups = int(groups.max()) + 1 if n else 0
        of_group = rng.permutation(n_groups) % FOLDS
        out = np.zeros(n, dtype=np.int64)
        known = groups >= 0
        out[known] = of_group[groups[known]]
        out[~known] = rng.integers(0, FOLDS, int((~known).sum()))
        return out
    order = rng.permutation(n)
    if classification:
        order = order[np.argsort(y[order], kind="stable")]
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n) % FOLDS
    return out


@dataclass
class Target:
    """The target as the single-column predictor scores it."""

    y: np.ndarray
    classification: bool
    folds: np.ndarray
    n_classes: int = 0
    present: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def build(cls, y: np.ndarray, classification: bool, folds: np.ndarray) -> Target:
        if classification:
            n_classes = int(y.max()) + 1 if len(y) else 0
            present = np.bincount(y, minlength=n_classes) > 0
            return cls(y, True, folds, n_classes, present)
        return cls(y, False, folds)


def skill(bins: np.ndarray, n_bins: int, target: Target) -> float:
    """Out-of-fold skill of one binned column, in [0, 1]: 0 is chance, 1 a perfect prediction.

    Classification: balanced accuracy rescaled so that chance is 0, ``(BA - 1/K) / (1 - 1/K)``; each bin
    predicts the class whose rows fall in it most often relative to the class's size (``argmax P(bin |
    class)``, the rule that maximises balanced accuracy), so a rare class counts as much as a common one.
    Regression: out-of-fold R² of the bins' means, clipped at 0.
    """
    y, folds = target.y, target.folds
    n = len(y)
    if n < 2 * FOLDS:
        return 0.0
    if target.classification:
        return _class_skill(bins, n_bins, target)
    sums = np.bincount(bins, weights=y, minlength=n_bins)
    counts = np.bincount(bins, minlength=n_bins).astype("float64")
    pred = np.empty(n, dtype="float64")
    for f in range(FOLDS):
        held = folds == f
        if not held.any():
            continue
        s = sums - np.bincount(bins[held], weights=y[held], minlength=n_bins)
        c = counts - np.bincount(bins[held], minlength=n_bins)
        mean = s.sum() / c.sum() if c.sum() else float(y.mean())
        pred[held] = ((s + SMOOTHING * mean) / (c + SMOOTHING))[bins[held]]
    total = float(((y - y.mean()) ** 2).sum())
    if total <= 0:
        return 0.0
    return float(np.clip(1.0 - ((y - pred) ** 2).sum() / total, 0.0, 1.0))


def _class_skill(bins: np.ndarray, n_bins: int, target: Target) -> float:
    y, folds, k = target.y, target.folds, target.n_classes
    n_present = int(target.present.sum())
    if n_present < 2:
        return 0.0
    cells = bins * k + y
    total = np.bincount(cells, minlength=n_bins * k).reshape(n_bins, k)
    pred = np.empty(len(y), dtype=np.int64)
    for f in range(FOLDS):
        held = folds == f
        if not held.any():
            continue
        train = total - np.bincount(cells[held], minlength=n_bins * k).reshape(n_bins, k)
        sizes = train.sum(axis=0)
        score = (train + SMOOTHING / 2) / (sizes + SMOOTHING / 2 * n_bins)
        score[:, sizes == 0] = -np.inf  # a class absent from the training folds is never predicted
        pred[held] = score.argmax(axis=1)[bins[held]]
    hits = np.bincount(y[pred == y], minlength=k)[target.present]
    sizes = np.bincount(y, minlength=k)[target.present]
    balanced = float(np.mean(hits / sizes))
    chance = 1.0 / n_present
    return float(np.clip((balanced - chance) / (1.0 - chance), 0.0, 1.0))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ of two float arrays over the rows where both are finite (0 when undefined)."""
    from scipy.stats import rankdata

    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3:
        return 0.0
    ra, rb = rankdata(a[both]), rankdata(b[both])
    sa, sb = ra.std(), rb.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(((ra - ra.mean()) * (rb - rb.mean())).mean() / (sa * sb))


def target_rows(inp: CheckInput) -> tuple[pd.DataFrame, np.ndarray]:
    """The training rows that have a target, and the target as class codes or floats."""
    y = inp.y_train
    known = y.notna().to_numpy()
    X = inp.X_train if known.all() else inp.X_train.iloc[np.flatnonzero(known)]
    if inp.classification:
        codes = pd.factorize(y[known].astype(object), sort=True)[0]
        return X, codes.astype(np.int64)
    values = pd.to_numeric(y[known], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(values)
    if not finite.all():
        return X.iloc[np.flatnonzero(finite)], values[finite]
    return X, values


def sample_rows(n: int, limit: int, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted positions of a seeded sample of ``limit`` rows out of ``n``, or ``None`` to keep all."""
    if n <= limit:
        return None
    return np.sort(rng.choice(n, size=limit, replace=False))
