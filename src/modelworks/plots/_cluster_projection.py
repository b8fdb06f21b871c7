"""Displays of the rows in two dimensions: the PCA scree plot and biplot, and any 2-D projection coloured
by cluster or anomaly flag."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._cluster_common import as_floats, integer_ticks, label_styles
from modelworks.plots._frame import MAX_POINTS, sample_index, short

#: Components shown at most in the scree plot, and feature arrows at most in the biplot.
MAX_COMPONENTS = 20
MAX_ARROWS = 8
#: Share of the variance marked in the scree plot.
VARIANCE_TARGET = 0.8


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
    :func:`label_styles`), with a legend counting every row of each label."""
    size = 12 if len(rows) > 1000 else 20
    shown = coords[rows]
    if labels is None:
        return [ax.scatter(shown[:, 0], shown[:, 1], s=size, alpha=0.6, color=_style.color(0), linewidths=0)]
    collections = []
    styles = label_styles(labels)
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
        self.explained_variance_ratio = np.nan_to_num(as_floats(explained_variance_ratio), nan=0.0)
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
            integer_ticks(ax)
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
        self.explained = None if explained is None else as_floats(explained)

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
