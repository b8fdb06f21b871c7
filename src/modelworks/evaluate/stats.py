"""Significance tests for comparing models, built on :mod:`scipy.stats`.

Models are cross-validated on the *same* folds, so their per-fold scores are paired. The folds overlap
in their training parts, which makes the per-fold differences correlated; a plain paired t-test then
underestimates the variance and rejects too often. :func:`corrected_ttest` (Nadeau & Bengio, 2003) and
:func:`bayesian_correlated_ttest` (Corani & Benavoli, 2015; Benavoli et al., 2017) correct for this.
:func:`naive_ttest` is kept for comparison only.

Every test returns a :class:`TestResult` whose ``reading`` is one plain-English sentence and whose
``inputs`` hold everything needed to recompute it. A test that cannot apply (too few folds, identical
scores, zero variance of the differences) returns ``applicable=False`` with the reason in ``reading``
instead of raising.

Differences are always oriented so that a positive value means model A is better: ``a - b`` when
greater is better, ``b - a`` when smaller is better (errors, losses).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from modelworks.data.schema import json_safe
from modelworks.evaluate.resampling import BCA_MAX_ROWS

__all__ = [
    "FriedmanResult",
    "TestResult",
    "bayesian_correlated_ttest",
    "bootstrap_ci",
    "corrected_ttest",
    "friedman_nemenyi",
    "holm",
    "mcnemar_test",
    "naive_ttest",
    "paired_bootstrap",
    "tie_group",
    "wilcoxon_test",
]

#: Below this many discordant pairs McNemar's test uses the exact binomial distribution.
MCNEMAR_EXACT_BELOW = 25


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class TestResult:
    """The outcome of one significance test between two models.

    Attributes
    ----------
    test : str
        Name of the test, e.g. ``"corrected resampled t-test"``.
    statistic : float or None
        The test statistic (t, W, chi-square, ...), ``None`` when not applicable.
    p_value : float or None
        Two-sided p-value (for the Bayesian test, ``None``: see ``extra``).
    effect_size : float or None
        Standardized or raw effect; each test documents which.
    interval : tuple of float or None
        Interval of the difference A - B, oriented so that positive means A is better.
    reading : str
        One plain-English sentence; when ``applicable`` is False it says why.
    inputs : dict
        Everything needed to recompute the result (scores, fractions, alpha, seed, ...).
    applicable : bool
        False when the test cannot apply to these inputs.
    extra : dict
        Test-specific additions, e.g. Bayesian posterior probabilities.
    """

    __test__ = False  # not a pytest test class despite the name

    test: str
    statistic: float | None
    p_value: float | None
    effect_size: float | None
    interval: tuple[float, float] | None
    reading: str
    inputs: dict
    applicable: bool = True
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-safe dictionary (numpy -> Python, NaN/inf -> ``None``).

        Returns
        -------
        dict
            The fields of the result, ready for :func:`json.dumps`.
        """
        return json_safe(asdict(self))


