"""Calibration of the chosen classifier (MW601): how far its probabilities are from the frequencies they
claim, and whether a calibrator fitted on out-of-fold predictions brings them closer.

Run after the models are compared (not by :func:`modelworks.checks.run_checks`): the out-of-fold
probabilities of the chosen model and the folds they came from are all it needs. No threshold here was
tuned on a real dataset's results; each is reasoned below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelworks.checks._finding import Finding

#: Methods compared by :func:`choose_calibration`, "none" first.
METHODS = ("none", "sigmoid", "isotonic")
#: Relative log-loss improvement a calibrator must bring to be applied: 1%, below which the change in
#: any decision made from the probabilities is smaller than the noise between folds.
MIN_GAIN = 0.01
#: Significance of the paired test on per-row log losses (raw minus calibrated): the usual 5%, one-sided
#: since only an improvement matters. The test is a one-sample t-test of the mean difference, not a
#: Wilcoxon signed-rank test: the log loss is a mean, and calibrating an over-confident model makes most
#: rows (the confidently right) slightly worse and a few (the confidently wrong) far better, so the
#: typical row's change that Wilcoxon tests is negative while the mean improves (p = 1.0 against
#: p < 1e-30 on the synthetic over-confident classifier of the tests). Thousands of rows make the mean's
#: normal approximation sound despite the long tail.
SIGNIFICANCE = 0.05
#: Expected calibration error from which uncorrected probabilities are a warning: 0.05 is a 5-point
#: average gap between predicted and observed frequency, what a threshold or an expected-cost decision
#: notices; below it the gap is of the size the 10-bin estimate's own noise reaches on a few hundred
#: rows per bin (√(p(1-p)/n) ≈ 0.03 at n = 250).
ECE_WARNING = 0.05
#: Calibrated probabilities are kept in [CLIP, 1 - CLIP]: a calibrator fitted on a few thousand rows
#: cannot justify more certainty, and an isotonic step at exactly 0 or 1 would make one unlucky row's
#: log loss infinite.
CLIP = 1e-4
#: Log-odds are computed from probabilities clipped at this distance from 0 and 1.
_LOGIT_EPS = 1e-6
#: Probabilities are clipped here before a log loss (as scikit-learn's ``log_loss`` does).
_LOSS_EPS = 1e-15
#: Regularisation of the Platt fit: effectively none (a single slope and intercept on thousands of rows).
_PLATT_C = 1e4


def _as_matrix(proba: np.ndarray) -> np.ndarray:
    """Probabilities as an ``n × k`` matrix (a 1-d array is the positive class of a binary task)."""
    p = np.asarray(proba, dtype="float64")
    if p.ndim == 1:
        return np.column_stack([1.0 - p, p])
    return p


def _events(y: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The predicted probability and the 0/1 outcome each reliability bin compares: the positive class
    for binary, the top label (confidence, correct) for multiclass."""
    p = _as_matrix(proba)
    codes = np.asarray(y).astype(np.int64)
    if p.shape[1] == 2:
        return p[:, 1], (codes == 1).astype("float64")
    return p.max(axis=1), (p.argmax(axis=1) == codes).astype("float64")


