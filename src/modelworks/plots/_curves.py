"""Threshold-free curves of a classifier: ROC, precision-recall and calibration (one-vs-rest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from matplotlib.axes import Axes
from sklearn.calibration import CalibrationDisplay as _SkCalibration
from sklearn.calibration import calibration_curve
from sklearn.metrics import PrecisionRecallDisplay as _SkPrecisionRecall
from sklearn.metrics import RocCurveDisplay as _SkRoc
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils.multiclass import unique_labels

from modelworks.plots import _style
from modelworks.plots._frame import positive_label, short

#: One-vs-rest curves drawn at most (the most frequent classes).
MAX_CLASSES = 10


@dataclass
class _Curve:
    """One class against the rest: its name, the binary truth and the score."""

    label: Any
    truth: np.ndarray
    score: np.ndarray


def _one_vs_rest(
    y_true: Any, y_score: Any, classes: Sequence[Any] | None, pos_label: Any, max_classes: int
) -> tuple[list[_Curve], bool]:
    """The binary problems to draw, and whether the task is binary.

    ``y_score`` is 1-D (the positive class's score) or 2-D with one column per class of ``classes``
    (default: the sorted labels of ``y_true``). Classes absent from ``y_true`` (or covering all of it)
    are skipped: their curves are undefined.
    """
    truth = np.asarray(y_true)
    score = np.asarray(y_score, dtype=float)
    if classes is None:
        classes = list(unique_labels(truth))
    classes = list(classes)
    if score.ndim == 2 and score.shape[1] != len(classes):
        raise ValueError(f"y_score has {score.shape[1]} columns but there are {len(classes)} classes")
    if score.ndim == 1 or len(classes) == 2:
        if len(classes) != 2:
            raise ValueError("a 1-D y_score needs exactly two classes")
        pos = positive_label(classes, pos_label)
        column = score if score.ndim == 1 else score[:, classes.index(pos)]
        return [_Curve(pos, truth == pos, column)], True
    counts = {c: int((truth == c).sum()) for c in classes}
    present = [c for c in classes if 0 < counts[c] < len(truth)]
    present = sorted(present, key=lambda c: -counts[c])[:max_classes]
    return [_Curve(c, truth == c, score[:, classes.index(c)]) for c in classes if c in present], False


def _response(estimator: Any, X: Any, proba_only: bool = False) -> tuple[np.ndarray, list[Any]]:
    """Probabilities (or decision scores) of ``estimator`` on ``X`` and its classes."""
    classes = list(estimator.classes_)
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X)), classes
    if proba_only or not hasattr(estimator, "decision_function"):
        raise ValueError("the estimator needs predict_proba")
    return np.asarray(estimator.decision_function(X)), classes


def _finish_curve_axes(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right")


class RocCurveDisplay:
    """ROC curve (binary) or one-vs-rest ROC curves, one per class (multiclass), AUC in the legend.

    Parameters
    ----------
    fpr, tpr : list of ndarray
        One array per curve.
    roc_auc : list of float
    names : list of str
        The class of each curve.
    binary : bool, default=True
        A single curve for the positive class (else one class against the rest per curve).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        One per curve.
    chance_level_ : Line2D
    curve_displays_ : list of sklearn.metrics.RocCurveDisplay
    """

    def __init__(
        self,
        *,
        fpr: list[np.ndarray],
        tpr: list[np.ndarray],
        roc_auc: list[float],
        names: list[str],
        binary: bool = True,
    ) -> None:
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.names = names
        self.binary = binary

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        classes: Sequence[Any] | None = None,
        pos_label: Any = None,
        max_classes: int = MAX_CLASSES,
        ax: Axes | None = None,
    ) -> Self:
        """Compute the curves from labels and scores and draw them.

        Parameters
        ----------
        y_true : array-like of shape (n,)
        y_score : array-like of shape (n,) or (n, n_classes)
            The positive class's score, or one column per class of ``classes``.
        classes : sequence, optional
            The column order of a 2-D ``y_score`` (default: the sorted labels of ``y_true``).
        pos_label : object, optional
            The positive class of a binary task (default: the last class).
        max_classes : int, default=10
            One-vs-rest curves drawn at most (the most frequent classes).
        ax : Axes, optional

        Returns
        -------
        RocCurveDisplay
        """
        curves, binary = _one_vs_rest(y_true, y_score, classes, pos_label, max_classes)
        fpr, tpr, auc = [], [], []
        for curve in curves:
            f, t, _ = roc_curve(curve.truth, curve.score)
            fpr.append(f)
            tpr.append(t)
            auc.append(float(roc_auc_score(curve.truth, curve.score)))
        names = [str(c.label) for c in curves]
        return cls(fpr=fpr, tpr=tpr, roc_auc=auc, names=names, binary=binary).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        pos_label: Any = None,
        max_classes: int = MAX_CLASSES,
        ax: Axes | None = None,
    ) -> Self:
        """Score ``X`` with a fitted classifier and draw its ROC curves (see :meth:`from_predictions`)."""
        score, classes = _response(estimator, X)
        return cls.from_predictions(
            y, score, classes=classes, pos_label=pos_label, max_classes=max_classes, ax=ax
        )

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the curves with the chance diagonal on ``ax``; return self."""
        self.curve_displays_ = []
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            last = len(self.names) - 1
            for i, name in enumerate(self.names):
                display = _SkRoc(fpr=self.fpr[i], tpr=self.tpr[i], roc_auc=self.roc_auc[i], name=short(name))
                display.plot(
                    ax=ax,
                    curve_kwargs={"color": _style.color(i)},
                    plot_chance_level=i == last,
                    chance_level_kw={"color": _style.MUTED, "linestyle": "--", "label": "chance (AUC = 0.5)"},
                )
                self.curve_displays_.append(display)
            positive = f" (positive class: {short(self.names[0])})" if self.binary and self.names else ""
            title = "ROC curve" if self.binary else "ROC curves, each class against the rest"
            _finish_curve_axes(ax, "false positive rate" + positive, "true positive rate" + positive, title)
        self.lines_ = [d.line_ for d in self.curve_displays_]
        self.chance_level_ = self.curve_displays_[-1].chance_level_ if self.curve_displays_ else None
        self.figure_, self.ax_ = fig, ax
        return self


class PrecisionRecallDisplay:
    """Precision-recall curve (binary, with the prevalence as chance level) or one per class (multiclass).

    Parameters
    ----------
    precision, recall : list of ndarray
        One array per curve.
    average_precision : list of float
    prevalence : list of float
        Share of the positive class of each curve.
    names : list of str
    binary : bool, default=True

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        One per curve.
    chance_level_ : Line2D or None
        The prevalence (binary only).
    curve_displays_ : list of sklearn.metrics.PrecisionRecallDisplay
    """

    def __init__(
        self,
        *,
        precision: list[np.ndarray],
        recall: list[np.ndarray],
        average_precision: list[float],
        prevalence: list[float],
        names: list[str],
        binary: bool = True,
    ) -> None:
        self.precision = precision
        self.recall = recall
        self.average_precision = average_precision
        self.prevalence = prevalence
        self.names = names
        self.binary = binary

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        classes: Sequence[Any] | None = None,
        pos_label: Any = None,
        max_classes: int = MAX_CLASSES,
        ax: Axes | None = None,
    ) -> Self:
        """Compute the curves from labels and scores and draw them (parameters as for ROC curves).

        Returns
        -------
        PrecisionRecallDisplay
        """
        curves, binary = _one_vs_rest(y_true, y_score, classes, pos_label, max_classes)
        precision, recall, ap, prevalence = [], [], [], []
        for curve in curves:
            p, r, _ = precision_recall_curve(curve.truth, curve.score)
            precision.append(p)
            recall.append(r)
            ap.append(float(average_precision_score(curve.truth, curve.score)))
            prevalence.append(float(np.mean(curve.truth)))
        return cls(
            precision=precision,
            recall=recall,
            average_precision=ap,
            prevalence=prevalence,
            names=[str(c.label) for c in curves],
            binary=binary,
        ).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        pos_label: Any = None,
        max_classes: int = MAX_CLASSES,
        ax: Axes | None = None,
    ) -> Self:
        """Score ``X`` with a fitted classifier and draw its precision-recall curves."""
        score, classes = _response(estimator, X)
        return cls.from_predictions(
            y, score, classes=classes, pos_label=pos_label, max_classes=max_classes, ax=ax
        )

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the curves on ``ax``; return self."""
        self.curve_displays_ = []
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            for i, name in enumerate(self.names):
                display = _SkPrecisionRecall(
                    self.precision[i],
                    self.recall[i],
                    average_precision=self.average_precision[i],
                    name=short(name),
                    prevalence_pos_label=self.prevalence[i],
                )
                display.plot(
                    ax=ax,
                    curve_kwargs={"color": _style.color(i)},
                    plot_chance_level=self.binary,
                    chance_level_kw={
                        "color": _style.MUTED,
                        "linestyle": "--",
                        "label": f"chance (prevalence = {self.prevalence[i]:.2f})",
                    },
                )
                self.curve_displays_.append(display)
            positive = f" (positive class: {short(self.names[0])})" if self.binary and self.names else ""
            title = (
                "Precision-recall curve"
                if self.binary
                else "Precision-recall curves, each class against the rest"
            )
            ax.set_ylim(0, 1.02)
            _finish_curve_axes(ax, "recall" + positive, "precision" + positive, title)
            ax.legend(loc="lower left")
        self.lines_ = [d.line_ for d in self.curve_displays_]
        self.chance_level_ = (
            self.curve_displays_[0].chance_level_ if self.binary and self.curve_displays_ else None
        )
        self.figure_, self.ax_ = fig, ax
        return self


class CalibrationDisplay:
    """Reliability diagram: observed frequency against mean predicted probability, per bin.

    Binary: the positive class; multiclass: each class against the rest (up to ``max_classes``).

    Parameters
    ----------
    prob_true, prob_pred : list of ndarray
        Per curve, the observed frequency and the mean predicted probability of each non-empty bin.
    names : list of str
    brier : list of float
        Brier score of each curve.
    binary : bool, default=True

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        One per curve.
    ref_line_ : Line2D
        The diagonal of perfect calibration.
    curve_displays_ : list of sklearn.calibration.CalibrationDisplay
    """

    def __init__(
        self,
        *,
        prob_true: list[np.ndarray],
        prob_pred: list[np.ndarray],
        names: list[str],
        brier: list[float],
        binary: bool = True,
    ) -> None:
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.names = names
        self.brier = brier
        self.binary = binary

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_prob: Any,
        *,
        classes: Sequence[Any] | None = None,
        pos_label: Any = None,
        n_bins: int = 10,
        strategy: str = "uniform",
        max_classes: int = 8,
        ax: Axes | None = None,
    ) -> Self:
        """Bin the predicted probabilities and draw the reliability curves.

        Parameters
        ----------
        y_true : array-like of shape (n,)
        y_prob : array-like of shape (n,) or (n, n_classes)
            Probabilities in [0, 1]: the positive class's, or one column per class.
        classes, pos_label : see :meth:`RocCurveDisplay.from_predictions`
        n_bins : int, default=10
        strategy : {"uniform", "quantile"}, default="uniform"
        max_classes : int, default=8
        ax : Axes, optional

        Returns
        -------
        CalibrationDisplay
        """
        curves, binary = _one_vs_rest(y_true, y_prob, classes, pos_label, max_classes)
        prob_true, prob_pred, brier = [], [], []
        for curve in curves:
            t, p = calibration_curve(curve.truth, curve.score, n_bins=n_bins, strategy=strategy)
            prob_true.append(t)
            prob_pred.append(p)
            brier.append(float(brier_score_loss(curve.truth, curve.score)))
        return cls(
            prob_true=prob_true,
            prob_pred=prob_pred,
            names=[str(c.label) for c in curves],
            brier=brier,
            binary=binary,
        ).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        pos_label: Any = None,
        n_bins: int = 10,
        strategy: str = "uniform",
        max_classes: int = 8,
        ax: Axes | None = None,
    ) -> Self:
        """Predict probabilities with a fitted classifier and draw its reliability curves."""
        proba, classes = _response(estimator, X, proba_only=True)
        return cls.from_predictions(
            y,
            proba,
            classes=classes,
            pos_label=pos_label,
            n_bins=n_bins,
            strategy=strategy,
            max_classes=max_classes,
            ax=ax,
        )

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the curves and the diagonal on ``ax``; return self."""
        self.curve_displays_ = []
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            for i, name in enumerate(self.names):
                display = _SkCalibration(
                    self.prob_true[i], self.prob_pred[i], None, estimator_name=short(name)
                )
                display.plot(
                    ax=ax,
                    name=f"{short(name)} (Brier {self.brier[i]:.3f})",
                    ref_line=i == 0,
                    color=_style.color(i),
                    marker="o",
                    markersize=4.5,
                )
                self.curve_displays_.append(display)
            self.ref_line_ = next(
                (ln for ln in ax.get_lines() if ln.get_label() == "Perfectly calibrated"), None
            )
            if self.ref_line_ is not None:
                self.ref_line_.set(color=_style.REFERENCE, label="perfectly calibrated")
            ax.set_xlim(-0.02, 1.02)
            ax.set_ylim(-0.02, 1.02)
            what = f"class {short(self.names[0])}" if self.binary and self.names else "each class"
            title = "Calibration" if self.binary else "Calibration, each class against the rest"
            _finish_curve_axes(
                ax, f"mean predicted probability ({what})", f"observed frequency ({what})", title
            )
            ax.legend(loc="upper left")
        self.lines_ = [d.line_ for d in self.curve_displays_]
        self.figure_, self.ax_ = fig, ax
        return self
