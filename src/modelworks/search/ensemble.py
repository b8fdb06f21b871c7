"""A weighted average of the best models, chosen greedily on out-of-fold predictions.

Caruana et al. (2004) ensemble selection, as AutoGluon and auto-sklearn use it: start from nothing and
repeatedly add (with replacement) the model whose addition most improves the ranking metric of the
averaged out-of-fold predictions. The weights come from predictions the models made on rows they were
not trained on, so no extra fitting is needed. To keep the leaderboard honest the ensemble's own CV
score is cross-fitted: the weights used to score fold k are chosen on the other folds only.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.validation import check_is_fitted

from modelworks.evaluate._proba import align_proba
from modelworks.evaluate.metrics import METRICS, score_all
from modelworks.evaluate.resampling import weighted_metric

ROUNDS = 25
MAX_MEMBERS = 6


def greedy_weights(
    oofs: list[np.ndarray], y, metric: str, classes, pos_label, rows: np.ndarray | None = None
) -> np.ndarray:
    """Ensemble-selection weights (summing to 1) of the models whose predictions are ``oofs``.

    Parameters
    ----------
    oofs : list of ndarray
        Out-of-fold predictions of each model (probabilities or values), aligned with ``y``; with
        repeated K-fold, the mean over repetitions.
    y : Series
        True targets.
    metric : str
        The metric to optimise.
    classes, pos_label
        As for :func:`modelworks.evaluate.metrics.score_all`.
    rows : ndarray, optional
        Restrict the selection to these row positions.
    """
    rows = np.arange(len(y)) if rows is None else rows
    target = y.iloc[rows].to_numpy()
    preds = [p[rows] for p in oofs]
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    counts = np.zeros(len(preds))
    total = np.zeros_like(preds[0], dtype=float)
    every_row = np.ones((1, len(rows)))
    for step in range(1, ROUNDS + 1):
        best, best_score = 0, -np.inf
        for i, p in enumerate(preds):
            candidate = (total + p) / step
            # NumPy's metric (equal to scikit-learn's to 1e-12, see evaluate/resampling.py): the
            # selection scores hundreds of candidates, and scikit-learn validates each call for ms
            s = sign * weighted_metric(metric, target, candidate, classes, pos_label)(every_row)[0]
            if s > best_score + 1e-12:
                best, best_score = i, s
        counts[best] += 1
        total += preds[best]
    return counts / counts.sum()


def cross_fitted_scores(
    oofs: list[np.ndarray],
    y,
    folds,
    metrics: list[str],
    classes,
    pos_label,
    n_splits: int | None = None,
    out: np.ndarray | None = None,
) -> dict[str, list[float]]:
    """Scores of the ensemble on each fold, with weights chosen on the other folds.

    ``oofs`` hold one set of out-of-fold predictions per repetition of the K-fold split
    (``folds[i]`` belongs to repetition ``i // n_splits``), as
    :func:`modelworks.search.crossval.cross_validate` returns them. ``out``, shaped like one of
    them, receives the cross-fitted predictions.
    """
    n_splits = n_splits or len(folds)
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    covered = np.unique(np.concatenate([val for _, val in folds[:n_splits]]))  # all rows, unless sampled
    for i, (_, val) in enumerate(folds):
        repeat = [p[i // n_splits] for p in oofs]
        others = np.setdiff1d(covered, val)
        w = greedy_weights(repeat, y, metrics[0], classes, pos_label, rows=others)
        pred = sum(wi * p[val] for wi, p in zip(w, repeat, strict=True))
        if out is not None:
            out[i // n_splits, val] = pred
        for m, v in score_all(metrics, y.iloc[val], pred, classes, pos_label).items():
            scores[m].append(v)
    return scores


class WeightedEnsemble(BaseEstimator):
    """Weighted average of fitted pipelines' probabilities (classification) or predictions.

    Parameters
    ----------
    estimators : list of (str, estimator)
        The members.
    weights : list of float
        One weight per member, summing to 1.
    """

    def __init__(self, estimators=None, weights=None):
        self.estimators = estimators
        self.weights = weights

    def __sklearn_tags__(self):
        # a classifier when its members are, so scikit-learn's meta-estimators
        # (FixedThresholdClassifier) accept it
        tags = super().__sklearn_tags__()
        if self.estimators and is_classifier(self.estimators[0][1]):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        elif self.estimators and is_regressor(self.estimators[0][1]):
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        return tags

    def fit(self, X, y):
        self.estimators_ = [(name, clone(est).fit(X, y)) for name, est in self.estimators or []]
        first = self.estimators_[0][1]
        if hasattr(first, "predict_proba"):  # some regressors (CatBoost) also carry classes_
            self.classes_ = first.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return sum(
            w * align_proba(est.predict_proba(X), list(est.classes_), list(self.classes_))
            for w, (_, est) in zip(self.weights, self.estimators_, strict=True)
        )

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return sum(w * est.predict(X) for w, (_, est) in zip(self.weights, self.estimators_, strict=True))
