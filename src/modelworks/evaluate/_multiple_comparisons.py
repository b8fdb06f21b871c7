"""Comparisons of several models: Holm's correction, Friedman + Nemenyi, and the tie group of the best.

Part of :mod:`modelworks.evaluate.stats`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from modelworks.evaluate._paired_tests import corrected_ttest, paired_differences
from modelworks.evaluate._stats_results import FriedmanResult, TestResult, fmt_p


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
            f"The {k} models differ significantly over {n} rows (Friedman {fmt_p(p)}); "
            f"{best} has the best average rank ({average_ranks[best]:.2f}); {detail}."
        )
    else:
        reading = (
            f"No significant difference among the {k} models over {n} rows (Friedman {fmt_p(p)}); "
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
                f"{name} is {verdict} {best} (Holm-adjusted {fmt_p(p_holm)} over "
                f"{len(adjusted)} comparisons; raw {fmt_p(float(res.p_value or 0.0))})."
            )
        else:
            _, _, d, _ = paired_differences(fold_scores[best], fold_scores[name], greater_is_better)
            tied = bool(d.size < 2 or np.all(d == 0) or d.mean() <= 0)
            res.extra["p_holm"] = None
            res.reading = res.reading.rstrip(".") + f"; counted as {'tied' if tied else 'not tied'}."
        res.extra["tied"] = tied
    return results
