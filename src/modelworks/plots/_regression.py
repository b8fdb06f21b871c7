"""Displays of a regressor's predictions: against the truth, residuals, residual histogram."""

from __future__ import annotations

from typing import Any, Self, cast

import numpy as np
from matplotlib.axes import Axes
from sklearn.metrics import PredictionErrorDisplay as _SkPredictionError
from sklearn.metrics import mean_squared_error, r2_score

from modelworks.plots import _style
from modelworks.plots._frame import sample_index


class _RegressionDisplay:
    """Shared inputs of the regression Displays: true and predicted values."""

    def __init__(
        self, *, y_true: Any, y_pred: Any, subsample: int | None = 5000, random_state: int = 0
    ) -> None:
        self.y_true = np.asarray(y_true, dtype=float)
        self.y_pred = np.asarray(y_pred, dtype=float)
        self.subsample = subsample
        self.random_state = random_state

    @classmethod
    def from_predictions(
        cls,
        y_true: Any,
        y_pred: Any,
        *,
        subsample: int | None = 5000,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Draw from true and predicted values.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n,)
        subsample : int or None, default=5000
            Points drawn at most (a seeded sample; statistics use every row).
        random_state : int, default=0
        ax : Axes, optional

        Returns
        -------
        The Display, drawn.
        """
        return cls(y_true=y_true, y_pred=y_pred, subsample=subsample, random_state=random_state).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        subsample: int | None = 5000,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Predict ``X`` with a fitted regressor and draw against ``y``."""
        return cls.from_predictions(
            y, estimator.predict(X), subsample=subsample, random_state=random_state, ax=ax
        )

    def plot(self, ax: Axes | None = None) -> Self:  # pragma: no cover - overridden
        raise NotImplementedError

    def _summary(self) -> str:
        rmse = float(np.sqrt(mean_squared_error(self.y_true, self.y_pred)))
        r2 = float(r2_score(self.y_true, self.y_pred)) if len(self.y_true) > 1 else float("nan")
        return f"R² = {r2:.3f}, RMSE = {rmse:.3g}"

    def _sklearn(self, ax: Axes, kind: str) -> Any:
        rows = sample_index(len(self.y_true), self.subsample, self.random_state)
        display = _SkPredictionError(y_true=self.y_true[rows], y_pred=self.y_pred[rows])
        shown = f"{len(rows):,} of {len(self.y_true):,} rows" if len(rows) < len(self.y_true) else "rows"
        display.plot(
            ax=ax,
            kind=kind,
            scatter_kwargs={"color": _style.color(0), "alpha": 0.5, "s": 14, "linewidths": 0, "label": shown},
            line_kwargs={"color": _style.HIGHLIGHT, "linestyle": "--", "linewidth": 1.8},
        )
        return display


class PredictedActualDisplay(_RegressionDisplay):
    """Actual against predicted values with the identity line (scikit-learn's PredictionErrorDisplay).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    subsample : int or None, default=5000
    random_state : int, default=0

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    scatter_ : PathCollection
    line_ : Line2D
        The identity line.
    display_ : sklearn.metrics.PredictionErrorDisplay
    """

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the points and the identity line on ``ax``; return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            self.display_ = self._sklearn(ax, "actual_vs_predicted")
            self.display_.line_.set_label("perfect prediction")
            ax.set_xlabel("predicted value")
            ax.set_ylabel("actual value")
            ax.set_title(f"Actual against predicted ({self._summary()})")
            ax.legend(loc="upper left")
        self.scatter_, self.line_ = self.display_.scatter_, self.display_.line_
        self.figure_, self.ax_ = fig, ax
        return self


class ResidualsDisplay(_RegressionDisplay):
    """Residuals (actual − predicted) against predicted values (scikit-learn's PredictionErrorDisplay).

    Parameters and attributes are those of :class:`PredictedActualDisplay`; ``line_`` is zero.
    """

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the residuals and the zero line on ``ax``; return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax)
            self.display_ = self._sklearn(ax, "residual_vs_predicted")
            self.display_.line_.set_label("zero residual")
            ax.set_xlabel("predicted value")
            ax.set_ylabel("residual (actual − predicted)")
            ax.set_title(f"Residuals against predicted values ({self._summary()})")
            ax.legend(loc="best")
        self.scatter_, self.line_ = self.display_.scatter_, self.display_.line_
        self.figure_, self.ax_ = fig, ax
        return self


class ResidualHistogramDisplay(_RegressionDisplay):
    """Histogram of the residuals (actual − predicted) with their mean and ±1 SD.

    Parameters are those of :class:`PredictedActualDisplay` (``subsample`` is not used: every row counts).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    patches_ : list of Rectangle
        The histogram bars.
    lines_ : list of Line2D
        The mean, then the mean ± SD.
    mean_, std_ : float
    """

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the histogram on ``ax``; return self."""
        residuals = self.y_true - self.y_pred
        residuals = residuals[np.isfinite(residuals)]
        self.mean_ = float(residuals.mean()) if len(residuals) else float("nan")
        self.std_ = float(residuals.std(ddof=1)) if len(residuals) > 1 else 0.0
        with _style.style():
            fig, ax = _style.new_axes(ax)
            bins = min(40, max(len(np.unique(residuals)), 1))
            _, _, patches = ax.hist(
                residuals, bins=bins, color=_style.OKABE_ITO["sky_blue"], alpha=0.85, label="residuals"
            )
            self.patches_ = list(cast(Any, patches))
            self.lines_ = [
                ax.axvline(self.mean_, color=_style.HIGHLIGHT, linestyle="--", label=f"mean {self.mean_:.3g}")
            ]
            for k, x in enumerate((self.mean_ - self.std_, self.mean_ + self.std_)):
                self.lines_.append(
                    ax.axvline(
                        x,
                        color=_style.REFERENCE,
                        linestyle=":",
                        linewidth=1.5,
                        label=f"± 1 SD ({self.std_:.3g})" if k == 0 else None,
                    )
                )
            ax.set_xlabel("residual (actual − predicted)")
            ax.set_ylabel("rows")
            ax.set_title(f"Residuals ({len(residuals):,} rows)")
            ax.legend(loc="upper right")
        self.figure_, self.ax_ = fig, ax
        return self
