"""Choose the decision threshold of a binary classifier on its positive-class probability.

A row is predicted positive when ``proba_pos >= threshold``. Without costs the threshold maximises the
F1 score of the positive class; with costs ``(c_fp, c_fn)`` it minimises the average cost per row,
``(FP * c_fp + FN * c_fn) / n``. Both are computed from predictions the model did not train on
(out-of-fold predictions), otherwise the threshold is tuned to the training fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelworks.errors import ConfigError, DataError

__all__ = ["ThresholdChoice", "choose_threshold", "parse_costs"]

#: The threshold every comparison is made against.
DEFAULT_THRESHOLD = 0.5
_COSTS_HELP = 'give costs as "FP,FN": two non-negative numbers, not both zero, e.g. "1,5"'


@dataclass
class ThresholdChoice:
    """The decision threshold chosen by :func:`choose_threshold`.

    Attributes
    ----------
    threshold : float
        Threshold on the positive-class probability; ``proba >= threshold`` is predicted positive.
    objective : str
        ``"f1"`` (maximised) or ``"cost"`` (average cost per row, minimised).
    value : float
        The objective at ``threshold``.
    default_value : float
        The objective at the default threshold 0.5.
    costs : tuple of float or None
        ``(false positive cost, false negative cost)`` for the ``"cost"`` objective.
    reading : str
        One sentence saying what was chosen and how it compares with 0.5.
    """

    threshold: float
    objective: str
    value: float
    default_value: float
    costs: tuple[float, float] | None
    reading: str

    def to_dict(self) -> dict:
        """The choice as a JSON-serialisable dict."""
        return {
            "threshold": float(self.threshold),
            "objective": self.objective,
            "value": float(self.value),
            "default_value": float(self.default_value),
            "costs": list(self.costs) if self.costs is not None else None,
            "reading": self.reading,
        }


def parse_costs(text: str) -> tuple[float, float]:
    """Parse ``"FP,FN"`` (for example ``"1,5"``) into ``(false positive cost, false negative cost)``.

    Raises
    ------
    ConfigError
        Not two comma-separated numbers, a negative or non-finite cost, or both costs zero.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        raise ConfigError(f"costs {text!r} should have 2 values, got {len(parts)}; {_COSTS_HELP}")
    try:
        values = (float(parts[0]), float(parts[1]))
    except ValueError:
        raise ConfigError(f"costs {text!r} are not numbers; {_COSTS_HELP}") from None
    return _check_costs(values, repr(text))


def _check_costs(costs: Sequence[float], shown: str | None = None) -> tuple[float, float]:
    shown = shown or repr(tuple(costs))
    if len(costs) != 2:
        raise ConfigError(f"costs {shown} should have 2 values, got {len(costs)}; {_COSTS_HELP}")
    try:
        c_fp, c_fn = float(costs[0]), float(costs[1])
    except (TypeError, ValueError):
        raise ConfigError(f"costs {shown} are not numbers; {_COSTS_HELP}") from None
    if not (math.isfinite(c_fp) and math.isfinite(c_fn)):
        raise ConfigError(f"costs {shown} must be finite; {_COSTS_HELP}")
    if c_fp < 0 or c_fn < 0:
        raise ConfigError(f"costs {shown} must not be negative; {_COSTS_HELP}")
    if c_fp == 0 and c_fn == 0:
        raise ConfigError(f"costs {shown} are both zero, so every threshold is as good; {_COSTS_HELP}")
    return c_fp, c_fn


