"""Paired tests on per-fold cross-validation scores: corrected, naive and Bayesian t-tests, Wilcoxon.

Part of :mod:`modelworks.evaluate.stats`, which explains the correction for overlapping folds and the
orientation of the differences (positive means model A is better).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from modelworks.evaluate._stats_results import TestResult, not_applicable, significance_reading


def paired_differences(
    a_in: Sequence[float], b_in: Sequence[float], greater_is_better: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Return float arrays a, b (NaN pairs dropped), the oriented difference and the number dropped."""
    a = np.asarray(a_in, dtype=float).ravel()
    b = np.asarray(b_in, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    d = a - b if greater_is_better else b - a
    return a, b, d, int((~keep).sum())


def _pair_inputs(a, b, greater_is_better, dropped, **more) -> dict:
    out = {"a": a.tolist(), "b": b.tolist(), "greater_is_better": bool(greater_is_better)}
    if dropped:
        out["dropped_nan_pairs"] = dropped
    out.update(more)
    return out


def _difference_problem(d: np.ndarray, scale: float = 1.0, minimum: int = 2) -> str | None:
    """Why a t-type test cannot apply to the differences ``d``, or ``None`` when it can.

    ``scale`` is the magnitude of the scores: a spread of the differences below ``1e-12 * scale``
    is floating-point noise (e.g. ``0.9 - 0.8`` vs ``0.7 - 0.6``) and counts as zero variance.
    """
    if d.size < minimum:
        return f"fewer than {minimum} folds with scores for both models ({d.size})"
    if np.all(d == 0):
        return "identical scores on every fold"
    if np.ptp(d) <= 1e-12 * max(scale, 1e-300):
        return f"the difference is the same on every fold ({d.mean():+.4g}), so its variance is zero"
    return None


def _scale(a: np.ndarray, b: np.ndarray) -> float:
    return float(max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0), 1e-300))


