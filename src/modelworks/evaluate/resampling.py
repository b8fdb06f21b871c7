"""Metrics over many bootstrap resamples at once, on plain NumPy.

A resample of ``n`` test rows is a vector of counts (how often each row was drawn), and every metric
of :mod:`modelworks.evaluate.metrics` is a weighted sum over rows, so ``B`` resamples are one
``(B, n)`` weight matrix and a few matrix products. Calling scikit-learn once per resample costs
milliseconds of input validation each time (thousands of calls per interval); this module computes the
same numbers (checked against scikit-learn to 1e-12 in the tests) in one pass. scikit-learn stays the
reference and scores every single evaluation; this module serves only the resampling loops.

The public face is :func:`bootstrap_intervals` (95% intervals of several metrics from the same
resamples, through :func:`scipy.stats.bootstrap`) and :func:`resampled_scores` (the metrics on given
weight matrices).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse, stats

#: Above this many rows intervals use the percentile method instead of BCa (whose jackknife costs one
#: resample per row).
BCA_MAX_ROWS = 1000
#: Resampled rows held in memory at once (weights are float64: 8 bytes each).
_BATCH_CELLS = 2_000_000

WeightedMetric = Callable[[np.ndarray], np.ndarray]


def counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """Weights ``(B, n)`` of ``B`` resamples given as row indices ``(B, m)``: how often each row was drawn."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.ndim == 1:
        idx = idx[None, :]
    b = idx.shape[0]
    flat = (np.arange(b, dtype=np.int64)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray, zero: float = 0.0) -> np.ndarray:
    """``num / den`` with ``zero`` where ``den`` is 0 (scikit-learn's ``zero_division``)."""
    out = np.full(np.shape(num), zero, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _mean(values: np.ndarray) -> WeightedMetric:
    values = np.asarray(values, dtype=np.float64)
    return lambda w: (w @ values) / w.sum(axis=1)


def _binary_auc(truth: np.ndarray, score: np.ndarray) -> WeightedMetric:
    """ROC AUC as the Mann–Whitney U statistic with weights: ties count one half.

    Rows are grouped by equal score once; each resample then needs the weight of positives and of
    negatives per group (a sparse product) and a cumulative sum.
    """
    _, group = np.unique(score, return_inverse=True)
    rows = np.arange(len(score))
    shape = (len(score), int(group.max()) + 1)
    pos = sparse.csr_matrix((truth.astype(np.float64), (rows, group)), shape=shape)
    neg = sparse.csr_matrix(((~truth).astype(np.float64), (rows, group)), shape=shape)

    def auc(w: np.ndarray) -> np.ndarray:
        wp, wn = np.asarray((pos.T @ w.T).T), np.asarray((neg.T @ w.T).T)
        below = np.cumsum(wn, axis=1) - wn
        u = (wp * (below + 0.5 * wn)).sum(axis=1)
        total = wp.sum(axis=1) * wn.sum(axis=1)
        return np.where(total > 0, u / np.where(total > 0, total, 1.0), np.nan)

    return auc


def _multiclass_auc(codes: np.ndarray, proba: np.ndarray) -> WeightedMetric:
    """One-vs-rest macro ROC AUC over the classes present in each resample, probabilities
    renormalised over those classes (as :func:`modelworks.evaluate.metrics` defines it)."""
    k = proba.shape[1]
    onehot = np.eye(k, dtype=np.float64)[codes]
    cache: dict[bytes, list[WeightedMetric]] = {}

    def per_class(present: np.ndarray) -> list[WeightedMetric]:
        key = present.tobytes()
        if key not in cache:
            p = proba[:, present]
            p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-15, None)
            cols = np.flatnonzero(present)
            if len(cols) == 2:  # two classes: one binary AUC (both one-vs-rest AUCs are equal)
                cache[key] = [_binary_auc(codes == cols[1], p[:, 1])]
            else:
                cache[key] = [_binary_auc(codes == c, p[:, j]) for j, c in enumerate(cols)]
        return cache[key]

    def auc(w: np.ndarray) -> np.ndarray:
        present = (w @ onehot) > 0
        out = np.full(len(w), np.nan)
        patterns, which = np.unique(present, axis=0, return_inverse=True)
        for i, pattern in enumerate(patterns):
            if pattern.sum() < 2:
                continue
            rows = np.flatnonzero(which.ravel() == i)
            out[rows] = np.mean([f(w[rows]) for f in per_class(pattern)], axis=0)
        return out

    return auc


def _binary_counts(truth: np.ndarray, predicted: np.ndarray, which: str) -> WeightedMetric:
    tp_v, fp_v, fn_v = (truth & predicted), (~truth & predicted), (truth & ~predicted)
    m = np.stack([tp_v, fp_v, fn_v], axis=1).astype(np.float64)

    def score(w: np.ndarray) -> np.ndarray:
        tp, fp, fn = (w @ m).T
        if which == "precision":
            return _ratio(tp, tp + fp)
        if which == "recall":
            return _ratio(tp, tp + fn)
        return _ratio(2 * tp, 2 * tp + fp + fn)

    return score


