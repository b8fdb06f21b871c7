"""The profile of a table of many files, computed over all its rows with Dask, partition by partition.

One pass reads every partition once and summarises it (:func:`summarise`); the summaries are merged
in a tree. What it gives is exact: the row count, missing values per column, the count of every level
of a categorical column (so its distinct count and top levels), the target's class counts, and the
minimum, maximum, mean and standard deviation of every numeric column (moments merged with Chan et
al.'s pairwise update, so no precision is lost to a sum of squares). Distinct counts of numeric
columns are exact up to :data:`MAX_VALUES` values and given as "more than" beyond; a categorical
column with more than :data:`MAX_LEVELS` levels (or nearly one per row, like an identifier) is not
counted level by level. Quantiles are Dask's approximate quantiles (each partition's percentiles,
merged), computed beside the pass; the profile says so wherever it shows them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelworks.data.schema import json_safe
from modelworks.data.target import detect_task
from modelworks.distributed._frame import TableFiles, reading
from modelworks.errors import DataError, TargetError

#: Quantiles shown (Dask's approximate quantiles).
QUANTILES = (0.01, 0.25, 0.5, 0.75, 0.99)
#: Levels of a categorical column counted exactly; beyond, the column's levels are not counted.
MAX_LEVELS = 100_000
#: Distinct values of a numeric column counted exactly; beyond, "more than" this.
MAX_VALUES = 10_000
#: A partition of at least this many rows whose column has a level in more than IDENTIFIER_SHARE of
#: them is identifier-like: its levels are not counted.
IDENTIFIER_ROWS, IDENTIFIER_SHARE = 1_000, 0.5
#: Levels of a categorical column kept in the profile (most frequent first).
TOP_LEVELS = 10
#: A partition's target counts are kept for the stratified sample up to this many classes.
MAX_CLASSES = 1_000
#: Columns printed by :meth:`FullProfile.lines` (all are in ``profile_full.json``).
PRINTED_COLUMNS = 15

EXACT = "row count, missing values, level counts and distinct counts of categorical columns, the target's class counts, minimum, maximum, mean and standard deviation"  # noqa: E501
APPROXIMATE = "quantiles (Dask's approximate quantiles: each partition's percentiles, merged)"
DISTINCT = (
    f"exact for categorical columns (up to {MAX_LEVELS:,} levels) and for numeric columns up to "
    f"{MAX_VALUES:,} values; a lower bound beyond"
)


@dataclass
class Moments:
    """Count, mean, sum of squared deviations, minimum and maximum of a column's values."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        if not len(values):
            return cls()
        mean = float(values.mean())
        return cls(
            len(values), mean, float(((values - mean) ** 2).sum()), float(values.min()), float(values.max())
        )

    def merge(self, other: Moments) -> Moments:
        """Both parts' moments (Chan, Golub & LeVeque 1979)."""
        if not other.n:
            return self
        if not self.n:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return Moments(n, mean, m2, min(self.low, other.low), max(self.high, other.high))

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else math.nan


@dataclass
class Summary:
    """What one partition (or several, merged) says about each column."""

    rows: int
    missing: dict[str, int]
    moments: dict[str, Moments] = field(default_factory=dict)
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: Column to its level counts (object index), or None when not counted (too many levels).
    levels: dict[str, pd.Series | None] = field(default_factory=dict)
    #: Numeric column to its distinct values, or None when more than MAX_VALUES.
    values: dict[str, np.ndarray | None] = field(default_factory=dict)


def column_kinds(meta: pd.DataFrame) -> dict[str, str]:
    """Column name to ``"numeric"``, ``"datetime"`` or ``"categorical"`` (text, booleans, categories)."""
    kinds = {}
    for name, dtype in meta.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kinds[str(name)] = "categorical"
        elif pd.api.types.is_numeric_dtype(dtype):
            kinds[str(name)] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kinds[str(name)] = "datetime"
        else:
            kinds[str(name)] = "categorical"
    return kinds


