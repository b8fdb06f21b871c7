"""Displays of a clustering and of an anomaly search: choosing k, reading the clusters, finding outliers.

Every Display takes plain NumPy or pandas input (never a fitted model), so the clustering code computes
and the Displays only draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from modelworks.plots import _style
from modelworks.plots._frame import MAX_POINTS, sample_index, short

#: Label of the rows a density clustering (DBSCAN, HDBSCAN) leaves out of every cluster.
NOISE = -1
#: Colour of the noise rows and of the normal rows in an anomaly view.
LIGHT = "#C8C8C8"
#: Standardised differences beyond this many SDs share the end colour of the profile heatmap.
PROFILE_CLIP = 3.0
#: Feature columns kept at most in the profile heatmap (those of largest absolute difference).
PROFILE_MAX_FEATURES = 20
#: The profile heatmap is annotated with its values up to this many cells.
ANNOTATE_MAX_CELLS = 144
#: Components shown at most in the scree plot, and feature arrows at most in the biplot.
MAX_COMPONENTS = 20
MAX_ARROWS = 8
#: Share of the variance marked in the scree plot.
VARIANCE_TARGET = 0.8
#: Bins at most in the anomaly score histogram.
MAX_BINS = 60


# ---------------------------------------------------------------------------------------------- helpers


def _floats(values: Any) -> np.ndarray:
    """``values`` as a 1-D float array (None as NaN)."""
    return np.asarray(pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce"), dtype=float)


def _optional(values: Any) -> np.ndarray | None:
    """``values`` as floats, or None when absent or without a finite value."""
    if values is None:
        return None
    out = _floats(values)
    return out if np.isfinite(out).any() else None


def _label_text(value: Any) -> str:
    """A cluster label for a legend: ``-1`` as "noise", whole floats without their ".0"."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        if value == NOISE:
            return "noise"
        if float(value).is_integer():
            return str(int(value))
    return short(value, 18)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _label_styles(labels: np.ndarray) -> list[tuple[Any, str, Any, int]]:
    """(value, legend text, colour, z-order) of each distinct label, in legend order.

    Booleans are an anomaly flag: False "normal" in light grey, True "anomaly" in the highlight colour on
    top. Otherwise the clusters in sorted order take the palette (tab20 beyond its eight colours) and
    the noise label -1 comes last, in grey, beneath them.
    """
    if labels.dtype == bool:
        present = set(labels.tolist())
        flags = [(False, "normal", LIGHT, 1), (True, "anomaly", _style.HIGHLIGHT, 3)]
        return [style for style in flags if style[0] in present]
    distinct = list(pd.unique(pd.Series(labels).dropna()))
    try:
        values = sorted(distinct)
    except TypeError:
        values = sorted(distinct, key=str)
    clusters = [v for v in values if _label_text(v) != "noise"]
    noise = [v for v in values if _label_text(v) == "noise"]
    many = len(clusters) > len(_style.PALETTE)
    tab20 = _style.colormap("tab20")
    styles: list[tuple[Any, str, Any, int]] = [
        (v, _label_text(v), tab20(i % 20) if many else _style.color(i), 2) for i, v in enumerate(clusters)
    ]
    styles += [(v, "noise", _style.MUTED, 1) for v in noise]
    return styles


def _points(coords: Any, labels: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """``coords`` as an (n, 2) float array and ``labels`` as an array of the same length (or None)."""
    points = np.asarray(coords, dtype=float)
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"coords must have shape (n, 2); got {points.shape}")
    if labels is None:
        return points[:, :2], None
    groups = np.asarray(labels)
    if len(groups) != len(points):
        raise ValueError(f"coords has {len(points)} rows but labels has {len(groups)}")
    return points[:, :2], groups


