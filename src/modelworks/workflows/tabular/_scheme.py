"""How a table run splits its rows: at random (stratified for classification), by the groups of a
column (``--groups``), or by time (``--time-column``); the test set and the folds follow the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelworks.data.kinds import parse_dates, parse_numbers
from modelworks.errors import ConfigError, DataError
from modelworks.search.splits import Folds, cv_folds, holdout, merge_groups, time_holdout
from modelworks.settings import RunSettings


def named_column(df: pd.DataFrame, name: str, option: str, target: str) -> str:
    """``name`` as a column of ``df`` (not the target), or a one-sentence refusal naming the option."""
    if name == target:
        raise ConfigError(f"{option} {name} is the target; give another column")
    if name not in df.columns:
        shown = ", ".join(repr(str(c)) for c in list(df.columns)[:12])
        more = ", …" if df.shape[1] > 12 else ""
        raise ConfigError(f"{option} {name}: no such column; the table has {shown}{more}")
    return name


def row_times(values: pd.Series) -> tuple[np.ndarray, bool]:
    """Each row's time as a number (nanoseconds for dates), for ordering, and whether they are dates;
    refused with the fix when a value is missing or is neither a date nor a number."""
    name = str(values.name)
    if values.isna().any():
        raise DataError(
            f"--time-column {name} is missing on {int(values.isna().sum())} row(s); a time split needs a "
            "time on every row: fill them in or drop those rows"
        )
    if pd.api.types.is_bool_dtype(values):
        raise DataError(
            f"--time-column {name} holds true/false values, not times; give a date or number column"
        )
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype="float64"), False
    if pd.api.types.is_datetime64_any_dtype(values):
        return _nanoseconds(parse_dates(values)), True
    numbers = parse_numbers(values.astype("string"))
    if numbers.notna().all():
        return numbers.to_numpy(dtype="float64"), False
    dates = parse_dates(values)
    if dates.isna().any():
        bad = values[dates.isna()].iloc[0]
        raise DataError(
            f"--time-column {name} holds {bad!r}, neither a date nor a number; give a column of dates "
            "(2024-01-31) or numbers"
        )
    return _nanoseconds(dates), True


def _nanoseconds(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")


@dataclass
class Scheme:
    """The rule every split of a run follows.

    Attributes
    ----------
    kind : {"random", "stratified", "group", "time"}
    groups : ndarray or None
        Group of each row (the ``--groups`` column joined with identical rows); ``None`` when no
        row shares a group.
    times : ndarray or None
        Each row's time (``--time-column``).
    column : str or None
        The ``--groups`` or ``--time-column`` column.
    gap : int
        Distinct times left out between the past and what is validated on.
    dates : bool
        Whether ``times`` are dates (nanoseconds) rather than plain numbers.
    test_times : ndarray or None
        The test set's times, once split.
    """

    kind: str
    groups: np.ndarray | None
    times: np.ndarray | None = None
    column: str | None = None
    gap: int = 0
    dates: bool = False
    test_times: np.ndarray | None = None

    def holdout(
        self, y: pd.Series, test_size: float, seed: int, stratify: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The training part and the test set, by this rule."""
        if self.times is not None:
            return time_holdout(self.times, test_size, self.gap)
        return holdout(y, self.groups, test_size, seed, stratify)

    def folds(
        self, y: pd.Series, rows: np.ndarray, cv: int, repeats: int, seed: int, stratify: bool
    ) -> Folds:
        """Cross-validation folds over ``rows`` (indices into the table), by this rule."""
        groups = None if self.groups is None else self.groups[rows]
        times = None if self.times is None else self.times[rows]
        return cv_folds(y, groups, cv, repeats, seed, stratify, times=times, gap=self.gap)


def scheme_of(
    df: pd.DataFrame, target: str, identical: np.ndarray | None, settings: RunSettings, classification: bool
) -> Scheme:
    """The split rule the settings ask for, on ``df`` (rows with a target); ``identical`` groups
    identical rows (:func:`~modelworks.search.splits.row_groups`)."""
    if settings.time_column is not None:
        column = named_column(df, settings.time_column, "--time-column", target)
        times, dates = row_times(df[column])
        return Scheme("time", identical, times, column, settings.time_gap, dates)
    if settings.groups is not None:
        column = named_column(df, settings.groups, "--groups", target)
        codes = pd.factorize(df[column])[0]
        # a row without a group is an entity of its own
        missing = codes < 0
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
        groups = merge_groups(codes, identical)
        return Scheme("group", groups, None, column)
    return Scheme("stratified" if classification else "random", identical)


def describe(scheme: Scheme, train: np.ndarray, test: np.ndarray, stratified: bool) -> dict:
    """The ``"split"`` entry of ``metrics.json``: the rule and what it gave."""
    out: dict = {"kind": scheme.kind}
    if scheme.kind in ("random", "stratified"):
        out["repeated_rows_grouped"] = scheme.groups is not None
    if scheme.kind == "group":
        assert scheme.groups is not None
        out |= {
            "column": scheme.column,
            "groups": int(len(np.unique(scheme.groups))),
            "train_groups": int(len(np.unique(scheme.groups[train]))),
            "test_groups": int(len(np.unique(scheme.groups[test]))),
            "stratified": stratified,
        }
    if scheme.kind == "time":
        assert scheme.times is not None
        out |= {
            "column": scheme.column,
            "gap": scheme.gap,
            "train_until": _as_time(scheme.times[train].max(), scheme),
            "test_from": _as_time(scheme.times[test].min(), scheme),
            "test_until": _as_time(scheme.times[test].max(), scheme),
        }
    return out


def _as_time(value: float, scheme: Scheme) -> str | float:
    """A time as the user wrote it: an ISO date for a date column, else the number."""
    return pd.Timestamp(int(value)).isoformat() if scheme.dates else float(value)


#: The test set of a time split is scored in this many periods of about equal rows (fewer when it has
#: fewer distinct times): enough to see a trend, each period large enough to be scored.
PERIODS = 5


def period_scores(scheme: Scheme, metric_of_weights, n_test: int) -> list[dict]:
    """The test metric in consecutive periods of a time split's test set (``[]`` for other splits).

    ``metric_of_weights`` maps row weights ``(B, n)`` to scores (see
    :func:`modelworks.evaluate.resampling.weighted_metric`).
    """
    if scheme.test_times is None or n_test < 2 * PERIODS:
        return []
    values, unit_of_row = np.unique(scheme.test_times, return_inverse=True)
    k = min(PERIODS, len(values))
    edges = np.array_split(np.arange(len(values)), k)
    weights = np.zeros((k, n_test))
    for i, units in enumerate(edges):
        weights[i, np.isin(unit_of_row.ravel(), units)] = 1.0
    scores = metric_of_weights(weights)
    return [
        {
            "from": _as_time(values[units[0]], scheme),
            "until": _as_time(values[units[-1]], scheme),
            "rows": int(weights[i].sum()),
            "score": None if not np.isfinite(scores[i]) else float(scores[i]),
        }
        for i, units in enumerate(edges)
    ]
