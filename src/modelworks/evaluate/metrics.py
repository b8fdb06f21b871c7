"""Metrics, computed from labels and class probabilities (classification) or values (regression).

Every classification metric is computed from one probability matrix whose columns follow the full list
of classes, so a fold whose training part lacked a rare class still scores on the same footing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from modelworks.errors import ConfigError


@dataclass(frozen=True)
class Metric:
    """A metric and whether larger values are better."""

    name: str
    label: str
    greater_is_better: bool
    tasks: tuple[str, ...]
    fn: Callable[..., float]


def _binary_pos(proba, classes, pos_label):
    return proba[:, list(classes).index(pos_label)]


def predicted_labels(proba, classes, pos_label=None, threshold: float | None = None) -> np.ndarray:
    """Labels from probabilities: the most probable class, or for a binary task with a decision
    ``threshold``, the positive class wherever its probability reaches the threshold."""
    labels = np.asarray(classes)
    if threshold is None or len(labels) != 2:
        return labels[np.argmax(proba, axis=1)]
    pos = list(classes).index(pos_label)
    return np.where(proba[:, pos] >= threshold, labels[pos], labels[1 - pos])


def _roc_auc(y, proba, classes, pos_label, threshold=None):
    if len(classes) == 2:
        return skm.roc_auc_score(np.asarray(y) == pos_label, _binary_pos(proba, classes, pos_label))
    present = np.isin(classes, np.unique(y))
    p = proba[:, present]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-15, None)
    labels = np.asarray(classes)[present]
    if len(labels) == 2:  # one-vs-rest of two classes: both AUCs are the binary one
        return skm.roc_auc_score(np.asarray(y) == labels[1], p[:, 1])
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=labels)


def _log_loss(y, proba, classes, pos_label, threshold=None):
    return skm.log_loss(y, np.clip(proba, 1e-15, 1), labels=list(classes))


def _accuracy(y, proba, classes, pos_label, threshold=None):
    return skm.accuracy_score(y, predicted_labels(proba, classes, pos_label, threshold))


def _balanced_accuracy(y, proba, classes, pos_label, threshold=None):
    return skm.balanced_accuracy_score(y, predicted_labels(proba, classes, pos_label, threshold))


def _binary(fn):
    def score(y, proba, classes, pos_label, threshold=None):
        pred = predicted_labels(proba, classes, pos_label, threshold)
        return fn(np.asarray(y) == pos_label, pred == pos_label, zero_division=0)

    return score


def _macro_f1(y, proba, classes, pos_label, threshold=None):
    return skm.f1_score(
        y, predicted_labels(proba, classes), average="macro", labels=list(classes), zero_division=0
    )


def _rmse(y, pred, *_):
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


def _mae(y, pred, *_):
    return skm.mean_absolute_error(y, pred)


def _r2(y, pred, *_):
    return skm.r2_score(y, pred)


_C = ("binary", "multiclass")
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", "ROC AUC", True, _C, _roc_auc),
        Metric("accuracy", "accuracy", True, _C, _accuracy),
        Metric("balanced_accuracy", "balanced accuracy", True, _C, _balanced_accuracy),
        Metric("f1", "F1", True, ("binary",), _binary(skm.f1_score)),
        Metric("precision", "precision", True, ("binary",), _binary(skm.precision_score)),
        Metric("recall", "recall", True, ("binary",), _binary(skm.recall_score)),
        Metric("log_loss", "log loss", False, _C, _log_loss),
        Metric("macro_f1", "macro F1", True, ("multiclass",), _macro_f1),
        Metric("rmse", "RMSE", False, ("regression",), _rmse),
        Metric("mae", "MAE", False, ("regression",), _mae),
        Metric("r2", "R²", True, ("regression",), _r2),
    ]
}

DEFAULT_METRICS = {
    "binary": ["roc_auc", "accuracy", "f1", "precision", "recall", "log_loss"],
    "multiclass": ["log_loss", "accuracy", "macro_f1", "roc_auc"],
    "regression": ["rmse", "mae", "r2"],
}


def metric_names(task: str, ranking: str | None = None) -> list[str]:
    """Metrics reported for ``task``, the ranking metric first.

    Raises
    ------
    ConfigError
        If ``ranking`` is unknown or does not apply to the task.
    """
    names = list(DEFAULT_METRICS[task])
    if ranking is None:
        return names
    if ranking not in METRICS or task not in METRICS[ranking].tasks:
        valid = ", ".join(n for n, m in METRICS.items() if task in m.tasks)
        raise ConfigError(f"metric {ranking!r} does not apply to {task}; use one of {valid}")
    return [ranking, *[n for n in names if n != ranking]]


def score_all(
    names: list[str], y, pred, classes=None, pos_label=None, threshold: float | None = None
) -> dict[str, float]:
    """Compute each metric in ``names``; ``pred`` is a probability matrix or regression values.

    A metric that cannot be computed on these rows (for example ROC AUC with one class present) is NaN.
    """
    out: dict[str, float] = {}
    for name in names:
        try:
            out[name] = float(METRICS[name].fn(y, pred, classes, pos_label, threshold))
        except ValueError:
            out[name] = float("nan")
    return out