@dataclass
class FriedmanResult:
    """The outcome of a Friedman test with Nemenyi post-hoc comparisons.

    Attributes
    ----------
    statistic : float or None
        Friedman chi-square statistic (scipy's, corrected for ties).
    p_value : float or None
        p-value of the Friedman chi-square test.
    average_ranks : dict of str to float
        Average rank of every model over the rows; rank 1 is best.
    critical_difference : float or None
        Nemenyi critical difference: two models whose average ranks differ by more are
        significantly different at ``alpha``.
    pairwise_p : dict of str to dict of str to float
        Nemenyi p-value for every pair of models (symmetric, 1.0 on the diagonal).
    reading : str
        One plain-English sentence; when ``applicable`` is False it says why.
    inputs : dict
        The scores (by model), ``greater_is_better`` and ``alpha``.
    applicable : bool
        False when the test cannot apply (fewer than 3 models or 2 rows, all tied).
    n_rows : int
        Number of complete rows (datasets or runs) used.
    n_models : int
        Number of models compared.
    alpha : float
        Significance level.
    extra : dict
        Iman-Davenport F statistic and p-value (``iman_davenport_f``, ``iman_davenport_p``), the
        Nemenyi ``q_alpha`` and the significantly different pairs.
    test : str
        ``"Friedman + Nemenyi"``.
    """

    __test__ = False

    statistic: float | None
    p_value: float | None
    average_ranks: dict[str, float]
    critical_difference: float | None
    pairwise_p: dict[str, dict[str, float]]
    reading: str
    inputs: dict
    applicable: bool = True
    n_rows: int = 0
    n_models: int = 0
    alpha: float = 0.05
    extra: dict = field(default_factory=dict)
    test: str = "Friedman + Nemenyi"

    def to_dict(self) -> dict:
        """Return a JSON-safe dictionary (numpy -> Python, NaN/inf -> ``None``).

        Returns
        -------
        dict
            The fields of the result, ready for :func:`json.dumps`.
        """
        return json_safe(asdict(self))


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _fmt_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _paired(
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


def _not_applicable(test: str, why: str, names, inputs: dict, **extra) -> TestResult:
    return TestResult(
        test=test,
        statistic=None,
        p_value=None,
        effect_size=None,
        interval=None,
        reading=f"{test} not applicable to {names[0]} vs {names[1]}: {why}.",
        inputs=inputs,
        applicable=False,
        extra=dict(extra),
    )


def _significance_reading(names, p: float, diff: float, alpha: float) -> str:
    a, b = names
    if p < alpha:
        better, worse = (a, b) if diff > 0 else (b, a)
        return f"{better} is significantly better than {worse} ({_fmt_p(p)})"
    return f"{a} is not significantly different from {b} ({_fmt_p(p)})"


# --------------------------------------------------------------------------------------------------
# Tests on per-fold scores
# --------------------------------------------------------------------------------------------------


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
    xa, xb, d, dropped = _paired(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, test_fraction=float(test_fraction), alpha=alpha)
    if test_fraction < 0:
        raise ValueError("test_fraction must be non-negative (n_test / n_train)")
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return _not_applicable(test, why, names, inputs)
    j = d.size
    mean, var = float(d.mean()), float(d.var(ddof=1))
    se = math.sqrt((1.0 / j + test_fraction) * var)
    t = mean / se
    dof = j - 1
    p = float(2 * stats.t.sf(abs(t), dof))
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
    reading = _significance_reading(names, p, mean, alpha)
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
    xa, xb, d, dropped = _paired(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, alpha=alpha)
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return _not_applicable(test, why, names, inputs)
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
        reading=_significance_reading(names, p, mean, alpha) + " (uncorrected for overlapping folds).",
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
    xa, xb, d, dropped = _paired(a, b, greater_is_better)
    if rope < 0:
        raise ValueError("rope must be non-negative")
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, test_fraction=float(test_fraction), rope=rope)
    why = _difference_problem(d, _scale(xa, xb))
    if why:
        return _not_applicable(test, why, names, inputs, rope=rope)
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
    xa, xb, d, dropped = _paired(a, b, greater_is_better)
    inputs = _pair_inputs(xa, xb, greater_is_better, dropped, alpha=alpha)
    if d.size == 0:
        return _not_applicable(test, "no pair with scores for both models", names, inputs)
    if np.all(d == 0):
        return _not_applicable(test, "identical scores on every pair", names, inputs)
    nz = d[d != 0]
    ranks = stats.rankdata(np.abs(nz))
    w_plus, w_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.wilcoxon(d)
    p = float(res.pvalue)
    if not math.isfinite(p):
        return _not_applicable(test, "scipy could not compute a p-value", names, inputs)
    effect = (w_plus - w_minus) / (w_plus + w_minus)
    return TestResult(
        test=test,
        statistic=float(res.statistic),
        p_value=p,
        effect_size=effect,
        interval=None,
        reading=_significance_reading(names, p, effect, alpha) + f"; {nz.size} non-zero differences.",
        inputs=inputs,
        extra={"w_plus": w_plus, "w_minus": w_minus, "n_nonzero": int(nz.size)},
    )


# --------------------------------------------------------------------------------------------------
# Multiple comparisons
# --------------------------------------------------------------------------------------------------


def holm(p_values: Mapping[str, float], alpha: float = 0.05) -> dict[str, dict]:
    """Holm (1979) step-down correction of several p-values.

    Sorting the ``m`` p-values ascending, the i-th (from 0) is adjusted to
    ``max_{j <= i} min(1, (m - j) * p_(j))``; a hypothesis is rejected when its adjusted p-value is
    below ``alpha``, which is the same as stopping at the first ``p_(i) >= alpha / (m - i)``.
    NaN p-values are left out of ``m`` and returned with ``p_holm`` NaN and ``reject`` False.

    Parameters
    ----------
    p_values : mapping of str to float
        Unadjusted p-values by comparison name.
    alpha : float, default 0.05
        Family-wise error rate.

    Returns
    -------
    dict of str to dict
        For each key: ``{"p": raw, "p_holm": adjusted, "reject": bool}``.
    """
    keys = list(p_values)
    raw = {k: float(p_values[k]) if p_values[k] is not None else math.nan for k in keys}
    valid = sorted((k for k in keys if math.isfinite(raw[k])), key=lambda k: raw[k])
    m = len(valid)
    out: dict[str, dict] = {}
    running = 0.0
    for i, k in enumerate(valid):
        running = max(running, min(1.0, (m - i) * raw[k]))
        out[k] = {"p": raw[k], "p_holm": running, "reject": bool(running < alpha)}
    for k in keys:
        if k not in out:
            out[k] = {"p": math.nan, "p_holm": math.nan, "reject": False}
    return {k: out[k] for k in keys}


