"""Displays that place a cut: the dendrogram of a hierarchical clustering and DBSCAN's k-distance graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._cluster_common import as_floats
from modelworks.plots._frame import MAX_POINTS


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class DendrogramDisplay:
    """The last merges of a hierarchical clustering, cut where it yields the chosen number of clusters.

    Parameters
    ----------
    linkage_matrix : ndarray of shape (n - 1, 4)
        A SciPy linkage matrix (merge heights non-decreasing).
    chosen_k : int, optional
        The number of clusters kept: a dashed cut line midway between the merge heights that yield
        it; the links below it take their cluster's colour, those above grey. With tied heights no cut
        yields exactly k.
    max_leaves : int, default=30
        Leaves shown at most (the last merges; a leaf shows its row count in brackets).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    cut_ : float or None
        Height of the cut: ``fcluster(linkage_matrix, cut_, criterion="distance")`` gives ``chosen_k``
        clusters.
    cut_line_ : Line2D or None
    dendrogram_ : dict
        What :func:`scipy.cluster.hierarchy.dendrogram` returned.
    """

    def __init__(self, *, linkage_matrix: Any, chosen_k: int | None = None, max_leaves: int = 30) -> None:
        self.linkage_matrix = np.asarray(linkage_matrix, dtype=float)
        if self.linkage_matrix.ndim != 2 or self.linkage_matrix.shape[1] != 4 or not len(self.linkage_matrix):
            raise ValueError(
                f"expected a linkage matrix of shape (n - 1, 4); got {self.linkage_matrix.shape}"
            )
        n = len(self.linkage_matrix) + 1
        if chosen_k is not None and not 1 <= chosen_k <= n:
            raise ValueError(f"chosen_k must be between 1 and the {n} rows clustered; got {chosen_k}")
        self.chosen_k = chosen_k
        self.max_leaves = max_leaves

    @classmethod
    def from_linkage(
        cls, linkage_matrix: Any, chosen_k: int | None = None, max_leaves: int = 30, *, ax: Axes | None = None
    ) -> Self:
        """Draw the dendrogram of a linkage matrix.

        Returns
        -------
        DendrogramDisplay
        """
        return cls(linkage_matrix=linkage_matrix, chosen_k=chosen_k, max_leaves=max_leaves).plot(ax=ax)

    @staticmethod
    def cut_height(linkage_matrix: np.ndarray, k: int) -> float:
        """The height at which cutting ``linkage_matrix`` leaves ``k`` clusters.

        Of the n - 1 merges, the first n - k are kept: the cut lies between the last kept,
        ``linkage_matrix[-k, 2]``, and the first undone, ``linkage_matrix[-k + 1, 2]``. One cluster is
        cut above the top merge, n clusters below the first.
        """
        heights = linkage_matrix[:, 2]
        n = len(heights) + 1
        if k <= 1:
            return float(heights[-1] * 1.05) if heights[-1] > 0 else 1.0
        if k >= n:
            return float(heights[0] / 2)
        return float((heights[-k] + heights[-k + 1]) / 2)

    def _link_colour(self) -> Callable[[int], Any]:
        """The colour of each link: below the cut that of its cluster (the palette from left to right),
        above it grey; one colour without a cut. (SciPy's ``color_threshold`` does the same with its own
        colours, and changing those is global.)"""
        from scipy.cluster.hierarchy import fcluster, leaves_list

        Z, cut = self.linkage_matrix, self.cut_
        if cut is None:
            return lambda node: _style.color(0)
        n = len(Z) + 1
        flat = fcluster(Z, cut, criterion="distance")
        rank = {cluster: i for i, cluster in enumerate(pd.unique(flat[leaves_list(Z)]))}
        leaf = np.arange(2 * n - 1)  # a leaf under each node
        for i, child in enumerate(Z[:, 0].astype(int)):
            leaf[n + i] = leaf[child]

        def colour(node: int) -> Any:
            if node < n or Z[node - n, 2] >= cut:
                return _style.REFERENCE
            return _style.color(rank[flat[leaf[node]]])

        return colour

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        from scipy.cluster.hierarchy import dendrogram

        self.cut_ = None if self.chosen_k is None else self.cut_height(self.linkage_matrix, self.chosen_k)
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=(8.0, 4.4))
            self.dendrogram_ = dendrogram(
                self.linkage_matrix,
                truncate_mode="lastp",
                p=self.max_leaves,
                link_color_func=self._link_colour(),
                leaf_rotation=90,
                leaf_font_size=8,
                ax=ax,
            )
            self.cut_line_ = None
            if self.cut_ is not None:
                self.cut_line_ = ax.axhline(
                    self.cut_,
                    color=_style.HIGHLIGHT,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"cut: {self.chosen_k} clusters",
                )
                ax.legend(loc="upper right")
            ax.grid(False, axis="x")
            shown = min(self.max_leaves, len(self.linkage_matrix) + 1)
            ax.set(
                title=f"Hierarchical clustering (last {shown} groups)",
                xlabel="rows (a bracket gives a merged group's row count)",
                ylabel="merge distance",
            )
        self.figure_, self.ax_ = fig, ax
        return self


class KDistanceDisplay:
    """Each row's distance to its k-th nearest neighbour, sorted: the knee suggests DBSCAN's eps.

    Parameters
    ----------
    distances : sequence of float
        Each row's distance to its k-th nearest neighbour (NaN left out).
    eps : float, optional
        The eps kept, a dashed horizontal line.
    k : int, optional
        The neighbour rank (DBSCAN's ``min_samples``), for the axis label.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    line_ : Line2D
        The sorted distances (evenly spaced ranks, at most 5,000 points, beyond that).
    eps_line_ : Line2D or None
    """

    def __init__(self, *, distances: Sequence[float], eps: float | None = None, k: int | None = None) -> None:
        values = as_floats(distances)
        self.distances = np.sort(values[np.isfinite(values)])
        self.eps = eps
        self.k = k

    @classmethod
    def from_distances(
        cls,
        distances: Sequence[float],
        eps: float | None = None,
        k: int | None = None,
        *,
        ax: Axes | None = None,
    ) -> Self:
        """Draw the sorted k-distance graph.

        Returns
        -------
        KDistanceDisplay
        """
        return cls(distances=distances, eps=eps, k=k).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        n = len(self.distances)
        ranks = (
            np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(int))
            if n > MAX_POINTS
            else np.arange(n)
        )
        with _style.style():
            fig, ax = _style.new_axes(ax)
            (self.line_,) = ax.plot(ranks + 1, self.distances[ranks], color=_style.color(0))
            self.eps_line_ = None
            if self.eps is not None:
                self.eps_line_ = ax.axhline(
                    self.eps,
                    color=_style.HIGHLIGHT,
                    linestyle="--",
                    linewidth=1.2,
                    label=f"eps = {self.eps:.3g}",
                )
                ax.legend(loc="upper left")
            neighbour = f"{_ordinal(self.k)} nearest neighbour" if self.k else "k-th nearest neighbour"
            ax.set(
                title="Sorted k-distance graph (the knee suggests eps)",
                xlabel="rows, sorted by that distance",
                ylabel=f"distance to the {neighbour}",
            )
        self.figure_, self.ax_ = fig, ax
        return self