def _counts(col: pd.Series) -> pd.Series | None:
    counts = col.value_counts(dropna=True)
    rows = len(col)
    if len(counts) > MAX_LEVELS or (rows >= IDENTIFIER_ROWS and len(counts) > IDENTIFIER_SHARE * rows):
        return None
    return pd.Series(counts.to_numpy(dtype=np.int64), index=pd.Index(counts.index, dtype=object))


def summarise(part: pd.DataFrame, kinds: dict[str, str], target: str | None = None) -> Summary:
    """The :class:`Summary` of one partition."""
    summary = Summary(len(part), {c: int(n) for c, n in part.isna().sum().items()})
    for name, kind in kinds.items():
        col = part[name]
        if kind == "numeric":
            values = col.to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[~np.isnan(values)]
            summary.moments[name] = Moments.of(values)
            distinct = pd.unique(values)
            summary.values[name] = distinct if len(distinct) <= MAX_VALUES else None
        elif kind == "datetime":
            present = col.dropna()
            summary.ranges[name] = (present.min(), present.max()) if len(present) else (None, None)
        if kind == "categorical" or name == target:
            summary.levels[name] = _counts(col)
    return summary


def merge(parts: list[Summary]) -> Summary:
    """One :class:`Summary` of ``parts``."""
    out = parts[0]
    for s in parts[1:]:
        out = Summary(
            out.rows + s.rows,
            {c: out.missing[c] + s.missing[c] for c in out.missing},
            {c: m.merge(s.moments[c]) for c, m in out.moments.items()},
            {c: _range(r, s.ranges[c]) for c, r in out.ranges.items()},
            {c: _add_levels(v, s.levels[c]) for c, v in out.levels.items()},
            {c: _union(v, s.values[c]) for c, v in out.values.items()},
        )
    return out


