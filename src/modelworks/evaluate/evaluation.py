"""The test-set evaluation of the chosen model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from modelworks.data.schema import json_safe
from modelworks.evaluate.metrics import predicted_labels, score_all

if TYPE_CHECKING:
    from modelworks.plots.accessors import EvaluationPlots


@dataclass
class EvaluationContext:
    """What the test-set figures need: the pipeline fitted on the training part and its test data.

    Attributes
    ----------
    model : Pipeline
        Fitted on the training part only (never on the test rows).
    X, y : DataFrame, Series
        The test set.
    pred : ndarray
        Class probabilities aligned to ``classes``, or predicted values.
    classes, pos_label, threshold
        Class labels, positive label and decision threshold (classification).
    kinds : dict
        Column name to its kind (numeric, categorical, boolean, datetime, text).
    """

    model: Any
    X: pd.DataFrame
    y: pd.Series
    pred: np.ndarray
    classes: list | None = None
    pos_label: Any = None
    threshold: float | None = None
    kinds: dict[str, str] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Metrics of one model on the held-out test set (touched once).

    Attributes
    ----------
    model : str
        Name of the evaluated model.
    task : str
        The task.
    metrics : dict
        Metric name to value.
    n_test : int
        Rows in the test set.
    confusion_matrix : DataFrame or None
        Counts, rows true labels, columns predicted labels (classification).
    classification_report : dict or None
        scikit-learn's per-class precision, recall, F1 and support (classification).
    residuals : dict or None
        Summary of ``actual - predicted`` (regression).
    refit : bool
        Whether the saved model was refitted on all rows after this evaluation.
    intervals : dict
        Metric name to its 95% bootstrap interval.
    context : EvaluationContext or None
        The fitted pipeline and test data behind :attr:`plot` (not saved).
    """

    model: str
    task: str
    metrics: dict[str, float]
    n_test: int
    confusion_matrix: pd.DataFrame | None = None
    classification_report: dict | None = None
    residuals: dict | None = None
    refit: bool = True
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    context: EvaluationContext | None = field(default=None, repr=False, compare=False)

    @property
    def plot(self) -> EvaluationPlots:
        """Figures of the test set: ``roc()``, ``precision_recall()``, ``calibration()``,
        ``confusion_matrix()``, ``permutation_importance()``, ``partial_dependence()``,
        ``predicted_actual()``, ``residuals()``, ``residual_histogram()``."""
        from modelworks._wiring import provided

        return provided("plot:evaluation")(self)

    def to_dict(self) -> dict:
        out: dict = {
            "model": self.model,
            "task": self.task,
            "n_test": self.n_test,
            "refit": self.refit,
            "metrics": {k: json_safe(v) for k, v in self.metrics.items()},
            "intervals": {k: [json_safe(a), json_safe(b)] for k, (a, b) in self.intervals.items()},
            **self.extra,
        }
        if self.confusion_matrix is not None:
            cm = self.confusion_matrix
            out["confusion_matrix"] = {
                "labels": [json_safe(v) for v in cm.index],
                "counts": cm.to_numpy().tolist(),
            }
        if self.classification_report is not None:
            out["classification_report"] = self.classification_report
        if self.residuals is not None:
            out["residuals"] = self.residuals
        return out


def evaluate_predictions(
    model: str,
    task: str,
    metric_names: list[str],
    y: pd.Series,
    pred: np.ndarray,
    classes=None,
    pos_label=None,
    threshold: float | None = None,
) -> Evaluation:
    """Build an :class:`Evaluation` from test labels and predictions (probabilities for classes);
    a binary ``threshold`` on the positive-class probability decides the predicted labels."""
    metrics = score_all(metric_names, y, pred, classes, pos_label, threshold)
    if task == "regression":
        residual = np.asarray(y, dtype=float) - np.asarray(pred, dtype=float)
        q = np.quantile(residual, [0.05, 0.25, 0.5, 0.75, 0.95])
        residuals = {
            "mean": float(residual.mean()),
            "std": float(residual.std(ddof=1)),
            "q05": q[0],
            "q25": q[1],
            "median": q[2],
            "q75": q[3],
            "q95": q[4],
            "max_abs": float(np.abs(residual).max()),
        }
        return Evaluation(model, task, metrics, len(y), residuals={k: float(v) for k, v in residuals.items()})
    labels = np.asarray(classes)
    predicted = predicted_labels(pred, classes, pos_label, threshold)
    truth = np.asarray(y).astype(labels.dtype)
    cm = skm.confusion_matrix(truth, predicted, labels=labels)
    names = [str(c) for c in labels]
    frame = pd.DataFrame(cm, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted"))
    report = skm.classification_report(
        [str(v) for v in truth],
        [str(v) for v in predicted],
        labels=names,
        output_dict=True,
        zero_division=0,
    )
    return Evaluation(model, task, metrics, len(y), confusion_matrix=frame, classification_report=report)