def _per_class(codes: np.ndarray, predicted: np.ndarray, k: int, which: str) -> WeightedMetric:
    eye = np.eye(k, dtype=np.float64)
    truth, pred = eye[codes], eye[predicted]

    def score(w: np.ndarray) -> np.ndarray:
        tp, n_true, n_pred = w @ (truth * pred), w @ truth, w @ pred
        if which == "balanced_accuracy":  # mean recall over the classes present
            recall = np.where(n_true > 0, tp / np.where(n_true > 0, n_true, 1.0), np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmean(recall, axis=1)
        return _ratio(2 * tp, n_true + n_pred).mean(axis=1)  # macro F1 over every class

    return score


def _regression(y: np.ndarray, pred: np.ndarray, which: str) -> WeightedMetric:
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    err = y - pred
    if which == "rmse":
        return lambda w: np.sqrt((w @ err**2) / w.sum(axis=1))
    if which == "mae":
        return _mean(np.abs(err))

    def r2(w: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1)
        mean = (w @ y) / total
        ss_res = w @ err**2
        ss_tot = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
        drawn = w > 0
        constant = np.where(drawn, y, np.inf).min(axis=1) == np.where(drawn, y, -np.inf).max(axis=1)
        out = 1 - ss_res / np.where(constant, 1.0, ss_tot)
        # scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0
        out[constant] = np.where(ss_res[constant] == 0, 1.0, 0.0)
        out[total < 2] = np.nan
        return out

    return r2


def weighted_metric(
    name: str,
    y: Sequence | np.ndarray,
    pred: np.ndarray,
    classes: Sequence | None = None,
    pos_label=None,
    threshold: float | None = None,
) -> WeightedMetric:
    """The metric ``name`` of :data:`modelworks.evaluate.metrics.METRICS` as a function of row weights.

    Parameters
    ----------
    name : str
        Metric name (``roc_auc``, ``accuracy``, ``balanced_accuracy``, ``f1``, ``precision``,
        ``recall``, ``log_loss``, ``macro_f1``, ``rmse``, ``mae``, ``r2``).
    y : array-like
        True labels or values, one per row.
    pred : numpy.ndarray
        Class probabilities ``(n, n_classes)``, columns in the order of ``classes``, or regression
        values ``(n,)``.
    classes, pos_label, threshold
        As for :func:`modelworks.evaluate.metrics.score_all`.

    Returns
    -------
    callable
        ``f(weights) -> scores``: weights ``(B, n)`` (counts of each row in each resample) to the
        metric of each resample ``(B,)``; NaN where the metric is undefined (for example ROC AUC on a
        resample with a single class).
    """
    from modelworks.evaluate.metrics import predicted_labels

    if name in ("rmse", "mae", "r2"):
        return _regression(np.asarray(y), pred, name)
    if classes is None:
        raise ValueError(f"metric {name!r} needs the list of classes")
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[v] for v in np.asarray(y).tolist()], dtype=np.int64)
    proba = np.asarray(pred, dtype=np.float64)
    if name == "log_loss":
        eps = np.finfo(np.float64).eps
        p_true = np.clip(np.clip(proba[np.arange(len(codes)), codes], 1e-15, 1), eps, 1 - eps)
        return _mean(-np.log(p_true))
    if name == "roc_auc":
        if len(classes) == 2:
            pos = index[pos_label]
            return _binary_auc(codes == pos, proba[:, pos])
        return _multiclass_auc(codes, proba)
    labels = predicted_labels(proba, classes, pos_label, threshold if name != "macro_f1" else None)
    predicted = np.array([index[v] for v in labels.tolist()], dtype=np.int64)
    if name == "accuracy":
        return _mean(predicted == codes)
    if name in ("f1", "precision", "recall"):
        pos = index[pos_label]
        return _binary_counts(codes == pos, predicted == pos, name)
    if name in ("macro_f1", "balanced_accuracy"):
        return _per_class(codes, predicted, len(classes), name)
    raise ValueError(f"no resampled form of metric {name!r}")