def _scatter_by_label(ax: Axes, coords: np.ndarray, labels: np.ndarray | None, rows: np.ndarray) -> list:
    """Scatter the ``rows`` (a sample) of ``coords``, one collection per label (see
    :func:`_label_styles`), with a legend counting every row of each label."""
    size = 12 if len(rows) > 1000 else 20
    shown = coords[rows]
    if labels is None:
        return [ax.scatter(shown[:, 0], shown[:, 1], s=size, alpha=0.6, color=_style.color(0), linewidths=0)]
    collections = []
    styles = _label_styles(labels)
    for value, text, colour, zorder in styles:
        mask = labels[rows] == value
        flagged = zorder == 3
        collections.append(
            ax.scatter(
                shown[mask, 0],
                shown[mask, 1],
                s=size * 1.6 if flagged else size,
                alpha=0.9 if flagged else 0.6,
                color=colour,
                linewidths=0,
                label=f"{text} ({int((labels == value).sum()):,})",
                zorder=zorder,
            )
        )
    if not styles:
        return collections
    title = None if labels.dtype == bool else "cluster"
    ax.legend(title=title, markerscale=1.5, ncols=2 if len(styles) > 10 else 1, loc="best")
    return collections


def _sample_note(shown: int, total: int) -> str:
    return f" ({shown:,} of {total:,} rows shown)" if shown < total else ""


def _mark_k(ax: Axes, k: Any) -> Any:
    """A vertical dashed line at the chosen number of clusters, with its legend entry."""
    return ax.axvline(k, color=_style.REFERENCE, linestyle="--", linewidth=1.2, label=f"chosen k = {k}")


