"""The confusion matrix, counts and row-normalised side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay as _SkConfusion
from sklearn.metrics import confusion_matrix
from sklearn.utils.multiclass import unique_labels

from modelworks.plots import _style
from modelworks.plots._frame import short


class ConfusionMatrixDisplay:
    """Confusion matrix twice, side by side: counts, and shares of each true class (row-normalised).

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        Counts; rows are true classes, columns predicted ones.
    display_labels : list of str

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of two Axes
        Counts, then row-normalised.
    ax_ : matplotlib Axes
        The counts.
    normalized_ : ndarray
        The row-normalised matrix (rows of zeros for classes absent from the truth).
    images_ : list of AxesImage
    displays_ : list of sklearn.metrics.ConfusionMatrixDisplay
    """

    def __init__(self, *, confusion_matrix: np.ndarray, display_labels: list[str]) -> None:
        self.confusion_matrix = np.asarray(confusion_matrix)
        self.display_labels = display_labels

    @classmethod
    def from_predictions(
        cls, y_true: Any, y_pred: Any, *, labels: Sequence[Any] | None = None, ax: Any = None
    ) -> Self:
        """Count predictions against the truth and draw both matrices.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n,)
        labels : sequence, optional
            Class order (default: the sorted labels of both).
        ax : pair of Axes, optional

        Returns
        -------
        ConfusionMatrixDisplay
        """
        labels = list(labels) if labels is not None else list(unique_labels(y_true, y_pred))
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        return cls(confusion_matrix=matrix, display_labels=[short(c, 18) for c in labels]).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls, estimator: Any, X: Any, y: Any, *, labels: Sequence[Any] | None = None, ax: Any = None
    ) -> Self:
        """Predict ``X`` with a fitted classifier and draw its confusion matrices."""
        if labels is None and hasattr(estimator, "classes_"):
            labels = list(estimator.classes_)
        return cls.from_predictions(y, estimator.predict(X), labels=labels, ax=ax)

    def plot(self, ax: Any = None) -> Self:
        """Draw the two matrices on a pair of axes (a new figure when None); return self."""
        n = len(self.display_labels)
        counts = self.confusion_matrix
        totals = counts.sum(axis=1, keepdims=True)
        self.normalized_ = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        annotate = n <= 15
        rotation = 45.0 if n > 5 or max((len(s) for s in self.display_labels), default=0) > 8 else 0.0
        with _style.style():
            if ax is None:
                side = min(max(4.6, 0.45 * n + 2.4), 7.5)
                fig, axes = _style.plt.subplots(1, 2, figsize=(2 * side + 1.0, side), layout="constrained")
            else:
                axes = list(np.ravel(np.asarray(ax, dtype=object)))
                if len(axes) != 2:
                    raise ValueError("ConfusionMatrixDisplay draws on two axes: pass a pair")
                fig = axes[0].figure
            self.displays_ = []
            specs = ((counts, "d", "Counts"), (self.normalized_, ".0%", "Share of each true class"))
            for panel, (matrix, fmt, title) in zip(axes, specs, strict=True):
                display = _SkConfusion(matrix, display_labels=self.display_labels)
                display.plot(
                    ax=panel,
                    cmap="Blues",
                    colorbar=not annotate,
                    include_values=annotate,
                    values_format=fmt,
                    xticks_rotation=rotation,
                    text_kw={"fontsize": 9 if n <= 8 else 7.5},
                )
                if rotation:
                    for label in panel.get_xticklabels():
                        label.set(ha="right", rotation_mode="anchor")
                panel.grid(False)
                panel.set_xlabel("predicted class")
                panel.set_ylabel("true class")
                panel.set_title(title)
                self.displays_.append(display)
            fig.suptitle(f"Confusion matrix ({int(counts.sum()):,} rows)")
        self.images_ = [d.im_ for d in self.displays_]
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        return self