def friedman_nemenyi(
    scores: pd.DataFrame, *, greater_is_better: bool = True, alpha: float = 0.05
) -> FriedmanResult:
    """Friedman test over several models with Nemenyi post-hoc comparisons (Demšar, 2006).

    Rows are datasets (or independent runs), columns are models; rows with a NaN are dropped.
    Models are ranked within each row (rank 1 = best, ties share the average rank). The Friedman
    chi-square and its p-value come from :func:`scipy.stats.friedmanchisquare` (tie-corrected).
    The Nemenyi critical difference is ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` with
    ``q_alpha = studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)`` (2.569 for k = 4 at 0.05).
    The pairwise p-value of models i, j is
    ``studentized_range.sf(|R_i - R_j| / sqrt(k (k + 1) / (6 N)) * sqrt(2), k, inf)``, so that
    ``p < alpha`` exactly when ``|R_i - R_j| > CD``.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per dataset/run, one column per model.
    greater_is_better : bool, default True
        Orientation of the score.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    FriedmanResult
        Not applicable (``applicable=False``) with fewer than 3 models, fewer than 2 complete rows,
        or when every model ties on every row.
    """
    df = scores.astype(float)
    n_before = len(df)
    df = df.dropna(axis=0, how="any")
    models = [str(c) for c in df.columns]
    k, n = len(models), len(df)
    inputs = {
        "scores": {m: df[c].tolist() for m, c in zip(models, df.columns, strict=True)},
        "index": [str(i) for i in df.index],
        "greater_is_better": bool(greater_is_better),
        "alpha": alpha,
    }
    if n_before > n:
        inputs["dropped_rows_with_nan"] = n_before - n

    def _na(why: str, ranks: dict | None = None) -> FriedmanResult:
        return FriedmanResult(
            statistic=None,
            p_value=None,
            average_ranks=ranks or {},
            critical_difference=None,
            pairwise_p={},
            reading=f"Friedman test not applicable: {why}.",
            inputs=inputs,
            applicable=False,
            n_rows=n,
            n_models=k,
            alpha=alpha,
        )

    if k < 3:
        return _na(f"needs at least 3 models, got {k}")
    if n < 2:
        return _na(f"needs at least 2 complete rows (datasets or runs), got {n}")
    values = df.to_numpy()
    ranks = stats.rankdata(-values if greater_is_better else values, axis=1)
    avg = ranks.mean(axis=0)
    average_ranks = {m: float(r) for m, r in zip(models, avg, strict=True)}
    if np.all(values == values[:, :1]):
        return _na("all models have identical scores on every row", average_ranks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.friedmanchisquare(*(values[:, i] for i in range(k)))
    chi2_stat, p = float(res.statistic), float(res.pvalue)
    if not math.isfinite(chi2_stat):
        return _na("scipy could not compute the statistic", average_ranks)

    se = math.sqrt(k * (k + 1) / (6.0 * n))
    q_alpha = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    cd = q_alpha * se
    pairwise: dict[str, dict[str, float]] = {m: {} for m in models}
    significant = []
    for i, mi in enumerate(models):
        pairwise[mi][mi] = 1.0
        for jx in range(i + 1, k):
            mj = models[jx]
            z = abs(avg[i] - avg[jx]) / se
            pij = float(min(1.0, stats.studentized_range.sf(z * math.sqrt(2), k, np.inf)))
            pairwise[mi][mj] = pairwise[mj][mi] = pij
            if pij < alpha:
                better, worse = (mi, mj) if avg[i] < avg[jx] else (mj, mi)
                significant.append([better, worse])

    denom = n * (k - 1) - chi2_stat
    ff = (n - 1) * chi2_stat / denom if denom > 0 else math.inf
    ff_p = float(stats.f.sf(ff, k - 1, (k - 1) * (n - 1))) if math.isfinite(ff) else 0.0

    best = min(average_ranks, key=lambda m: average_ranks[m])
    if p < alpha:
        if significant:
            pairs = "; ".join(f"{x} > {y}" for x, y in significant)
            detail = f"Nemenyi (CD = {cd:.2f}) separates: {pairs}"
        else:
            detail = f"but no pair differs by more than the Nemenyi CD = {cd:.2f}"
        reading = (
            f"The {k} models differ significantly over {n} rows (Friedman {_fmt_p(p)}); "
            f"{best} has the best average rank ({average_ranks[best]:.2f}); {detail}."
        )
    else:
        reading = (
            f"No significant difference among the {k} models over {n} rows (Friedman {_fmt_p(p)}); "
            f"{best} has the best average rank ({average_ranks[best]:.2f}), Nemenyi CD = {cd:.2f}."
        )
    return FriedmanResult(
        statistic=chi2_stat,
        p_value=p,
        average_ranks=average_ranks,
        critical_difference=cd,
        pairwise_p=pairwise,
        reading=reading,
        inputs=inputs,
        applicable=True,
        n_rows=n,
        n_models=k,
        alpha=alpha,
        extra={
            "q_alpha": q_alpha,
            "iman_davenport_f": ff,
            "iman_davenport_p": ff_p,
            "significant_pairs": significant,
        },
    )


def tie_group(
    fold_scores: Mapping[str, Sequence[float]],
    best: str,
    *,
    test_fraction: float,
    greater_is_better: bool,
    alpha: float = 0.05,
) -> dict[str, TestResult]:
    """Compare ``best`` with every other model and say which are statistically tied with it.

    Each comparison is a :func:`corrected_ttest` of ``best`` (as A) against the model (as B); the
    p-values of the applicable comparisons are Holm-corrected together (:func:`holm`). A model is
    *tied* when its Holm-adjusted p-value is ``>= alpha`` (not significantly worse than ``best``).
    When the t-test cannot apply: identical scores or fewer than 2 folds count as tied; a difference
    that is the same non-zero value on every fold counts as tied only if it favours the other model
    (it is then not worse than ``best``).

    Parameters
    ----------
    fold_scores : mapping of str to sequence of float
        Per-fold scores of every model, on the same folds in the same order.
    best : str
        The reference (best) model; must be a key of ``fold_scores``.
    test_fraction : float
        ``n_test / n_train`` of one fold; ``1 / (K - 1)`` for K-fold.
    greater_is_better : bool
        Orientation of the score.
    alpha : float, default 0.05
        Family-wise significance level.

    Returns
    -------
    dict of str to TestResult
        One entry per other model, with ``extra["p_holm"]`` (``None`` when not applicable) and
        ``extra["tied"]`` (bool).
    """
    if best not in fold_scores:
        raise KeyError(f"best model {best!r} is not among the fold scores")
    results: dict[str, TestResult] = {}
    for name, scores in fold_scores.items():
        if name == best:
            continue
        results[name] = corrected_ttest(
            fold_scores[best],
            scores,
            test_fraction=test_fraction,
            greater_is_better=greater_is_better,
            alpha=alpha,
            names=(best, name),
        )
    adjusted = holm(
        {n: float(r.p_value) for n, r in results.items() if r.applicable and r.p_value is not None},
        alpha=alpha,
    )
    for name, res in results.items():
        if res.applicable:
            p_holm = adjusted[name]["p_holm"]
            tied = bool(p_holm >= alpha)
            res.extra["p_holm"] = p_holm
            verdict = "tied with" if tied else "significantly worse than"
            res.reading = (
                f"{name} is {verdict} {best} (Holm-adjusted {_fmt_p(p_holm)} over "
                f"{len(adjusted)} comparisons; raw {_fmt_p(float(res.p_value or 0.0))})."
            )
        else:
            _, _, d, _ = _paired(fold_scores[best], fold_scores[name], greater_is_better)
            tied = bool(d.size < 2 or np.all(d == 0) or d.mean() <= 0)
            res.extra["p_holm"] = None
            res.reading = res.reading.rstrip(".") + f"; counted as {'tied' if tied else 'not tied'}."
        res.extra["tied"] = tied
    return results


# --------------------------------------------------------------------------------------------------
# Tests on one held-out test set
# --------------------------------------------------------------------------------------------------


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
        return _not_applicable(
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
        reading=_significance_reading(names, p, effect, alpha)
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
        return _not_applicable(test, f"fewer than 2 rows ({n})", names, inputs)
    if pa.shape == pb.shape and np.array_equal(pa, pb):
        return _not_applicable(test, "identical predictions", names, inputs)
    ma, mb = _safe_metric(metric, y, pa), _safe_metric(metric, y, pb)
    observed = sign * (ma - mb)
    inputs.update({"metric_a": ma, "metric_b": mb})
    if not math.isfinite(observed):
        return _not_applicable(test, "the metric could not be computed on the full data", names, inputs)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        yi = y[idx]
        diffs[r] = sign * (_safe_metric(metric, yi, pa[idx]) - _safe_metric(metric, yi, pb[idx]))
    diffs = diffs[np.isfinite(diffs)]
    inputs["valid_resamples"] = int(diffs.size)
    if diffs.size < 2:
        return _not_applicable(test, "the metric failed on almost every resample", names, inputs)
    if np.all(diffs == 0):
        return _not_applicable(test, "identical scores on every resample", names, inputs)
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    lo, hi = (float(v) for v in np.percentile(diffs, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
    return TestResult(
        test=test,
        statistic=observed,
        p_value=p,
        effect_size=observed,
        interval=(lo, hi),
        reading=_significance_reading(names, p, observed, alpha)
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