def _integer_ticks(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _panels(n: int, ax: Any) -> tuple[Any, list[Axes]]:
    """``n`` side-by-side panels: a new figure when ``ax`` is None, else ``ax`` (one axes split, or a
    sequence of axes)."""
    return _style.grid_axes(n, ax, ncols=2, panel=(4.8, 3.8))


# ------------------------------------------------------------------------------------------- choosing k


class ElbowDisplay:
    """K-means inertia against the number of clusters (the elbow), beside the gap statistic.

    Parameters
    ----------
    k : sequence of int
        The numbers of clusters tried.
    inertia : sequence of float
        Within-cluster sum of squares of the k-means fit at each ``k``.
    gap : sequence of float, optional
        Gap statistic at each ``k`` (a second panel when it has a finite value).
    gap_se : sequence of float, optional
        Standard error of the gap (error bars; NaN drawn as none).
    chosen_k : int, optional
        The number of clusters kept, marked with a dashed line on each panel.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of Axes
        One panel, or two with the gap statistic.
    ax_ : matplotlib Axes
        The inertia panel.
    lines_ : list of Line2D
        The inertia line, then the gap line when drawn.
    chosen_lines_ : list of Line2D
        The chosen-k marks, one per panel.
    """

    def __init__(
        self,
        *,
        k: Sequence[int],
        inertia: Sequence[float],
        gap: Sequence[float] | None = None,
        gap_se: Sequence[float] | None = None,
        chosen_k: int | None = None,
    ) -> None:
        self.k = _floats(k)
        self.inertia = _floats(inertia)
        if len(self.k) != len(self.inertia):
            raise ValueError(f"k has {len(self.k)} values but inertia has {len(self.inertia)}")
        self.gap = _optional(gap)
        se = _optional(gap_se)
        self.gap_se = None if se is None or self.gap is None else np.nan_to_num(se, nan=0.0)
        self.chosen_k = chosen_k

    @classmethod
    def from_values(
        cls,
        k: Sequence[int],
        inertia: Sequence[float],
        gap: Sequence[float] | None = None,
        gap_se: Sequence[float] | None = None,
        chosen_k: int | None = None,
        *,
        ax: Any = None,
    ) -> Self:
        """Draw the elbow (and the gap statistic) of a k-means search.

        Returns
        -------
        ElbowDisplay
        """
        return cls(k=k, inertia=inertia, gap=gap, gap_se=gap_se, chosen_k=chosen_k).plot(ax=ax)

    def plot(self, ax: Any = None) -> Self:
        """Draw on ``ax`` (a new figure when None; one axes is split in two for the gap); return self."""
        with _style.style():
            fig, axes = _panels(1 if self.gap is None else 2, ax)
            (line,) = axes[0].plot(self.k, self.inertia, marker="o", color=_style.color(0), label="inertia")
            self.lines_ = [line]
            axes[0].set(
                title="Elbow: k-means inertia",
                xlabel="number of clusters k",
                ylabel="within-cluster sum of squares",
            )
            if self.gap is not None:
                container = axes[1].errorbar(
                    self.k,
                    self.gap,
                    yerr=self.gap_se,
                    marker="o",
                    capsize=3,
                    color=_style.color(1),
                    label="gap",
                )
                self.lines_.append(container.lines[0])
                axes[1].set(
                    title="Gap statistic (higher is better)", xlabel="number of clusters k", ylabel="gap"
                )
            self.chosen_lines_ = []
            for panel in axes:
                if self.chosen_k is not None:
                    self.chosen_lines_.append(_mark_k(panel, self.chosen_k))
                    panel.legend(loc="best")
                _integer_ticks(panel)
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        return self


class SelectionDisplay:
    """Silhouette and bootstrap stability of each clustering method against its number of clusters.

    Parameters
    ----------
    table : DataFrame
        One row per fit, with columns ``method``, ``k``, ``silhouette``, ``stability`` (mean bootstrap
        adjusted Rand index), ``stability_low`` and ``stability_high`` (its interval; NaN when not
        measured), and optionally ``n_clusters``: the number of clusters found where ``k`` is NaN (a
        method that finds k, such as DBSCAN). Such rows are drawn as single diamonds at ``n_clusters``;
        without it, as a dotted horizontal line at their value.
    chosen : tuple of (str, int), optional
        The method and k kept (k None or NaN for a method that finds k), starred on both panels.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of Axes
        The silhouette panel, then the stability panel.
    ax_ : matplotlib Axes
        The silhouette panel.
    methods_ : list of str
        The methods, in their first order in the table (the i-th takes the i-th palette colour).
    chosen_markers_ : list of PathCollection
        The stars of the kept fit, one per panel (empty when not found in the table).
    """

    COLUMNS = ("method", "k", "silhouette", "stability", "stability_low", "stability_high")

    def __init__(self, *, table: pd.DataFrame, chosen: tuple[str, Any] | None = None) -> None:
        missing = [c for c in self.COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"the selection table lacks the columns {missing}")
        frame = table.copy()
        for column in [*self.COLUMNS[1:], "n_clusters"]:
            frame[column] = _floats(frame[column]) if column in frame.columns else np.nan
        frame["method"] = frame["method"].astype(str)
        # where each row is drawn: at its k, or for a method that finds k at the number found
        frame["x"] = frame["k"].where(frame["k"].notna(), frame["n_clusters"])
        self.table = frame
        self.chosen = chosen

    @classmethod
    def from_table(
        cls, table: pd.DataFrame, chosen: tuple[str, Any] | None = None, *, ax: Any = None
    ) -> Self:
        """Draw the selection table of a clustering search.

        Returns
        -------
        SelectionDisplay
        """
        return cls(table=table, chosen=chosen).plot(ax=ax)

    def _chosen_row(self) -> pd.Series | None:
        if self.chosen is None:
            return None
        method, k = self.chosen
        rows = self.table[self.table["method"] == str(method)]
        k_value = _floats([k])[0]
        if np.isnan(k_value):
            rows = rows[rows["k"].isna()]
        else:
            rows = rows[(rows["k"] == k_value) | (rows["k"].isna() & (rows["n_clusters"] == k_value))]
        return None if rows.empty else rows.iloc[0]

    def plot(self, ax: Any = None) -> Self:
        """Draw the two panels on ``ax`` (a new figure when None; one axes is split); return self."""
        self.methods_ = list(pd.unique(self.table["method"]))
        with _style.style():
            fig, axes = _panels(2, ax)
            for i, method in enumerate(self.methods_):
                rows = self.table[self.table["method"] == method]
                self._draw_method(axes, rows, method, _style.color(i))
            self.chosen_markers_ = []
            row = self._chosen_row()
            if row is not None:
                label = f"chosen: {row['method']}" + (f", k = {row['x']:g}" if np.isfinite(row["x"]) else "")
                for panel, column in zip(axes, ("silhouette", "stability"), strict=True):
                    if np.isfinite(row["x"]) and np.isfinite(row[column]):
                        self.chosen_markers_.append(
                            panel.scatter(
                                row["x"],
                                row[column],
                                marker="*",
                                s=260,
                                color=_style.HIGHLIGHT,
                                edgecolors="black",
                                linewidths=0.6,
                                zorder=5,
                                label=label,
                            )
                        )
            axes[0].set(
                title="Silhouette (higher is better)", xlabel="number of clusters", ylabel="mean silhouette"
            )
            axes[1].set(
                title="Stability under resampling",
                xlabel="number of clusters",
                ylabel="adjusted Rand index (bootstrap)",
            )
            if not np.isfinite(self.table["stability"]).any():
                axes[1].text(0.5, 0.5, "not measured", ha="center", va="center", transform=axes[1].transAxes)
            for panel in axes:
                _integer_ticks(panel)
            if self.methods_:
                axes[0].legend(loc="best")
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        return self

    @staticmethod
    def _draw_method(axes: list[Axes], rows: pd.DataFrame, method: str, colour: str) -> None:
        """One method on both panels: a line over the k tried, diamonds for the k found."""
        tried = rows[rows["k"].notna()].sort_values("x")
        found = rows[rows["k"].isna() & rows["x"].notna()]
        unplaced = rows[rows["x"].isna()]
        label: str | None = method
        if len(tried):
            axes[0].plot(tried["x"], tried["silhouette"], marker="o", color=colour, label=label)
            axes[1].plot(tried["x"], tried["stability"], marker="o", color=colour)
            low, high = tried["stability_low"].to_numpy(), tried["stability_high"].to_numpy()
            if (np.isfinite(low) & np.isfinite(high)).any():
                axes[1].fill_between(tried["x"], low, high, color=colour, alpha=0.18, linewidth=0)
            label = None
        if len(found):
            axes[0].plot(found["x"], found["silhouette"], "D", markersize=7, color=colour, label=label)
            low = (found["stability"] - found["stability_low"]).clip(lower=0).fillna(0.0)
            high = (found["stability_high"] - found["stability"]).clip(lower=0).fillna(0.0)
            axes[1].errorbar(
                found["x"],
                found["stability"],
                yerr=[low, high],
                fmt="D",
                markersize=7,
                capsize=3,
                color=colour,
            )
            label = None
        for _, row in unplaced.iterrows():
            text = f"{method} (clusters found)" if label else None
            axes[0].axhline(row["silhouette"], color=colour, linestyle=":", linewidth=1.5, label=text)
            if np.isfinite(row["stability"]):
                axes[1].axhline(row["stability"], color=colour, linestyle=":", linewidth=1.5)
            label = None


class BICDisplay:
    """Bayesian information criterion of a Gaussian mixture against its number of components.

    Parameters
    ----------
    k : sequence of int
        The numbers of components tried.
    bic : sequence of float
        BIC of the fit at each ``k`` (lower is better).
    chosen_k : int, optional
        The number kept, marked with a dashed line.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    line_ : Line2D
    chosen_line_ : Line2D or None
    """

    def __init__(self, *, k: Sequence[int], bic: Sequence[float], chosen_k: int | None = None) -> None:
        self.k = _floats(k)
        self.bic = _floats(bic)
        if len(self.k) != len(self.bic):
            raise ValueError(f"k has {len(self.k)} values but bic has {len(self.bic)}")
        self.chosen_k = chosen_k

    @classmethod
    def from_values(
        cls, k: Sequence[int], bic: Sequence[float], chosen_k: int | None = None, *, ax: Axes | None = None
    ) -> Self:
        """Draw the BIC of a Gaussian mixture search.

        Returns
        -------
        BICDisplay
        """
        return cls(k=k, bic=bic, chosen_k=chosen_k).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax)
            (self.line_,) = ax.plot(self.k, self.bic, marker="o", color=_style.color(0), label="BIC")
            self.chosen_line_ = None if self.chosen_k is None else _mark_k(ax, self.chosen_k)
            ax.set(
                title="Gaussian mixture: BIC (lower is better)",
                xlabel="number of components k",
                ylabel="BIC",
            )
            _integer_ticks(ax)
            ax.legend(loc="best")
        self.figure_, self.ax_ = fig, ax
        return self


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
        values = _floats(distances)
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


