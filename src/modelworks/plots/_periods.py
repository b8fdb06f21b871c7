"""The test score per period of a time split: does the model hold up as it predicts further ahead?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from matplotlib.axes import Axes

from modelworks.plots import _style


class PeriodScoreDisplay:
    """The held-out score in consecutive periods of a time split's test set.

    Parameters
    ----------
    labels : sequence of str
        Each period's name (its first and last time).
    scores : array-like of shape (n_periods,)
        The metric in each period (NaN where undefined).
    rows : array-like of shape (n_periods,)
        Test rows in each period.
    metric_name : str, default="score"
    greater_is_better : bool, default=True

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    line_ : Line2D
    """

    def __init__(
        self,
        *,
        labels: Sequence[str],
        scores: Sequence[float] | np.ndarray,
        rows: Sequence[int] | np.ndarray,
        metric_name: str = "score",
        greater_is_better: bool = True,
    ) -> None:
        self.labels = [str(x) for x in labels]
        self.scores = np.asarray(scores, dtype=float)
        self.rows = np.asarray(rows, dtype=int)
        if not (len(self.labels) == len(self.scores) == len(self.rows)):
            raise ValueError("labels, scores and rows need one entry per period")
        self.metric_name, self.greater_is_better = metric_name, greater_is_better

    @classmethod
    def from_periods(
        cls,
        periods: Sequence[dict],
        metric_name: str,
        *,
        greater_is_better: bool = True,
        ax: Axes | None = None,
    ) -> Self:
        """Draw the ``"periods"`` entry of a run's test record (``from``, ``until``, ``rows``, ``score``)."""
        return cls(
            labels=[f"{str(p['from'])[:10]}\n{str(p['until'])[:10]}" for p in periods],
            scores=[np.nan if p["score"] is None else p["score"] for p in periods],
            rows=[p["rows"] for p in periods],
            metric_name=metric_name,
            greater_is_better=greater_is_better,
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the scores in time order on ``ax``; return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax)
            x = np.arange(len(self.scores))
            (self.line_,) = ax.plot(x, self.scores, marker="o", color=_style.color(0))
            ax.set_xticks(x, self.labels, fontsize="small")
            direction = "higher" if self.greater_is_better else "lower"
            ax.set_xlabel("test period (from / until)")
            ax.set_ylabel(f"{self.metric_name} ({direction} is better)")
            ax.set_title(f"Test {self.metric_name} per period")
        self.figure_, self.ax_ = fig, ax
        return self