def corrected_ttest(
    a: Sequence[float],
    b: Sequence[float],
    *,
    test_fraction: float,
    greater_is_better: bool = True,
    alpha: float = 0.05,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """Nadeau & Bengio (2003) corrected resampled t-test on paired per-fold scores.

    With ``d`` the oriented per-fold differences over ``J`` folds (all repeats of a repeated K-fold
    together), the statistic is ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` with
    ``var`` the sample variance (``ddof=1``), referred to a Student t with ``J - 1`` degrees of
    freedom (:data:`scipy.stats.t`). The p-value is two-sided.

    Parameters
    ----------
    a, b : sequence of float
        Per-fold scores of models A and B on the same folds, in the same order. Pairs with a NaN
        are dropped.
    test_fraction : float
        ``n_test / n_train`` of one fold; ``1 / (K - 1)`` for K-fold cross-validation.
    greater_is_better : bool, default True
        Orientation of the score; differences are oriented so that positive means A is better.
    alpha : float, default 0.05
        Significance level for the reading and the ``1 - alpha`` confidence interval.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``effect_size`` is ``mean(d) / sd(d)``; ``interval`` the ``1 - alpha`` confidence interval
        of the mean difference with the corrected standard error. Not applicable with fewer than
        2 folds or zero variance of the differences.
    """
    test = "corrected resampled t-test"
    xa, xb, d, dropped = paired_differences(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, test_fraction=float(test_fraction), alpha=alpha)
    if test_fraction < 0:
        raise ValueError("test_fraction must be non-negative (n_test / n_train)")
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return not_applicable(test, why, names, inputs)
    j = d.size
    mean, var = float(d.mean()), float(d.var(ddof=1))
    se = math.sqrt((1.0 / j + test_fraction) * var)
    t = mean / se
    dof = j - 1
    p = float(2 * stats.t.sf(abs(t), dof))
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
    reading = significance_reading(names, p, mean, alpha)
    return TestResult(
        test=test,
        statistic=float(t),
        p_value=p,
        effect_size=mean / math.sqrt(var),
        interval=(mean - half, mean + half),
        reading=f"{reading}; mean difference {mean:+.4g} over {j} folds.",
        inputs=inputs,
        extra={"mean_difference": mean, "dof": dof, "std_error": se},
    )


def naive_ttest(
    a: Sequence[float],
    b: Sequence[float],
    *,
    greater_is_better: bool = True,
    alpha: float = 0.05,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """Plain paired t-test (:func:`scipy.stats.ttest_rel`), ignoring the overlap of CV folds.

    Kept to show, in simulation, how often it rejects a true null on cross-validated scores; use
    :func:`corrected_ttest` for decisions.

    Parameters
    ----------
    a, b : sequence of float
        Per-fold scores of models A and B on the same folds. Pairs with a NaN are dropped.
    greater_is_better : bool, default True
        Orientation of the score.
    alpha : float, default 0.05
        Significance level for the reading and the confidence interval.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``effect_size`` is ``mean(d) / sd(d)``; ``interval`` the uncorrected confidence interval.
    """
    test = "paired t-test (uncorrected)"
    xa, xb, d, dropped = paired_differences(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, alpha=alpha)
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return not_applicable(test, why, names, inputs)
    first, second = (xa, xb) if greater_is_better else (xb, xa)
    res = stats.ttest_rel(first, second)
    ci = res.confidence_interval(1 - alpha)
    mean = float(d.mean())
    p = float(res.pvalue)
    return TestResult(
        test=test,
        statistic=float(res.statistic),
        p_value=p,
        effect_size=mean / float(d.std(ddof=1)),
        interval=(float(ci.low), float(ci.high)),
        reading=significance_reading(names, p, mean, alpha) + " (uncorrected for overlapping folds).",
        inputs=inputs,
        extra={"mean_difference": mean, "dof": int(d.size - 1)},
    )


def bayesian_correlated_ttest(
    a: Sequence[float],
    b: Sequence[float],
    *,
    test_fraction: float,
    rope: float = 0.01,
    greater_is_better: bool = True,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """Bayesian correlated t-test (Corani & Benavoli, 2015; Benavoli et al., 2017).

    The posterior of the mean oriented difference is a Student t with ``J - 1`` degrees of freedom,
    location ``mean(d)`` and scale ``sqrt((1/J + rho/(1 - rho)) * var(d))``, where
    ``rho = n_test / (n_train + n_test)`` is the correlation between folds (``1/K`` for K-fold), so
    that ``rho / (1 - rho) = n_test / n_train = test_fraction``. This matches ``baycomp``'s
    ``CorrelatedTTest`` (which uses ``rho = 1 / n_folds``). Probabilities come from
    :data:`scipy.stats.t`.

    Parameters
    ----------
    a, b : sequence of float
        Per-fold scores of models A and B on the same folds. Pairs with a NaN are dropped.
    test_fraction : float
        ``n_test / n_train`` of one fold; ``1 / (K - 1)`` for K-fold cross-validation.
    rope : float, default 0.01
        Half-width of the region of practical equivalence, in score units.
    greater_is_better : bool, default True
        Orientation of the score.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``p_value`` is ``None``; ``extra`` holds ``p_a_better`` = P(diff > rope), ``p_equivalent`` =
        P(|diff| <= rope), ``p_b_better`` = P(diff < -rope) and ``rope``; ``interval`` is the 95%
        credible interval of the mean difference; ``effect_size`` is ``mean(d) / sd(d)``.
    """
    test = "Bayesian correlated t-test"
    xa, xb, d, dropped = paired_differences(a, b, greater_is_better)
    if rope < 0:
        raise ValueError("rope must be non-negative")
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, test_fraction=float(test_fraction), rope=rope)
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return not_applicable(test, why, names, inputs, rope=rope)
    j = d.size
    rho = test_fraction / (1.0 + test_fraction)
    mean, var = float(d.mean()), float(d.var(ddof=1))
    scale = math.sqrt((1.0 / j + rho / (1.0 - rho)) * var)
    post = stats.t(df=j - 1, loc=mean, scale=scale)
    p_b = float(post.cdf(-rope))
    p_a = float(post.sf(rope))
    p_eq = max(0.0, 1.0 - p_a - p_b)
    lo, hi = post.interval(0.95)
    x, y = names
    reading = (
        f"P({x} better) = {p_a:.2f}, P(equivalent within ±{rope:g}) = {p_eq:.2f}, P({y} better) = {p_b:.2f}."
    )
    return TestResult(
        test=test,
        statistic=None,
        p_value=None,
        effect_size=mean / math.sqrt(var),
        interval=(float(lo), float(hi)),
        reading=reading,
        inputs=inputs,
        extra={
            "p_a_better": p_a,
            "p_equivalent": p_eq,
            "p_b_better": p_b,
            "rope": rope,
            "posterior": {"df": j - 1, "loc": mean, "scale": scale},
        },
    )


def wilcoxon_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    greater_is_better: bool = True,
    alpha: float = 0.05,
    names: tuple[str, str] = ("A", "B"),
) -> TestResult:
    """Wilcoxon signed-rank test (:func:`scipy.stats.wilcoxon`) on paired scores.

    Zero differences are dropped (``zero_method="wilcox"``). Unlike the t-tests it does not correct
    for overlapping CV folds, so it is best used on independent pairs (e.g. one score per dataset).

    Parameters
    ----------
    a, b : sequence of float
        Paired scores of models A and B. Pairs with a NaN are dropped.
    greater_is_better : bool, default True
        Orientation of the score.
    alpha : float, default 0.05
        Significance level for the reading.
    names : tuple of str, default ("A", "B")
        Model names used in the reading.

    Returns
    -------
    TestResult
        ``effect_size`` is the matched-pairs rank-biserial correlation ``(W+ - W-) / (W+ + W-)``
        (positive means A better); ``interval`` is ``None``. Not applicable when all differences
        are zero or no pair is left.
    """
    test = "Wilcoxon signed-rank test"
    xa, xb, d, dropped = paired_differences(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, alpha=alpha)
    if d.size == 0:
        return not_applicable(test, "no pair with scores for both models", names, inputs)
    if np.all(d == 0):
        return not_applicable(test, "identical scores on every pair", names, inputs)
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    w_plus, w_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.wilcoxon(d)
    p = float(res.pvalue)
    if not math.isfinite(p):
        return not_applicable(test, "scipy could not compute a p-value", names, inputs)
    effect = (w_plus - w_minus) / (w_plus + w_minus)
    return TestResult(
        test=test,
        statistic=float(res.statistic),
        p_value=p,
        effect_size=effect,
        interval=None,
        reading=significance_reading(names, p, effect, alpha) + f"; {nz.size} non-zero differences.",
        inputs=inputs,
        extra={"w_plus": w_plus, "w_minus": w_minus, "n_nonzero": int(nz.size)},
    )