def _range(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    lows = [x for x in (a[0], b[0]) if x is not None]
    highs = [x for x in (a[1], b[1]) if x is not None]
    return (min(lows) if lows else None, max(highs) if highs else None)


def _add_levels(a: pd.Series | None, b: pd.Series | None) -> pd.Series | None:
    if a is None or b is None:
        return None
    both = a.add(b, fill_value=0).astype(np.int64)
    return both if len(both) <= MAX_LEVELS else None


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return None
    both = pd.unique(np.concatenate([a, b]))
    return both if len(both) <= MAX_VALUES else None


@dataclass
class PartCount:
    """Rows of one partition and, by class, of its target (for the stratified sample)."""

    rows: int
    #: Rows whose target is known.
    present: int
    #: Target label to rows; None when the target has too many values to be counted.
    classes: pd.Series | None


def _part_count(summary: Summary, target: str | None) -> PartCount:
    if target is None:
        return PartCount(summary.rows, summary.rows, None)
    counts = summary.levels.get(target)
    kept = counts if counts is not None and len(counts) <= MAX_CLASSES else None
    return PartCount(summary.rows, summary.rows - summary.missing[target], kept)


def _tree(parts: list[Any], delayed: Callable, fan_in: int = 8) -> Any:
    """A tree of delayed :func:`merge` calls over ``parts`` (a few summaries in memory at a time)."""
    while len(parts) > 1:
        parts = [delayed(merge)(parts[i : i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


@dataclass
class FullProfile:
    """A table profiled over all its rows (see the module's description).

    Attributes
    ----------
    source : str
        The folder or glob, and its files (``"50 Parquet files of folder 'data'"``).
    partitions : int
        Partitions Dask read.
    n_rows : int
        Rows in all the files.
    columns : list of dict
        One per column: ``name``, ``dtype``, ``kind``, ``missing``, ``missing_share``, ``distinct``
        (exact, or the lower bound ``distinct_more_than``), and by kind ``min``, ``max``, ``mean``,
        ``std``, ``quantiles`` (approximate) or ``top`` (the most frequent levels with exact counts).
    target : dict or None
        ``name``, ``task``, ``reason``, ``missing``, and ``classes`` (label, count, share; exact) for
        classification.
    seconds : float
        Wall time of the pass.
    parts : list of PartCount
        Rows and class counts of each partition (used to draw the sample; not saved).
    """

    source: str
    partitions: int
    n_rows: int
    columns: list[dict]
    target: dict | None
    seconds: float
    parts: list[PartCount] = field(default_factory=list, repr=False)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def column(self, name: str) -> dict:
        """The entry of column ``name``."""
        return next(c for c in self.columns if c["name"] == name)

    def to_dict(self) -> dict:
        """The profile as JSON-ready data (``profile_full.json``), saying what is exact and what is
        approximate."""
        return json_safe(
            {
                "source": self.source,
                "partitions": self.partitions,
                "n_rows": self.n_rows,
                "n_columns": self.n_columns,
                "seconds": round(self.seconds, 3),
                "exact": EXACT,
                "approximate": APPROXIMATE,
                "distinct_counts": DISTINCT,
                "target": self.target,
                "columns": self.columns,
            }
        )

    def lines(self) -> list[str]:
        """What ``modelworks run`` prints: the pass, the target's classes, one line per column."""
        out = [
            f"Profiled all {self.n_rows:,} rows × {self.n_columns} columns of {self.source} with Dask in "
            f"{self.seconds:.1f}s: exact counts, missing values, levels, min, max, mean and std; "
            "approximate quantiles (≈)"
        ]
        t = self.target
        if t is not None and t.get("classes"):
            shown = ", ".join(f"{c['label']!r} {c['count']:,} ({c['share']:.1%})" for c in t["classes"][:6])
            more = f" and {len(t['classes']) - 6} more" if len(t["classes"]) > 6 else ""
            out.append(f"  target {t['name']!r} ({t['task']}): {shown}{more}")
        elif t is not None:
            out.append(f"  target {t['name']!r} ({t['task']})")
        width = max(len(c["name"]) for c in self.columns[:PRINTED_COLUMNS])
        for c in self.columns[:PRINTED_COLUMNS]:
            out.append(f"  {c['name']:<{width}}  {describe_column(c)}")
        if self.n_columns > PRINTED_COLUMNS:
            out.append(f"  … {self.n_columns - PRINTED_COLUMNS} more columns in profile_full.json")
        return out


def distinct_text(c: dict) -> str:
    """``"8 distinct"``, or ``"more than 10,000 distinct"``."""
    if c.get("distinct") is not None:
        return f"{c['distinct']:,} distinct"
    if c.get("distinct_more_than") is not None:
        return f"more than {c['distinct_more_than']:,} distinct"
    return "levels not counted"


def describe_column(c: dict) -> str:
    """One line about a profiled column (approximate figures marked ≈)."""
    missing = f"{c['missing']:,} missing ({c['missing_share']:.1%})" if c["missing"] else "no missing"
    head = f"{c['kind']}, {missing}, {distinct_text(c)}"
    if c["kind"] == "numeric" and c.get("mean") is not None:
        q = c.get("quantiles") or {}
        return (
            f"{head}; min {_g(c['min'])}, q25 ≈{_g(q.get('0.25'))}, median ≈{_g(q.get('0.5'))}, "
            f"q75 ≈{_g(q.get('0.75'))}, max {_g(c['max'])}; mean {_g(c['mean'])}, std {_g(c['std'])}"
        )
    if c["kind"] == "datetime":
        return f"{head}; from {c.get('min')} to {c.get('max')}"
    top = c.get("top") or []
    if top:
        return f"{head}; " + ", ".join(f"{t['value']} {t['count']:,}" for t in top[:4])
    return head


def _g(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _native(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def detect(target: str, counts: pd.Series | None, dtype: Any, task: str) -> tuple[str, str]:
    """The task of ``target`` from its exact value counts over all rows (``None``: too many values
    to count), as :func:`~modelworks.data.target.detect_task` decides it for a table in memory."""
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if counts is None:
        if not numeric:
            raise TargetError(
                f"target column {target!r} has too many distinct labels (more than {MAX_LEVELS:,}, or "
                "nearly one per row) to be classes; choose another column"
            )
        if task in ("binary", "multiclass"):
            raise TargetError(
                f"target column {target!r} has too many distinct values for --task {task}; use --task "
                "regression or auto"
            )
        return (
            "regression",
            "regression requested" if task == "regression" else "numeric target with many values",
        )
    values = pd.Series(counts.index.to_numpy(), name=target)
    if numeric:
        values = values.astype(np.float64)
    return detect_task(values, task)


def profile_full(
    frame: Any,
    table: TableFiles,
    target: str | None = None,
    *,
    task: str = "auto",
    compute: Callable[..., tuple] | None = None,
) -> FullProfile:
    """Profile every row of ``frame`` (see the module's description).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The table, as :func:`~modelworks.distributed._frame.read_frame` gives it.
    table : TableFiles
        Its files (named in messages and in the profile).
    target : str, optional
        The column to predict (present in ``frame``); without it, no task and no class counts.
    task : {"auto", "binary", "multiclass", "regression"}
        The task asked for; detected from the target's values over all rows when ``"auto"``.
    compute : callable, optional
        ``compute(*collections) -> tuple`` running the graphs (a cluster's client, say); Dask's
        threaded scheduler by default.

    Returns
    -------
    FullProfile

    Raises
    ------
    TargetError
        For a target that is entirely missing, single-valued or unusable for ``task``.
    DataError
        When a file cannot be read, or the files hold no rows.
    """
    import dask

    started = time.perf_counter()
    compute = compute or (lambda *objs: dask.compute(*objs, scheduler="threads"))
    meta = frame._meta
    kinds = column_kinds(meta)
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    summaries = [dask.delayed(summarise)(p, kinds, target) for p in frame.to_delayed()]
    heads = [dask.delayed(_part_count)(s, target) for s in summaries]
    total = _tree(summaries, dask.delayed)
    with reading(table):
        heads, total = compute(heads, total)
        # a second pass, over the numeric columns only: Dask's graphs of delayed summaries and of
        # dataframe expressions do not share their reads when computed together
        (q,) = compute(frame[numeric].quantile(list(QUANTILES))) if numeric else (None,)
    if not total.rows:
        raise DataError(f"{table.label} has no rows; add at least one data row")
    info = None
    if target is not None:
        task, reason = detect(target, total.levels.get(target), meta.dtypes[target], task)
        info = _target(target, task, reason, total)
    columns = [_column(name, kind, meta, total, q) for name, kind in kinds.items()]
    return FullProfile(
        table.describe(), frame.npartitions, total.rows, columns, info, time.perf_counter() - started, heads
    )


def _column(name: str, kind: str, meta: pd.DataFrame, total: Summary, q: pd.DataFrame | None) -> dict:
    missing = total.missing[name]
    out: dict[str, Any] = {
        "name": name,
        "dtype": str(meta.dtypes[name]),
        "kind": kind,
        "missing": missing,
        "missing_share": missing / total.rows,
    }
    if kind == "numeric":
        m, values = total.moments[name], total.values[name]
        out["distinct"] = None if values is None else len(values)
        if values is None:
            out["distinct_more_than"] = MAX_VALUES
        if m.n:
            out.update(min=m.low, max=m.high, mean=m.mean, std=m.std)
            if q is not None:
                out["quantiles"] = {str(p): _native(q.loc[p, name]) for p in QUANTILES}
        return out
    if kind == "datetime":
        low, high = total.ranges[name]
        out.update(min=None if low is None else str(low), max=None if high is None else str(high))
        return out
    counts = total.levels.get(name)
    out["distinct"] = None if counts is None else len(counts)
    if counts is not None:
        top = counts.sort_values(ascending=False, kind="stable").head(TOP_LEVELS)
        out["top"] = [{"value": _native(v), "count": int(n)} for v, n in top.items()]
    return out


def _target(name: str, task: str, reason: str, total: Summary) -> dict:
    info: dict[str, Any] = {"name": name, "task": task, "reason": reason, "missing": total.missing[name]}
    counts = total.levels.get(name)
    if task != "regression" and counts is not None:
        present = int(counts.sum())
        ordered = counts.sort_values(ascending=False, kind="stable")
        info["classes"] = [
            {"label": _native(v), "count": int(n), "share": int(n) / present} for v, n in ordered.items()
        ]
    return info
