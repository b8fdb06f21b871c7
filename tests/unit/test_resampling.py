"""Vectorised metrics over resamples agree with scikit-learn (through METRICS) on every resample."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from modelworks.evaluate.metrics import METRICS
from modelworks.evaluate.resampling import (
    bootstrap_intervals,
    counts_from_indices,
    resampled_scores,
    seconds_per_cell,
    weighted_metric,
)
from modelworks.evaluate.stats import bootstrap_ci

BINARY = ["roc_auc", "accuracy", "balanced_accuracy", "f1", "precision", "recall", "log_loss"]
MULTICLASS = ["roc_auc", "accuracy", "balanced_accuracy", "macro_f1", "log_loss"]
REGRESSION = ["rmse", "mae", "r2"]


def _reference(name, y, pred, classes, pos_label, threshold):
    try:
        return float(METRICS[name].fn(y, pred, classes, pos_label, threshold))
    except ValueError:
        return math.nan


def _check(name, y, pred, classes, pos_label, threshold, idx):
    fast = weighted_metric(name, y, pred, classes, pos_label, threshold)
    got = resampled_scores([fast], counts_from_indices(idx, len(y)))[0]
    want = np.array([_reference(name, y[i], pred[i], classes, pos_label, threshold) for i in idx])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=0, atol=1e-12, err_msg=name)


def _extreme(rng, proba):
    """Probabilities of exactly 0 and 1 on some rows, and heavy ties (rounded scores)."""
    proba = np.round(proba, 1)
    proba[rng.random(len(proba)) < 0.1] = 0.0
    proba[:, 0] = np.where(proba.sum(axis=1) == 0, 1.0, proba[:, 0])
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_binary_metrics_match_scikit_learn(seed, threshold):
    rng = np.random.default_rng(seed)
    n = 40
    classes = ["no", "yes"]
    y = np.array(classes, dtype=object)[
        (rng.random(n) < 0.2).astype(int)
    ]  # imbalanced: single-class resamples
    proba = rng.dirichlet([1, 1], size=n)
    if seed % 2:
        proba = _extreme(rng, proba)
    idx = rng.integers(0, n, size=(60, n))
    idx[0] = np.flatnonzero(y == "no")[0]  # a resample of one row, repeated: one class only
    for name in BINARY:
        _check(name, y, proba, classes, "yes", threshold, idx)


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n, k = 30, 4
    y = rng.choice(k, size=n, p=[0.5, 0.3, 0.15, 0.05])  # rare classes go missing in resamples
    proba = rng.dirichlet(np.ones(k), size=n)
    if seed % 2:
        proba = _extreme(rng, proba)
    idx = rng.integers(0, n, size=(60, n))
    idx[1] = np.where(
        rng.random(n) < 0.5, np.flatnonzero(y == 0)[0], np.flatnonzero(y == 1)[0]
    )  # two classes
    for name in MULTICLASS:
        _check(name, y, proba, list(range(k)), None, None, idx)


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    n = 50
    y = rng.normal(1000, 5, size=n)  # a large mean: sums of squares must not cancel
    y[:10] = 1000.0  # ties, and a resample of one repeated value (constant target, exact in binary)
    pred = y + rng.normal(size=n)
    pred[0] = y[0]
    idx = rng.integers(0, n, size=(40, n))
    idx[0] = 0  # constant target predicted exactly: R² is 1
    idx[1] = 1  # constant target predicted wrongly: R² is 0
    for name in REGRESSION:
        _check(name, y, pred, None, None, None, idx)


def test_mann_whitney_equals_roc_auc_with_heavy_ties():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=500).astype(bool)
    s = rng.integers(0, 5, size=500) / 4
    got = weighted_metric("roc_auc", y, np.c_[1 - s, s], [False, True], True)(np.ones((1, 500)))[0]
    assert got == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)


def test_counts_from_indices():
    w = counts_from_indices(np.array([[0, 0, 2], [1, 2, 2]]), 3)
    np.testing.assert_array_equal(w, [[2, 0, 1], [0, 1, 2]])


def test_intervals_match_the_scikit_learn_bootstrap():
    """The same BCa intervals as the per-resample loop through scikit-learn (same resamples)."""
    rng = np.random.default_rng(0)
    n = 150
    y = rng.integers(0, 2, size=n)
    proba = np.clip(np.c_[1 - y, y] * 0.6 + rng.dirichlet([1, 1], size=n) * 0.4, 0, 1)
    names = ["roc_auc", "accuracy", "log_loss"]
    fast = bootstrap_intervals(
        {m: weighted_metric(m, y, proba, [0, 1], 1) for m in names}, n, n_resamples=300, seed=3
    )
    for m in names:
        slow = bootstrap_ci(
            y, proba, lambda t, p, m=m: _reference(m, t, p, [0, 1], 1, None), n_resamples=300, seed=3
        )
        assert fast[m] == pytest.approx(slow, abs=1e-9), m
        assert fast[m][0] <= _reference(m, y, proba, [0, 1], 1, None) <= fast[m][1]


def test_intervals_percentile_beyond_bca_rows_and_degenerate_metric():
    rng = np.random.default_rng(1)
    n = 3000
    y = (rng.random(n) < 0.001).astype(int)  # about 3 positives: many resamples without any
    proba = rng.dirichlet([1, 1], size=n)
    out = bootstrap_intervals(
        {m: weighted_metric(m, y, proba, [0, 1], 1) for m in ["roc_auc", "accuracy"]}, n, n_resamples=200
    )
    lo, hi = out["accuracy"]
    assert 0 < lo <= hi < 1
    assert all(math.isfinite(v) for v in out["roc_auc"])  # percentile of the valid resamples


def test_intervals_too_few_rows():
    f = weighted_metric("accuracy", np.array([1]), np.array([[0.2, 0.8]]), [0, 1], 1)
    assert all(math.isnan(v) for v in bootstrap_intervals({"accuracy": f}, 1)["accuracy"])


def test_calibration_is_positive_and_small():
    for k, names in [(2, BINARY), (4, MULTICLASS), (None, REGRESSION)]:
        cost = seconds_per_cell(k, names)
        assert 0 < cost < 1e-5, (k, cost)
