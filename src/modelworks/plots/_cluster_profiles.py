"""Displays that read the clusters found: each row's silhouette, and each cluster's feature profile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._cluster_common import as_floats, label_styles, label_text
from modelworks.plots._frame import MAX_POINTS, short

#: Standardised differences beyond this many SDs share the end colour of the profile heatmap.
PROFILE_CLIP = 3.0
#: Feature columns kept at most in the profile heatmap (those of largest absolute difference).
PROFILE_MAX_FEATURES = 20
#: The profile heatmap is annotated with its values up to this many cells.
ANNOTATE_MAX_CELLS = 144


class SilhouetteDisplay:
    """Each row's silhouette, sorted within its cluster and stacked cluster by cluster (a "knife" plot).

    Parameters
    ----------
    silhouette_values : sequence of float
        Silhouette coefficient of each row (NaN rows left out).
    labels : sequence
        Cluster of each row; the noise label -1 is left out (and the title says so).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    clusters_ : list
        The clusters drawn, bottom to top.
    fills_ : list of PolyCollection
        One per cluster.
    mean_ : float
        Mean silhouette of the rows drawn (NaN when none).
    mean_line_ : Line2D or None
    n_noise_ : int
        Noise rows left out.
    """

    def __init__(self, *, silhouette_values: Sequence[float], labels: Sequence[Any]) -> None:
        values = as_floats(silhouette_values)
        groups = np.asarray(labels)
        if len(values) != len(groups):
            raise ValueError(f"silhouette_values has {len(values)} rows but labels has {len(groups)}")
        noise = np.asarray([label_text(v) == "noise" for v in groups.tolist()], dtype=np.bool_)
        self.n_noise_ = int(noise.sum())
        keep = np.logical_not(noise) & np.isfinite(values)
        self.values = values[keep]
        self.labels = groups[keep]

    @classmethod
    def from_samples(
        cls, silhouette_values: Sequence[float], labels: Sequence[Any], *, ax: Axes | None = None
    ) -> Self:
        """Draw the silhouettes of a clustering's rows.

        Returns
        -------
        SilhouetteDisplay
        """
        return cls(silhouette_values=silhouette_values, labels=labels).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        n = len(self.values)
        styles = label_styles(self.labels)
        gap = max(1, round(0.02 * n))
        # beyond MAX_POINTS rows each cluster's sorted curve is drawn through evenly spaced ranks
        step = max(1.0, n / MAX_POINTS)
        self.clusters_, self.fills_ = [], []
        self.mean_ = float(self.values.mean()) if n else float("nan")
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=(6.4, min(max(4.2, 0.35 * len(styles) + 3.0), 9.0)))
            lower = 0
            for value, text, colour, _ in styles:
                sorted_values = np.sort(self.values[self.labels == value])
                size = len(sorted_values)
                ranks = np.unique(np.linspace(0, size - 1, max(2, round(size / step))).round().astype(int))
                ranks = ranks[ranks < size]
                self.fills_.append(
                    ax.fill_betweenx(
                        lower + ranks, 0, sorted_values[ranks], color=colour, alpha=0.85, linewidth=0.5
                    )
                )
                ax.text(-0.02, lower + size / 2, text, ha="right", va="center", fontsize=9)
                self.clusters_.append(value)
                lower += size + gap
            self.mean_line_ = None
            if n:
                self.mean_line_ = ax.axvline(
                    self.mean_,
                    color=_style.REFERENCE,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"mean = {self.mean_:.2f}",
                )
                ax.set_xlim(min(-0.12, float(self.values.min()) - 0.08), 1.0)
            else:
                ax.text(0.5, 0.5, "no silhouette to show", ha="center", va="center", transform=ax.transAxes)
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_yticks([])
            ax.set_ylim(-gap, max(lower, 1))
            left_out = f" ({self.n_noise_:,} noise rows left out)" if self.n_noise_ else ""
            ax.set(
                title=f"Silhouette of each row, by cluster{left_out}",
                xlabel="silhouette coefficient" + (f" (dashed line: mean {self.mean_:.2f})" if n else ""),
                ylabel="rows, by cluster",
            )
        self.figure_, self.ax_ = fig, ax
        return self


class ClusterProfileDisplay:
    """How each cluster differs from all rows: a diverging heatmap of standardised mean differences.

    Parameters
    ----------
    frame : DataFrame
        One row per cluster (index: its label; -1 shown as "noise"), one column per feature, values the
        cluster mean minus the overall mean in standard deviations (NaN allowed, shown grey). Only the
        20 columns of largest absolute difference are kept, in their given order.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    profile_ : DataFrame
        The columns drawn, values as given.
    image_ : AxesImage
        Values clipped to ±3, colour limits symmetric about 0.
    texts_ : list of Text
        Annotated values (grids of at most 144 cells).
    colorbar_ : Colorbar
    """

    def __init__(self, *, frame: pd.DataFrame) -> None:
        frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
        if frame.empty:
            raise ValueError("the cluster profile needs at least one cluster and one feature")
        if frame.shape[1] > PROFILE_MAX_FEATURES:
            strength = frame.abs().max(axis=0).fillna(-1.0)
            top = strength.sort_values(ascending=False, kind="stable").index[:PROFILE_MAX_FEATURES]
            frame = frame.loc[:, [c for c in frame.columns if c in set(top)]]
        self.profile_ = frame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, ax: Axes | None = None) -> Self:
        """Draw the standardised profile of each cluster.

        Returns
        -------
        ClusterProfileDisplay
        """
        return cls(frame=frame).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        rows, cols = self.profile_.shape
        values = self.profile_.to_numpy()
        clipped = np.clip(values, -PROFILE_CLIP, PROFILE_CLIP)
        finite = np.abs(clipped[np.isfinite(clipped)])
        limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        figsize = (min(max(6.4, 0.5 * cols + 3.2), 16.0), min(max(3.0, 0.45 * rows + 2.4), 10.0))
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=figsize)
            cmap = _style.colormap(_style.DIVERGING_CMAP).with_extremes(bad="#EEEEEE")
            self.image_ = ax.imshow(
                np.ma.masked_invalid(clipped),
                cmap=cmap,
                vmin=-limit,
                vmax=limit,
                aspect="auto",
                interpolation="nearest",
            )
            ax.set_xticks(
                range(cols),
                [short(c, 22) for c in self.profile_.columns],
                rotation=45,
                ha="right",
                rotation_mode="anchor",
            )
            ax.set_yticks(range(rows), [label_text(r) for r in self.profile_.index])
            ax.grid(False)
            ax.tick_params(length=0)
            self.texts_ = []
            if rows * cols <= ANNOTATE_MAX_CELLS:
                for (i, j), v in np.ndenumerate(values):
                    if np.isfinite(v):
                        dark = abs(min(max(v, -limit), limit)) > 0.6 * limit
                        self.texts_.append(
                            ax.text(
                                j,
                                i,
                                f"{v:+.1f}",
                                ha="center",
                                va="center",
                                fontsize=8,
                                color="white" if dark else "black",
                            )
                        )
            self.colorbar_ = fig.colorbar(self.image_, ax=ax, shrink=0.85)
            self.colorbar_.set_label("mean − overall (SD)")
            ax.set(title="Cluster profiles: how each cluster differs", xlabel="feature", ylabel="cluster")
        self.figure_, self.ax_ = fig, ax
        return self