# ------------------------------------------------------------------------------------ reading clusters


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
        values = _floats(silhouette_values)
        groups = np.asarray(labels)
        if len(values) != len(groups):
            raise ValueError(f"silhouette_values has {len(values)} rows but labels has {len(groups)}")
        noise = np.asarray([_label_text(v) == "noise" for v in groups.tolist()], dtype=np.bool_)
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
        styles = _label_styles(self.labels)
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
            ax.set_yticks(range(rows), [_label_text(r) for r in self.profile_.index])
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


# ----------------------------------------------------------------------------------- PCA and projections


class ScreeDisplay:
    """Share of the variance each principal component explains, with the cumulative share.

    Parameters
    ----------
    explained_variance_ratio : sequence of float
        Share of each component, largest first (the first 20 are drawn; the cumulative share counts
        all).

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    bars_ : BarContainer
    cumulative_line_ : Line2D
    target_line_ : Line2D
        The dotted line at 80% of the variance.
    n_components_80_ : int or None
        Components needed to reach 80% (None when the components given do not).
    """

    def __init__(self, *, explained_variance_ratio: Sequence[float]) -> None:
        self.explained_variance_ratio = np.nan_to_num(_floats(explained_variance_ratio), nan=0.0)
        if not len(self.explained_variance_ratio):
            raise ValueError("explained_variance_ratio holds no component")

    @classmethod
    def from_ratios(cls, explained_variance_ratio: Sequence[float], *, ax: Axes | None = None) -> Self:
        """Draw the scree plot of a PCA.

        Returns
        -------
        ScreeDisplay
        """
        return cls(explained_variance_ratio=explained_variance_ratio).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        cumulative = np.cumsum(self.explained_variance_ratio)
        reached = np.nonzero(cumulative >= VARIANCE_TARGET - 1e-9)[0]
        self.n_components_80_ = int(reached[0]) + 1 if len(reached) else None
        shown = min(MAX_COMPONENTS, len(cumulative))
        x = np.arange(1, shown + 1)
        with _style.style():
            fig, ax = _style.new_axes(ax)
            self.bars_ = ax.bar(
                x,
                self.explained_variance_ratio[:shown],
                color=_style.color(0),
                alpha=0.8,
                label="each component",
            )
            (self.cumulative_line_,) = ax.plot(
                x, cumulative[:shown], marker="o", color=_style.color(1), label="cumulative"
            )
            needed = f" ({self.n_components_80_} components)" if self.n_components_80_ else ""
            self.target_line_ = ax.axhline(
                VARIANCE_TARGET,
                color=_style.REFERENCE,
                linestyle=":",
                linewidth=1.2,
                label=f"80% of variance{needed}",
            )
            ax.set_ylim(0, 1.04)
            ax.yaxis.set_major_formatter(_percent)
            _integer_ticks(ax)
            more = f" (first {shown} of {len(cumulative)})" if shown < len(cumulative) else ""
            ax.set(
                title=f"Variance explained by each principal component{more}",
                xlabel="principal component",
                ylabel="share of variance",
            )
            ax.legend(loc="center right")
        self.figure_, self.ax_ = fig, ax
        return self


