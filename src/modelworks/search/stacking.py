"""A learned combiner of the ensemble's members, used where it measurably beats the greedy weights.

Stacked generalisation (Wolpert 1992), as AutoGluon's second layer does it: a simple model fitted
on the members' out-of-fold predictions, rows no member was trained on. Classification: a
logistic regression on the members' log-odds (binary: of the positive class; multiclass: the log of
every class's probability), which can sharpen or temper the members and weigh them per class.
Regression: least squares with non-negative weights and an intercept (Breiman 1996, "Stacked
regressions": unconstrained weights overfit correlated members).

The combiner's own score is cross-fitted like the greedy ensemble's: fold k is predicted by a
combiner fitted on the other folds' out-of-fold rows. It replaces the greedy weights only where it
measurably helps: a better cross-fitted score, significantly (a paired bootstrap of the two sets of
cross-fitted predictions, at the run's alpha), since it costs the ONNX export (no converter yet).
The decision, both scores and the p-value are reported.

The fitted combiner is plain numbers (``coef``, ``intercept``), so the saved
:class:`StackedEnsemble` holds no extra estimator: it clones, saves and loads like the weighted
ensemble.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from modelworks.evaluate._proba import align_proba
from modelworks.evaluate.metrics import METRICS, score_all
from modelworks.search.ensemble import WeightedEnsemble

#: Probabilities are clipped to [EPS, 1 - EPS] before their logarithm.
EPS = 1e-6
#: Inverse regularisation of the logistic combiner (scikit-learn's default).
C = 1.0


def features(preds: list[np.ndarray], classification: bool) -> np.ndarray:
    """The combiner's input: one column per member (binary: log-odds of the positive class;
    regression: the prediction), or per member and class (multiclass: log-probabilities)."""
    if not classification:
        return np.column_stack([np.asarray(p, dtype=float).ravel() for p in preds])
    columns = []
    for p in preds:
        p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
        if p.shape[1] == 2:
            columns.append(np.log(p[:, 1:]) - np.log(p[:, :1]))
        else:
            columns.append(np.log(p))
    return np.hstack(columns)


@dataclass(frozen=True)
class Combiner:
    """A fitted combiner: ``coef`` (outputs x features) and ``intercept`` (outputs)."""

    coef: np.ndarray
    intercept: np.ndarray

    def apply(self, X: np.ndarray, classification: bool, n_classes: int | None) -> np.ndarray:
        """Probabilities (classification) or values of the combined prediction."""
        z = X @ self.coef.T + self.intercept
        if not classification:
            return z[:, 0]
        if n_classes == 2:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def fit_combiner(X: np.ndarray, y: np.ndarray, n_classes: int | None) -> Combiner | None:
    """Fit the combiner on features ``X`` and targets ``y`` (class positions 0..n-1 for
    classification); ``None`` when some class is absent (its probability could not be learned)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a combiner that did not fully converge is still scored
        if n_classes is None:
            reg = LinearRegression(positive=True).fit(X, y)
            return Combiner(np.atleast_2d(reg.coef_), np.atleast_1d(float(reg.intercept_)))
        if len(np.unique(y)) < n_classes:
            return None
        clf = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    return Combiner(np.atleast_2d(clf.coef_), np.atleast_1d(clf.intercept_))


def _codes(y, classes) -> np.ndarray:
    position = {c: i for i, c in enumerate(classes)}
    return np.array([position[v] for v in y], dtype=np.int64)


@dataclass(frozen=True)
class Stacked:
    """The cross-fitted result of a combiner over some members."""

    fold_scores: dict[str, list[float]]
    #: Cross-fitted predictions of every compared row, per repetition of the K-fold split.
    oof: np.ndarray
    #: Fitted on every compared row's out-of-fold predictions (the one saved).
    combiner: Combiner


def cross_fitted(
    oofs: list[np.ndarray], y, folds, metrics: list[str], classes, pos_label, n_splits: int
) -> Stacked | None:
    """Score a combiner of the members whose out-of-fold predictions are ``oofs`` (one array per
    repetition of the split, as :func:`modelworks.search.crossval.cross_validate` keeps them),
    fold ``i`` predicted by a combiner fitted on the other folds' rows; ``None`` when a combiner
    cannot be fitted (a class too rare)."""
    classification = classes is not None
    n_classes = len(classes) if classification else None
    target = _codes(y, classes) if classification else y.to_numpy(dtype=float)
    covered = np.unique(np.concatenate([val for _, val in folds[:n_splits]]))
    out = np.zeros_like(np.asarray(oofs[0], dtype=float))
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    per_repeat = [features([p[r] for p in oofs], classification) for r in range(len(oofs[0]))]
    for i, (_, val) in enumerate(folds):
        repeat = i // n_splits
        X = per_repeat[repeat]
        others = np.setdiff1d(covered, val)
        combiner = fit_combiner(X[others], target[others], n_classes)
        if combiner is None:
            return None
        pred = combiner.apply(X[val], classification, n_classes)
        out[repeat, val] = pred
        for m, v in score_all(metrics, y.iloc[val], pred, classes, pos_label).items():
            scores[m].append(v)
    X = features([p.mean(axis=0) for p in oofs], classification)
    combiner = fit_combiner(X[covered], target[covered], n_classes)
    if combiner is None:
        return None
    return Stacked(scores, out, combiner)


def better(metric: str, stacked: list[float], greedy: list[float]) -> bool:
    """Whether the stacked mean score beats the greedy ensemble's."""
    a, b = float(np.nanmean(stacked)), float(np.nanmean(greedy))
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return a > b if METRICS[metric].greater_is_better else a < b


@dataclass(frozen=True)
class StackDecision:
    """Whether the ensemble's members are combined by the learned combiner, and the evidence."""

    chosen: bool
    metric: str
    greedy_score: float
    stacked_score: float
    p_value: float
    reason: str

    def to_dict(self) -> dict:
        return {
            "chosen": self.chosen,
            "metric": self.metric,
            "greedy_score": self.greedy_score,
            "stacked_score": self.stacked_score,
            "p_value": None if math.isnan(self.p_value) else self.p_value,
            "reason": self.reason,
        }


class StackedEnsemble(WeightedEnsemble):
    """Fitted pipelines combined by a learned combiner (see the module docstring).

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members.
    weights : list of float
        The greedy ensemble's weights of the members (kept for display; not used to predict).
    coef, intercept : list
        The fitted combiner (:class:`Combiner`), as nested lists of floats.
    """

    def __init__(self, estimators=None, weights=None, coef=None, intercept=None):
        super().__init__(estimators, weights)
        self.coef = coef
        self.intercept = intercept

    def _combined(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        classification = hasattr(self, "classes_")
        if classification:
            preds = [
                align_proba(est.predict_proba(X), list(est.classes_), list(self.classes_))
                for _, est in self.estimators_
            ]
        else:
            preds = [est.predict(X) for _, est in self.estimators_]
        combiner = Combiner(np.asarray(self.coef, dtype=float), np.asarray(self.intercept, dtype=float))
        n_classes = len(self.classes_) if classification else None
        return combiner.apply(features(preds, classification), classification, n_classes)

    def predict_proba(self, X) -> np.ndarray:
        return self._combined(X)

    def predict(self, X) -> np.ndarray:
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self._combined(X), axis=1)]
        return self._combined(X)
