"""The distribution of anomaly scores, with the threshold that flags rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._cluster_common import as_floats

#: Bins at most in the anomaly score histogram.
MAX_BINS = 60


class AnomalyScoreDisplay:
    """Histogram of anomaly scores (higher is more anomalous) with the threshold that flags rows.

    Parameters
    ----------
    scores : sequence of float
        Anomaly score of each row (NaN left out).
    threshold : float or None
        Rows scoring strictly above it are flagged (a dashed line; bins above it in the highlight
        colour).
    flagged_label : str, default="flagged"
        What the flagged rows are called in the legend.
    n_flagged : int, optional
        The count for the legend, when the caller flags by another rule than ``scores > threshold``.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    patches_ : list of Rectangle
        The bars.
    threshold_line_ : Line2D or None
    n_flagged_ : int
    log_scale_ : bool
        Whether the counts span more than two decades, drawn on a log scale.
    """

    def __init__(
        self,
        *,
        scores: Sequence[float],
        threshold: float | None,
        flagged_label: str = "flagged",
        n_flagged: int | None = None,
    ) -> None:
        values = as_floats(scores)
        self.scores = values[np.isfinite(values)]
        self.threshold = None if threshold is None or not np.isfinite(threshold) else float(threshold)
        self.flagged_label = flagged_label
        if n_flagged is None:
            n_flagged = 0 if self.threshold is None else int((self.scores > self.threshold).sum())
        self.n_flagged_ = int(n_flagged)

    @classmethod
    def from_scores(
        cls,
        scores: Sequence[float],
        threshold: float | None,
        flagged_label: str = "flagged",
        *,
        n_flagged: int | None = None,
        ax: Axes | None = None,
    ) -> Self:
        """Draw the distribution of anomaly scores.

        Returns
        -------
        AnomalyScoreDisplay
        """
        return cls(scores=scores, threshold=threshold, flagged_label=flagged_label, n_flagged=n_flagged).plot(
            ax=ax
        )

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        edges: Any = "auto"
        if len(self.scores):
            edges = np.histogram_bin_edges(self.scores, bins="auto")
            if len(edges) > MAX_BINS + 1:
                edges = np.histogram_bin_edges(self.scores, bins=MAX_BINS)
        with _style.style():
            fig, ax = _style.new_axes(ax)
            counts, bins, patches = ax.hist(self.scores, bins=edges, color=_style.color(0), alpha=0.85)
            self.patches_ = list(patches)  # type: ignore[arg-type]  # one BarContainer
            if self.threshold is not None:
                for left, patch in zip(bins[:-1], self.patches_, strict=True):
                    if left >= self.threshold:
                        patch.set_facecolor(_style.HIGHLIGHT)
            positive = np.asarray(counts)[np.asarray(counts) > 0]
            self.log_scale_ = bool(len(positive) and positive.max() / positive.min() > 100)
            if self.log_scale_:
                ax.set_yscale("log")
            self.threshold_line_ = None
            if self.threshold is not None:
                share = self.n_flagged_ / len(self.scores) if len(self.scores) else 0.0
                self.threshold_line_ = ax.axvline(
                    self.threshold,
                    color=_style.REFERENCE,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"threshold {self.threshold:.3g}: "
                    f"{self.n_flagged_:,} {self.flagged_label} ({share:.1%})",
                )
                ax.legend(loc="best")
            ax.set(
                title=f"Anomaly scores ({len(self.scores):,} rows)",
                xlabel="anomaly score (higher is more anomalous)",
                ylabel="rows (log scale)" if self.log_scale_ else "rows",
            )
        self.figure_, self.ax_ = fig, ax
        return self