def _percent(value: float, _position: Any = None) -> str:
    return f"{value:.0%}"


class BiplotDisplay:
    """Rows on their first two principal components, with arrows for the most weighted features.

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        PC1 and PC2 scores of each row (a seeded sample of at most 5,000 drawn).
    loadings : ndarray of shape (2, p)
        Weight of each feature in PC1 and PC2 (``PCA.components_[:2]``).
    feature_names : sequence of str
        The ``p`` features.
    labels : sequence, optional
        Cluster of each row, for the colours (-1 noise, grey).
    explained : sequence of 2 float, optional
        Share of the variance of PC1 and PC2, for the axis labels.
    max_points : int, default=5000
        Rows drawn at most (a seeded sample; the legend still counts every row).
    random_state : int, default=0
        Seed of the sample.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    collections_ : list of PathCollection
        One per label (one in all without labels).
    rows_ : ndarray of int
        Positions of the rows drawn.
    arrows_ : list of Annotation
        At most 8, the features with the longest loading vectors, longest first.
    arrow_features_ : list of str
    scale_ : float
        Factor from loadings to the scores' units: the arrows' largest coordinate on either axis reaches
        80% of the points' largest absolute score on that axis.
    """

    def __init__(
        self,
        *,
        coords: Any,
        loadings: Any,
        feature_names: Sequence[str],
        labels: Sequence[Any] | None = None,
        explained: Sequence[float] | None = None,
        max_points: int = MAX_POINTS,
        random_state: int = 0,
    ) -> None:
        self.coords, self.labels = _points(coords, labels)
        self.max_points = max_points
        self.random_state = random_state
        self.loadings = np.asarray(loadings, dtype=float)
        self.feature_names = [str(f) for f in feature_names]
        if (
            self.loadings.ndim != 2
            or self.loadings.shape[0] < 2
            or self.loadings.shape[1] != len(self.feature_names)
        ):
            raise ValueError(
                f"loadings must have shape (2, {len(self.feature_names)}) to match the features; "
                f"got {self.loadings.shape}"
            )
        self.explained = None if explained is None else _floats(explained)

    @classmethod
    def from_pca(
        cls,
        coords: Any,
        loadings: Any,
        feature_names: Sequence[str],
        labels: Sequence[Any] | None = None,
        explained: Sequence[float] | None = None,
        *,
        ax: Axes | None = None,
    ) -> Self:
        """Draw the biplot of a PCA fit.

        Returns
        -------
        BiplotDisplay
        """
        return cls(
            coords=coords, loadings=loadings, feature_names=feature_names, labels=labels, explained=explained
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        self.rows_ = sample_index(len(self.coords), self.max_points, self.random_state)
        weights = np.nan_to_num(self.loadings[:2].T, nan=0.0)  # (p, 2)
        length = np.hypot(weights[:, 0], weights[:, 1])
        order = np.argsort(-length, kind="stable")[:MAX_ARROWS]
        order = order[length[order] > 0]
        finite = self.coords[np.isfinite(self.coords).all(axis=1)]
        extent = np.abs(finite).max(axis=0) if len(finite) else np.ones(2)
        extent[extent == 0] = 1.0
        reach = np.abs(weights[order]).max(axis=0) if len(order) else np.ones(2)
        # the arrows keep their proportions; the longest component reaches 80% of the cloud on its axis
        with np.errstate(divide="ignore"):
            self.scale_ = (
                0.8 * float(np.min(np.where(reach > 0, extent / reach, np.inf))) if len(order) else 1.0
            )
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            self.collections_ = _scatter_by_label(ax, self.coords, self.labels, self.rows_)
            self.arrows_, self.arrow_features_ = [], []
            for j in order:
                tip = weights[j] * self.scale_
                self.arrows_.append(
                    ax.annotate(
                        "",
                        xy=(tip[0], tip[1]),
                        xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": _style.REFERENCE, "linewidth": 1.3},
                        zorder=4,
                    )
                )
                ax.text(
                    tip[0] * 1.08,
                    tip[1] * 1.08,
                    short(self.feature_names[j], 20),
                    ha="left" if tip[0] >= 0 else "right",
                    va="bottom" if tip[1] >= 0 else "top",
                    fontsize=8.5,
                    zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0},
                )
                self.arrow_features_.append(self.feature_names[j])
            if len(order):  # the points may lie on one side: make room for every arrow and its name
                ax.update_datalim(weights[order] * self.scale_ * 1.15)
                ax.autoscale_view()
            names = ("PC1", "PC2")
            if self.explained is not None and len(self.explained) >= 2:
                ax.set_xlabel(f"PC1 ({100 * self.explained[0]:.1f}% of variance)")
                ax.set_ylabel(f"PC2 ({100 * self.explained[1]:.1f}% of variance)")
            else:
                ax.set(xlabel=names[0], ylabel=names[1])
            by = ", coloured by cluster" if self.labels is not None else ""
            ax.set_title(f"PCA biplot{by}{_sample_note(len(self.rows_), len(self.coords))}")
        self.figure_, self.ax_ = fig, ax
        return self