def resampled_scores(metrics: Sequence[WeightedMetric], weights: np.ndarray) -> np.ndarray:
    """Every metric on every resample: ``(len(metrics), B)``, computed in batches to bound memory."""
    weights = np.atleast_2d(weights)
    step = max(1, _BATCH_CELLS // max(weights.shape[1], 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = [np.stack([f(weights[i : i + step]) for f in metrics]) for i in range(0, len(weights), step)]
    return np.concatenate(parts, axis=1)


def _statistic(metrics: Sequence[WeightedMetric], n: int) -> Callable[..., np.ndarray]:
    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.moveaxis(np.asarray(idx), axis, -1)
        lead = idx.shape[:-1]
        flat = idx.reshape(-1, idx.shape[-1])
        scores = resampled_scores(metrics, counts_from_indices(flat, n))
        return scores.reshape(len(metrics), *lead) if lead else scores[:, 0]

    return statistic


def bootstrap_intervals(
    metrics: dict[str, WeightedMetric],
    n: int,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Bootstrap confidence intervals of several metrics of one test set, from the same resamples.

    Rows are resampled by :func:`scipy.stats.bootstrap` (vectorised): BCa up to :data:`BCA_MAX_ROWS`
    rows, percentile beyond. A metric whose BCa interval degenerates (NaN bounds, for example when
    some resamples hold a single class) gets the percentile interval of its valid resamples.

    Parameters
    ----------
    metrics : dict of str to callable
        Name to weighted metric (:func:`weighted_metric`) over the same ``n`` rows.
    n : int
        Number of test rows.
    confidence : float, default 0.95
        Confidence level.
    n_resamples : int, default 2000
        Number of bootstrap resamples.
    seed : int, default 0
        Seed of the random generator.

    Returns
    -------
    dict of str to (float, float)
        ``(low, high)`` per metric; ``(nan, nan)`` with fewer than 2 rows or when the metric never
        computes.
    """
    names = list(metrics)
    if n < 2 or not names:
        return {m: (math.nan, math.nan) for m in names}
    statistic = _statistic([metrics[m] for m in names], n)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (np.arange(n),),
            statistic,
            vectorized=True,
            n_resamples=n_resamples,
            batch=max(1, _BATCH_CELLS // n),
            confidence_level=confidence,
            method="BCa" if n <= BCA_MAX_ROWS else "percentile",
            rng=np.random.default_rng(seed),
        )
    low = np.atleast_1d(res.confidence_interval.low)
    high = np.atleast_1d(res.confidence_interval.high)
    dist = np.atleast_2d(res.bootstrap_distribution)
    tail = 100 * (1 - confidence) / 2
    out = {}
    for i, name in enumerate(names):
        lo, hi = float(low[i]), float(high[i])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            valid = dist[i][np.isfinite(dist[i])]
            lo, hi = (
                (float(v) for v in np.percentile(valid, [tail, 100 - tail]))
                if valid.size
                else (math.nan, math.nan)
            )
        out[name] = (lo, hi)
    return out


def seconds_per_cell(
    n_classes: int | None, names: Sequence[str], *, rows: int = 400, repeat: int = 3
) -> float:
    """Measured seconds per resampled row of computing ``names`` together, on this machine and with the
    installed libraries (a few calibration calls on synthetic data of the task's shape).

    Parameters
    ----------
    n_classes : int or None
        Number of classes; ``None`` for regression.
    names : sequence of str
        The metrics that will be computed.
    rows : int, default 400
        Rows of the synthetic test set.
    repeat : int, default 3
        Timed calls; the fastest counts (the others pay first-call costs).

    Returns
    -------
    float
        Seconds per cell of the ``(resamples, rows)`` weight matrix.
    """
    rng = np.random.default_rng(0)
    y: np.ndarray
    if n_classes is None:
        y = rng.normal(size=rows)
        pred, classes, pos = y + rng.normal(size=rows), None, None
    else:
        classes = list(range(n_classes))
        y = rng.integers(0, n_classes, size=rows)
        pred = rng.dirichlet(np.ones(n_classes), size=rows)
        pos = 1 if n_classes == 2 else None
    metrics = [weighted_metric(m, y, pred, classes, pos) for m in names]
    weights = rng.multinomial(rows, np.full(rows, 1 / rows), size=50).astype(np.float64)
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        resampled_scores(metrics, weights)
        best = min(best, time.perf_counter() - start)
    return best / weights.size


#: Resamples of :func:`paired_p_value`.
PAIRED_RESAMPLES = 1000


def paired_p_value(
    metric: str, y, pred_a, pred_b, classes, pos_label, seed: int, resamples: int = PAIRED_RESAMPLES
) -> float:
    """Two-sided paired bootstrap p-value of the difference in ``metric`` between two sets of
    predictions of the same rows (the same resampled rows for both; see
    :func:`modelworks.evaluate.stats.paired_bootstrap`, here vectorised): bagging's check and the
    stacker's choice."""
    n = len(y)
    if n < 2:
        return math.nan
    try:
        fa = weighted_metric(metric, y, pred_a, classes, pos_label)
        fb = weighted_metric(metric, y, pred_b, classes, pos_label)
    except ValueError:  # a metric without a resampled form
        return math.nan
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    scores = resampled_scores([fa, fb], counts_from_indices(idx, n))
    diff = scores[0] - scores[1]
    diff = diff[np.isfinite(diff)]
    if diff.size < 2 or np.all(diff == 0):
        return math.nan
    return min(1.0, 2 * min(float(np.mean(diff <= 0)), float(np.mean(diff >= 0))))