def reliability_curve(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Predicted probability against observed frequency, in equal-width bins of [0, 1].

    Parameters
    ----------
    y : array of int
        Class codes 0 .. k-1 in the columns' order of ``proba`` (for binary, 1 is the positive class).
    proba : array
        ``n × k`` probabilities, or the positive class's probability (binary).
    n_bins : int
        Equal-width bins of [0, 1].

    Returns
    -------
    DataFrame
        One row per bin: ``bin`` (0 .. n_bins-1), ``mean_predicted``, ``observed`` (the share of
        positives, or of correct top labels for multiclass) and ``count``; the means are NaN in an empty
        bin.
    """
    predicted, observed = _events(y, proba)
    which = np.minimum((predicted * n_bins).astype(np.int64), n_bins - 1)
    which = np.maximum(which, 0)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(which, weights=predicted, minlength=n_bins) / count
        share = np.bincount(which, weights=observed, minlength=n_bins) / count
    return pd.DataFrame(
        {"bin": np.arange(n_bins), "mean_predicted": mean_predicted, "observed": share, "count": count}
    )


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error: the row-weighted mean gap between predicted and observed frequency
    over the bins of :func:`reliability_curve` (binary: of the positive class; multiclass: top-label).

    Parameters
    ----------
    y : array of int
        Class codes in the columns' order of ``proba``.
    proba : array
        ``n × k`` probabilities, or the positive class's probability.
    n_bins : int

    Returns
    -------
    float
        0 for perfectly calibrated probabilities; NaN for no rows.
    """
    curve = reliability_curve(y, proba, n_bins)
    used = curve["count"] > 0
    if not used.any():
        return float("nan")
    gap = (curve.loc[used, "observed"] - curve.loc[used, "mean_predicted"]).abs()
    return float((gap * curve.loc[used, "count"]).sum() / curve.loc[used, "count"].sum())


@dataclass
class Calibrator:
    """A fitted calibration: one scikit-learn model per class (one for binary), or none.

    Parameters
    ----------
    method : {"none", "sigmoid", "isotonic"}
    n_classes : int
    models : list
        ``LogisticRegression`` on the log-odds (sigmoid), ``IsotonicRegression`` (isotonic), or a float
        (a class absent from the calibration rows: its constant rate).
    """

    method: str
    n_classes: int
    models: list[Any] = field(default_factory=list)

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, in the shape given (a 1-d positive-class array stays 1-d).

        Parameters
        ----------
        proba : array
            ``n × k`` probabilities, columns in the classes' order, or the positive class's (binary).

        Returns
        -------
        array
        """
        raw = np.asarray(proba, dtype="float64")
        if self.method == "none":
            return raw.copy()
        p = _as_matrix(raw)
        if self.n_classes == 2:
            q = np.clip(_apply(self.models[0], p[:, 1]), CLIP, 1.0 - CLIP)
            return q if raw.ndim == 1 else np.column_stack([1.0 - q, q])
        out = np.column_stack([_apply(m, p[:, k]) for k, m in enumerate(self.models)])
        out = np.clip(out, CLIP, 1.0)
        return out / out.sum(axis=1, keepdims=True)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _LOGIT_EPS, 1.0 - _LOGIT_EPS)
    return np.log(q / (1.0 - q)).reshape(-1, 1)


def _apply(model: Any, p: np.ndarray) -> np.ndarray:
    if isinstance(model, float):
        return np.full(len(p), model)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(_logit(p))[:, 1]
    return model.predict(p)


def _fit_one(method: str, p: np.ndarray, hit: np.ndarray) -> Any:
    """One class's calibrator: ``p`` its raw probability, ``hit`` whether the row is of the class."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if hit.min() == hit.max():  # one outcome only: its rate is all there is to learn
        return float(hit[0]) if len(hit) else 0.0
    if method == "sigmoid":
        return LogisticRegression(C=_PLATT_C).fit(_logit(p), hit)
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, hit)


def class_codes(y: np.ndarray | pd.Series, classes: Sequence) -> np.ndarray:
    """The target as positions in ``classes`` (labels, or codes already).

    Parameters
    ----------
    y : array
        Labels (values of ``classes``) or class codes.
    classes : sequence

    Returns
    -------
    ndarray of int
    """
    values = list(np.asarray(y, dtype=object))
    lookup = {c: i for i, c in enumerate(classes)}
    lookup.update({str(c): i for i, c in enumerate(classes)})
    try:
        return np.array([lookup[v] if v in lookup else lookup[str(v)] for v in values], dtype=np.int64)
    except KeyError:
        codes = np.asarray(y).astype(np.int64)
        if codes.min(initial=0) < 0 or codes.max(initial=0) >= len(classes):
            raise ValueError("y holds values that are neither classes nor class codes") from None
        return codes


def fit_calibrator(
    method: str, y: np.ndarray | pd.Series, proba: np.ndarray, classes: Sequence
) -> Calibrator:
    """Fit a calibration on (out-of-fold) probabilities.

    Parameters
    ----------
    method : {"none", "sigmoid", "isotonic"}
        Sigmoid: Platt scaling, a logistic regression on the log-odds; isotonic: a monotone step
        function. Multiclass: one per class (one-vs-rest), the results renormalised to sum to 1.
    y : array
        Labels (values of ``classes``) or class codes.
    proba : array
        ``n × k`` probabilities, columns in ``classes`` order (or the positive class's, binary).
    classes : sequence

    Returns
    -------
    Calibrator
        Picklable; ``.transform(proba)`` returns calibrated probabilities.
    """
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; use one of {', '.join(METHODS)}")
    k = len(classes)
    if method == "none":
        return Calibrator("none", k)
    codes = class_codes(y, classes)
    p = _as_matrix(proba)
    if k == 2:
        return Calibrator(method, 2, [_fit_one(method, p[:, 1], (codes == 1).astype(np.int64))])
    return Calibrator(method, k, [_fit_one(method, p[:, j], (codes == j).astype(np.int64)) for j in range(k)])


def _fold_ids(folds: np.ndarray | Sequence, n: int) -> np.ndarray:
    """A fold id per row (-1 where a row is in no held-out part), from ids or from index arrays."""
    if isinstance(folds, np.ndarray) and folds.ndim == 1 and len(folds) == n and folds.dtype.kind in "iu":
        return folds.astype(np.int64)
    out = np.full(n, -1, dtype=np.int64)
    for i, part in enumerate(folds):
        held = part[1] if isinstance(part, tuple) and len(part) == 2 else part
        out[np.asarray(held, dtype=np.int64)] = i
    return out


def _row_losses(codes: np.ndarray, p: np.ndarray) -> np.ndarray:
    return -np.log(np.clip(p[np.arange(len(codes)), codes], _LOSS_EPS, 1.0))


