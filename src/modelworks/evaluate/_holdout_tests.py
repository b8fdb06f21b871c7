"""Tests on one held-out test set: McNemar's test, the paired bootstrap and the bootstrap interval.

Part of :mod:`modelworks.evaluate.stats`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from modelworks.evaluate._stats_results import TestResult, not_applicable, significance_reading
from modelworks.evaluate.resampling import BCA_MAX_ROWS

#: Below this many discordant pairs McNemar's test uses the exact binomial distribution.
MCNEMAR_EXACT_BELOW = 25


def mcnemar_test(
    y_true: Sequence[Any],
    pred_a: Sequence[Any],
    pred_b: Sequence[Any],
    *,
    alpha: float = 0.05,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """McNemar's test on the predicted labels of two classifiers on the same test rows.

    With ``b`` the rows A gets right and B wrong and ``c`` the reverse, the test uses the exact
    binomial distribution (:func:`scipy.stats.binomtest`, ``b`` out of ``b + c`` at 0.5, two-sided)
    when ``b + c < 25`` and otherwise the chi-square statistic with continuity correction
    ``(|b - c| - 1)^2 / (b + c)`` on 1 degree of freedom (:data:`scipy.stats.chi2`).

    Parameters
    ----------
    y_true, pred_a, pred_b : sequence
        True labels and the labels predicted by A and B.
    alpha : float, default 0.05
        Significance level for the reading.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``effect_size`` is ``(b - c) / n`` (the difference in accuracy, positive = A better);
        ``interval`` is ``None``. Not applicable when ``b + c == 0``.
    """
    y, pa, pb = (np.asarray(v).ravel() for v in (y_true, pred_a, pred_b))
    if not (y.shape == pa.shape == pb.shape):
        raise ValueError("y_true, pred_a and pred_b must have the same length")
    ok_a, ok_b = pa == y, pb == y
    b = int(np.sum(ok_a & ~ok_b))
    c = int(np.sum(~ok_a & ok_b))
    n = int(y.size)
    exact = b + c < MCNEMAR_EXACT_BELOW
    test = "McNemar test (exact binomial)" if exact else "McNemar test (chi-square, continuity-corrected)"
    inputs = {"b_a_right_b_wrong": b, "c_a_wrong_b_right": c, "n": n, "alpha": alpha}
    if b + c == 0:
        return not_applicable(
            test, "the two models make exactly the same errors (no discordant rows)", names, inputs
        )
    if exact:
        stat = float(b)
        p = float(stats.binomtest(b, b + c, 0.5).pvalue)
    else:
        stat = (abs(b - c) - 1) ** 2 / (b + c)
        p = float(stats.chi2.sf(stat, 1))
    effect = (b - c) / n
    return TestResult(
        test=test,
        statistic=stat,
        p_value=min(1.0, p),
        effect_size=effect,
        interval=None,
        reading=significance_reading(names, p, effect, alpha)
        + f"; {names[0]} alone right on {b} rows, {names[1]} alone right on {c}.",
        inputs=inputs,
    )


def _safe_metric(metric: Callable, y, pred) -> float:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(metric(y, pred))
    except (ValueError, ZeroDivisionError, IndexError, FloatingPointError):
        return math.nan


def paired_bootstrap(
    y_true: Sequence[Any],
    pred_a: Any,
    pred_b: Any,
    metric: Callable[[Any, Any], float],
    *,
    greater_is_better: bool = True,
    n_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """Paired bootstrap of the difference in a metric between two models on the same test rows.

    Rows are resampled with replacement (``numpy.random.default_rng(seed)``), the same rows for
    both models, and ``metric(y, pred_a) - metric(y, pred_b)`` (oriented: positive = A better) is
    recomputed on each resample; resamples where the metric fails (e.g. one class only) are
    dropped. The p-value is the two-sided bootstrap share crossing zero:
    ``p = min(1, 2 * min(P*(diff <= 0), P*(diff >= 0)))`` over the resampled differences, i.e. the
    smallest level at which the percentile interval excludes zero (not an exact null distribution).

    Parameters
    ----------
    y_true : sequence
        True targets.
    pred_a, pred_b : array-like
        Predictions of A and B, 1-D (labels/values) or 2-D (class probabilities), one row per row
        of ``y_true``.
    metric : callable
        ``metric(y_true, pred) -> float``.
    greater_is_better : bool, default True
        Orientation of the metric.
    n_resamples : int, default 2000
        Number of bootstrap resamples.
    seed : int, default 0
        Seed of the random generator.
    alpha : float, default 0.05
        Significance level; the interval is the ``1 - alpha`` percentile interval.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``statistic`` and ``effect_size`` are the observed oriented difference; ``interval`` the
        percentile interval of the difference. Not applicable with fewer than 2 rows, when the
        predictions are identical or the metric fails on the full data.
    """
    test = "paired bootstrap"
    y = np.asarray(y_true)
    pa, pb = np.asarray(pred_a), np.asarray(pred_b)
    if not (len(y) == len(pa) == len(pb)):
        raise ValueError("y_true, pred_a and pred_b must have the same number of rows")
    n = len(y)
    sign = 1.0 if greater_is_better else -1.0
    inputs: dict[str, Any] = {
        "n": n,
        "metric": getattr(metric, "__name__", repr(metric)),
        "greater_is_better": bool(greater_is_better),
        "n_resamples": int(n_resamples),
        "seed": seed,
        "alpha": alpha,
    }
    if n < 2:
        return not_applicable(test, f"fewer than 2 rows ({n})", names, inputs)
    if pa.shape == pb.shape and np.array_equal(pa, pb):
        return not_applicable(test, "identical predictions", names, inputs)
    ma, mb = _safe_metric(metric, y, pa), _safe_metric(metric, y, pb)
    observed = sign * (ma - mb)
    inputs.update({"metric_a": ma, "metric_b": mb})
    if not math.isfinite(observed):
        return not_applicable(test, "the metric could not be computed on the full data", names, inputs)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        yi = y[idx]
        diffs[r] = sign * (_safe_metric(metric, yi, pa[idx]) - _safe_metric(metric, yi, pb[idx]))
    diffs = diffs[np.isfinite(diffs)]
    inputs["valid_resamples"] = int(diffs.size)
    if diffs.size < 2:
        return not_applicable(test, "the metric failed on almost every resample", names, inputs)
    if np.all(diffs == 0):
        return not_applicable(test, "identical scores on every resample", names, inputs)
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    lo, hi = (float(v) for v in np.percentile(diffs, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
    return TestResult(
        test=test,
        statistic=observed,
        p_value=p,
        effect_size=observed,
        interval=(lo, hi),
        reading=significance_reading(names, p, observed, alpha)
        + f"; difference {observed:+.4g} ({100 * (1 - alpha):.0f}% interval {lo:+.4g} to {hi:+.4g}).",
        inputs=inputs,
        extra={"bootstrap_sd": float(diffs.std(ddof=1))},
    )


def bootstrap_ci(
    y_true: Sequence[Any],
    pred: Any,
    metric: Callable[[Any, Any], float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap confidence interval of a metric on one test set (:func:`scipy.stats.bootstrap`).

    Row indices are resampled (so ``pred`` may be 1-D labels/values or 2-D probabilities and the
    pairing with ``y_true`` is kept). BCa is tried first (up to ``BCA_MAX_ROWS`` rows; beyond, its
    jackknife, one metric evaluation per row, costs too much and the percentile method is used);
    when it fails or degenerates (NaN bounds, e.g. because some resamples had a single class and the
    metric was undefined) the percentile interval of the valid resamples is returned instead.

    Parameters
    ----------
    y_true : sequence
        True targets.
    pred : array-like
        Predictions, one row per row of ``y_true``.
    metric : callable
        ``metric(y_true, pred) -> float``.
    confidence : float, default 0.95
        Confidence level.
    n_resamples : int, default 2000
        Number of bootstrap resamples.
    seed : int, default 0
        Seed of the random generator.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when fewer than 2 rows or the metric never computes.
    """
    y = np.asarray(y_true)
    p = np.asarray(pred)
    if len(y) != len(p):
        raise ValueError("y_true and pred must have the same number of rows")
    n = len(y)
    if n < 2:
        return (math.nan, math.nan)

    def statistic(idx):
        idx = np.asarray(idx, dtype=int)
        return _safe_metric(metric, y[idx], p[idx])

    idx = np.arange(n)
    res = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = stats.bootstrap(
                (idx,),
                statistic,
                vectorized=False,
                n_resamples=n_resamples,
                confidence_level=confidence,
                # BCa's jackknife costs one metric evaluation per row: percentile beyond that
                method="BCa" if n <= BCA_MAX_ROWS else "percentile",
                rng=np.random.default_rng(seed),
            )
            lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
            if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
                return (lo, hi)
        except (ValueError, FloatingPointError, ZeroDivisionError):
            res = None
    if res is not None:
        dist = np.asarray(res.bootstrap_distribution, dtype=float)
    else:
        rng = np.random.default_rng(seed)
        dist = np.array([statistic(rng.integers(0, n, size=n)) for _ in range(n_resamples)])
    dist = dist[np.isfinite(dist)]
    if dist.size == 0:
        return (math.nan, math.nan)
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(dist, [tail, 100 - tail])
    return (float(lo), float(hi))