class ClusterProjectionDisplay:
    """Rows in two dimensions (PCA, t-SNE, ...) coloured by cluster, or by an anomaly flag.

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        The rows' two coordinates (a seeded sample of at most 5,000 drawn).
    labels : sequence
        Cluster of each row (-1 noise, grey), or booleans: True "anomaly" drawn on top in a strong
        colour, False "normal" in light grey.
    title, xlabel, ylabel : str
        The texts of the figure (the title gains the sample size when rows are left out).
    max_points : int, default=5000
        Rows drawn at most (a seeded sample; the legend still counts every row).
    random_state : int, default=0
        Seed of the sample.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    collections_ : list of PathCollection
        One per label, in legend order (clusters, then noise; or normal, then anomaly).
    rows_ : ndarray of int
        Positions of the rows drawn.
    """

    def __init__(
        self,
        *,
        coords: Any,
        labels: Sequence[Any] | None,
        title: str = "Clusters in two dimensions",
        xlabel: str = "component 1",
        ylabel: str = "component 2",
        max_points: int = MAX_POINTS,
        random_state: int = 0,
    ) -> None:
        self.coords, self.labels = _points(coords, labels)
        self.max_points = max_points
        self.random_state = random_state
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel

    @classmethod
    def from_coords(
        cls,
        coords: Any,
        labels: Sequence[Any] | None,
        title: str = "Clusters in two dimensions",
        xlabel: str = "component 1",
        ylabel: str = "component 2",
        *,
        ax: Axes | None = None,
    ) -> Self:
        """Draw the rows at ``coords`` coloured by ``labels``.

        Returns
        -------
        ClusterProjectionDisplay
        """
        return cls(coords=coords, labels=labels, title=title, xlabel=xlabel, ylabel=ylabel).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw on ``ax`` (a new figure when None); return self."""
        self.rows_ = sample_index(len(self.coords), self.max_points, self.random_state)
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=_style.SQUARE)
            self.collections_ = _scatter_by_label(ax, self.coords, self.labels, self.rows_)
            ax.set(
                title=f"{self.title}{_sample_note(len(self.rows_), len(self.coords))}",
                xlabel=self.xlabel,
                ylabel=self.ylabel,
            )
        self.figure_, self.ax_ = fig, ax
        return self


# ------------------------------------------------------------------------------------------- anomalies


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
        values = _floats(scores)
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