def choose_calibration(
    y: np.ndarray | pd.Series,
    proba: np.ndarray,
    folds: np.ndarray | Sequence,
    classes: Sequence,
    methods: Sequence[str] = METHODS,
) -> dict:
    """Choose a calibration honestly: each calibrator is fitted on the out-of-fold predictions of the
    other folds and scored by log loss on the held-out fold.

    A calibration is chosen only if it lowers the mean log loss by at least :data:`MIN_GAIN` (relative)
    and a one-sided paired t-test on the per-row log losses says so at :data:`SIGNIFICANCE` (see its
    comment for why not a Wilcoxon test); otherwise "none".

    Parameters
    ----------
    y : array
        Labels (values of ``classes``) or class codes.
    proba : array
        Out-of-fold probabilities, ``n × k`` in ``classes`` order (or the positive class's, binary).
    folds : array or sequence
        The fold each row was held out in: an integer id per row, or the folds as index arrays (or
        ``(train, test)`` pairs, of which the test part is used).
    classes : sequence
    methods : sequence of str
        The methods to consider ("none" always is): leave "isotonic" out where its steps would tie
        scores a ranking metric (ROC AUC) tells apart.

    Returns
    -------
    dict
        ``{"method": ..., "log_loss": {method: mean held-out log loss}, "ece_before": ...,
        "ece_after": ...}``; ``ece_after`` is of the nested (held-out) calibrated probabilities.
    """
    from scipy.stats import ttest_1samp

    codes = class_codes(y, classes)
    p = _as_matrix(proba)
    fold = _fold_ids(folds, len(codes))
    used = fold >= 0
    codes, p, fold = codes[used], p[used], fold[used]
    ece_before = expected_calibration_error(codes, p)
    losses = {"none": _row_losses(codes, p)}
    calibrated: dict[str, np.ndarray] = {"none": p}
    ids = np.unique(fold)
    if len(ids) >= 2:
        for method in (m for m in METHODS[1:] if m in methods):
            out = np.empty_like(p)
            for f in ids:
                held = fold == f
                out[held] = fit_calibrator(method, codes[~held], p[~held], classes).transform(p[held])
            calibrated[method], losses[method] = out, _row_losses(codes, out)
    means = {m: float(v.mean()) for m, v in losses.items()}
    chosen = "none"
    best = min((m for m in means if m != "none"), key=lambda m: means[m], default=None)
    if best is not None and means["none"] > 0 and (means["none"] - means[best]) / means["none"] >= MIN_GAIN:
        gain = losses["none"] - losses[best]
        if np.std(gain) > 0 and ttest_1samp(gain, 0.0, alternative="greater").pvalue < SIGNIFICANCE:
            chosen = best
    return {
        "method": chosen,
        "log_loss": means,
        "ece_before": ece_before,
        "ece_after": ece_before
        if chosen == "none"
        else expected_calibration_error(codes, calibrated[chosen]),
    }


def calibration_finding(
    y: np.ndarray | pd.Series, proba: np.ndarray, classes: Sequence, chosen: dict
) -> Finding:
    """The MW601 finding of the chosen classifier's calibration.

    Parameters
    ----------
    y : array
        Labels or class codes of the out-of-fold rows.
    proba : array
        Their out-of-fold probabilities (``classes`` order).
    classes : sequence
    chosen : dict
        What :func:`choose_calibration` returned.

    Returns
    -------
    Finding
        "info" when the expected calibration error is under :data:`ECE_WARNING` or a calibration is
        applied; "warning" when it is not small and no calibration helped. Evidence: the error before.
    """
    ece = chosen.get("ece_before")
    if ece is None or not np.isfinite(ece):
        ece = expected_calibration_error(class_codes(y, classes), _as_matrix(proba))
    method = chosen.get("method", "none")
    if method != "none":
        loss = chosen.get("log_loss", {})
        return Finding(
            "MW601",
            "info",
            (),
            f"the chosen classifier's probabilities were off by {ece:.3f} on average (expected calibration "
            f"error) and {method} calibration fitted on its out-of-fold predictions lowers the held-out log "
            f"loss from {loss.get('none', float('nan')):.4f} to {loss.get(method, float('nan')):.4f}, so "
            "it is applied to the saved model's probabilities",
            ece,
        )
    if ece < ECE_WARNING:
        return Finding(
            "MW601",
            "info",
            (),
            f"the chosen classifier's probabilities are well calibrated (expected calibration error "
            f"{ece:.3f}, under {ECE_WARNING}), so no calibration is applied",
            ece,
        )
    return Finding(
        "MW601",
        "warning",
        (),
        f"the chosen classifier's probabilities are off by {ece:.3f} on average (expected calibration "
        "error) and neither sigmoid nor isotonic calibration lowers its held-out log loss significantly, "
        "so none is applied; read its probabilities as scores rather than frequencies",
        ece,
    )