def choose_threshold(
    y_true: Any,
    proba_pos: Any,
    pos_label: Any,
    *,
    costs: tuple[float, float] | None = None,
    source: str = "out-of-fold predictions",
) -> ThresholdChoice:
    """Find the threshold on ``proba_pos`` that maximises F1, or minimises the average cost.

    Parameters
    ----------
    y_true : array-like
        True labels.
    proba_pos : array-like of float
        Predicted probability (any score works) of ``pos_label``, one per row, ideally out-of-fold.
    pos_label : object
        The positive class; it must occur in ``y_true``.
    costs : (float, float), optional
        ``(false positive cost, false negative cost)``; when given the objective is the average
        cost per row ``(FP * c_fp + FN * c_fn) / n`` (minimised) instead of F1 (maximised).
    source : str
        What the predictions are, for :attr:`ThresholdChoice.reading`.

    Returns
    -------
    ThresholdChoice

    Notes
    -----
    As a function of the threshold, F1 and the cost are step functions: they change only where
    the threshold crosses one of the scores and are flat in between. A continuous optimiser such
    as :func:`scipy.optimize.minimize_scalar` assumes a smooth (or at least unimodal) objective;
    on a step function its zero gradient and flat stretches stop it at whichever plateau it starts
    on, and several local optima are common, so its answer is arbitrary. A grid search (for
    example :func:`scipy.optimize.brute`) can step over narrow plateaus. The search is therefore
    exact and exhaustive over the only thresholds that can differ: one per gap between sorted
    distinct scores (the midpoint), one that labels every row positive (the lowest score), one
    that labels none positive (above the highest score) and 0.5 itself. The scores are sorted
    once and the confusion counts of every candidate come from cumulative sums, so 100 000 rows
    take a few milliseconds. Among candidates with the best value the one closest to 0.5 wins,
    so the default is kept unless another threshold is strictly better.

    Raises
    ------
    DataError
        Lengths differ, there are no rows, missing labels or non-finite probabilities, or
        ``pos_label`` never occurs in ``y_true``.
    ConfigError
        Invalid ``costs``.
    """
    y = _labels(y_true)
    p = np.asarray(proba_pos, dtype="float64").reshape(-1)
    if len(y) != len(p):
        raise DataError(f"y_true has {len(y)} rows but proba_pos has {len(p)}; pass one probability per row")
    if len(y) == 0:
        raise DataError("no rows to choose a threshold on; pass at least one prediction")
    if not np.all(np.isfinite(p)):
        raise DataError("proba_pos contains NaN or infinite values; pass finite probabilities")
    positive = _is_positive(y, pos_label)
    if not positive.any():
        raise DataError(
            f"pos_label {pos_label!r} never occurs in y_true; pass one of the labels "
            f"{sorted(map(str, pd.unique(y)))[:5]}"
        )
    cost_pair = _check_costs(costs) if costs is not None else None

    # sort once; for a threshold t the predicted positives are the rows with score >= t
    order = np.argsort(p, kind="stable")
    scores = p[order]
    pos_sorted = positive[order].astype("int64")
    cum_pos = np.concatenate(([0], np.cumsum(pos_sorted)))  # positives among the i lowest scores
    n = len(p)
    n_pos = int(cum_pos[-1])

    distinct = np.unique(scores)
    above = np.nextafter(distinct[-1], np.inf)
    if distinct[-1] < 1.0:
        above = (distinct[-1] + 1.0) / 2.0
    candidates = np.concatenate(
        ([distinct[0]], (distinct[:-1] + distinct[1:]) / 2.0, [above], [DEFAULT_THRESHOLD])
    )
    below = np.searchsorted(scores, candidates, side="left")  # rows predicted negative
    tp = n_pos - cum_pos[below]
    fp = (n - below) - tp
    fn = n_pos - tp
    if cost_pair is None:
        denom = 2 * tp + fp + fn
        values = np.divide(2.0 * tp, denom, out=np.zeros(len(candidates)), where=denom > 0)
        best = values.max()
        tied = values >= best  # exact: equal fractions of integers divide to the same float
    else:
        values = (fp * cost_pair[0] + fn * cost_pair[1]) / n
        best = values.min()
        tied = np.isclose(values, best, rtol=1e-12, atol=0.0)
    distance = np.where(tied, np.abs(candidates - DEFAULT_THRESHOLD), np.inf)
    pick = int(np.argmin(distance))
    threshold = float(candidates[pick])
    value = float(values[pick])
    default_value = float(values[-1])
    return ThresholdChoice(
        threshold=threshold,
        objective="f1" if cost_pair is None else "cost",
        value=value,
        default_value=default_value,
        costs=cost_pair,
        reading=_reading(threshold, value, default_value, cost_pair, source),
    )


def _labels(y_true: Any) -> np.ndarray:
    y = np.asarray(y_true.to_numpy() if isinstance(y_true, pd.Series | pd.Index) else y_true).reshape(-1)
    if (y.dtype.kind in "fc" or y.dtype == object) and pd.isna(y).any():
        raise DataError("y_true contains missing labels; drop those rows first")
    return y


def _is_positive(y: np.ndarray, pos_label: object) -> np.ndarray:
    try:
        positive = np.asarray(y == pos_label, dtype=bool)
        if positive.shape == y.shape:
            return positive
    except (TypeError, ValueError):
        pass
    return np.array([_same(v, pos_label) for v in y], dtype=bool)


def _same(value: object, label: object) -> bool:
    try:
        return bool(value == label)
    except (TypeError, ValueError):
        return False


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _reading(
    threshold: float, value: float, default_value: float, costs: tuple[float, float] | None, source: str
) -> str:
    at = f"threshold {_num(threshold)}"
    compare = f"({_num(value)} vs {_num(default_value)} at 0.5)"
    if costs is None:
        if threshold == DEFAULT_THRESHOLD:
            return f"the default threshold 0.5 maximises F1 on {source} ({_num(value)})"
        return f"{at} maximises F1 on {source} {compare}"
    what = f"the average cost per row (FP cost {_num(costs[0])}, FN cost {_num(costs[1])})"
    if threshold == DEFAULT_THRESHOLD:
        return f"the default threshold 0.5 minimises {what} on {source} ({_num(value)})"
    return f"{at} minimises {what} on {source} {compare}"
