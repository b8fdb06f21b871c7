"""Small multiples of the numeric features: histograms and box plots split by the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch

from modelworks.plots import _style
from modelworks.plots._frame import align, as_frame, numeric_frame, pooled_classes, short


def _numeric_features(X: pd.DataFrame, features: Sequence[str] | None, max_features: int) -> pd.DataFrame:
    data = numeric_frame(X, features)
    if data.shape[1] == 0:
        raise ValueError("X has no numeric feature with at least two distinct values to draw")
    return data.iloc[:, :max_features]


def _groups(target: pd.Series | None, task: str | None, n_bins: int = 4) -> tuple[pd.Series | None, list]:
    """Row groups to split by: the classes (rare ones pooled), target quantile bins, or none."""
    if target is None:
        return None, []
    if task == "regression":
        bins = pd.qcut(target, q=n_bins, duplicates="drop")
        labels = [f"{interval.left:.3g} – {interval.right:.3g}" for interval in bins.cat.categories]
        return bins.cat.rename_categories(labels).astype(object), labels
    return pooled_classes(target)


class FeatureHistogramDisplay:
    """Histograms of numeric features, one panel per feature, one layer per target class.

    Parameters
    ----------
    data : DataFrame
        The numeric features (float), one column per panel.
    target : Series or None
        Class labels (classification) or values (regression) on the same index, or None.
    task : str or None
        ``"binary"``, ``"multiclass"`` or ``"regression"``; None without a target.
    bins : int, default=30
        Number of bins per histogram.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes
        One per feature.
    ax_ : matplotlib Axes
        The first panel.
    classes_ : list
        The class of each layer (classification), else empty.
    """

    def __init__(
        self, *, data: pd.DataFrame, target: pd.Series | None = None, task: str | None = None, bins: int = 30
    ) -> None:
        self.data = data
        self.target = target
        self.task = task
        self.bins = bins

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series | None = None,
        *,
        task: str | None = None,
        features: Sequence[str] | None = None,
        max_features: int = 12,
        bins: int = 30,
        ax: Any = None,
    ) -> Self:
        """Histograms of up to ``max_features`` numeric features of ``X``, split by the classes of ``y``.

        Parameters
        ----------
        X : DataFrame
            Raw features; numeric text is parsed and non-numeric columns are skipped.
        y : Series, optional
            The target; histograms are split by class for classification.
        task : str, optional
            The task; inferred from ``y`` when None.
        features : sequence of str, optional
            The columns to draw (default: the numeric ones, in order).
        max_features : int, default=12
            Panels drawn at most.
        bins : int, default=30
            Bins per histogram.
        ax : Axes or array of Axes, optional
            Where to draw (see :meth:`plot`).

        Returns
        -------
        FeatureHistogramDisplay
        """
        if y is not None:
            X, y, task = align(X, y, task)
        data = _numeric_features(as_frame(X), features, max_features)
        return cls(data=data, target=y, task=task, bins=bins).plot(ax=ax)

    def plot(self, ax: Any = None, *, density: bool | None = None) -> Self:
        """Draw the histograms.

        Parameters
        ----------
        ax : Axes or array of Axes, optional
            None for a new figure; at least one axes per feature; or one axes whose area is divided.
        density : bool, optional
            Normalise each layer to unit area (default when split by class, so that classes of different
            sizes compare).

        Returns
        -------
        FeatureHistogramDisplay
            self, drawn.
        """
        split = self.target is not None and self.task != "regression"
        groups, labels = _groups(self.target, "classification") if split else (None, [])
        density = split if density is None else density
        # filled layers stay readable for a few classes only; beyond that, outlines
        fill = 0.3 if len(labels) <= 3 else 0.0
        with _style.style():
            fig, axes = _style.grid_axes(self.data.shape[1], ax)
            for panel, name in zip(axes, self.data.columns, strict=True):
                values = self.data[name]
                finite = values[np.isfinite(values)]
                edges = np.histogram_bin_edges(finite, bins=min(self.bins, max(finite.nunique(), 1)))
                if groups is None:
                    panel.hist(
                        finite,
                        bins=list(edges),
                        density=density,
                        histtype="stepfilled",
                        color=_style.color(0),
                        alpha=0.85,
                    )
                for i, label in enumerate(labels):
                    assert groups is not None
                    part = values[(groups == label).to_numpy()]
                    colour = _style.color(i)
                    panel.hist(
                        part[np.isfinite(part)],
                        bins=list(edges),
                        density=density,
                        histtype="stepfilled",
                        facecolor=(*to_rgb(colour), fill),
                        edgecolor=colour,
                        linewidth=1.3 if fill else 1.6,
                        label=short(label),
                    )
                panel.set_title(short(name, 32), fontsize=10.5)
                panel.set_xlabel(short(name, 32))
                panel.set_ylabel("density" if density else "count")
            title = "Numeric features"
            if split:
                assert self.target is not None
                title += f" by {short(self.target.name)}"
                handles = [
                    Patch(facecolor=(*to_rgb(_style.color(i)), fill), edgecolor=_style.color(i))
                    for i in range(len(labels))
                ]
                axes[0].legend(handles, [short(lab) for lab in labels], title=short(self.target.name))
            fig.suptitle(title)
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        self.classes_ = labels
        return self


class BoxPlotDisplay:
    """Box plots of numeric features, one panel per feature, one box per class (or target quantile bin).

    Parameters
    ----------
    data : DataFrame
        The numeric features (float), one column per panel.
    target : Series or None
        The target on the same index, or None for one box per feature.
    task : str or None
        The task; for regression the boxes are quantile bins of the target.
    n_bins : int, default=4
        Target quantile bins for regression.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes
    ax_ : matplotlib Axes
        The first panel.
    groups_ : list of str
        The box labels, in order.
    boxes_ : list of dict
        Per panel, the artists returned by :meth:`matplotlib.axes.Axes.boxplot`.
    """

    def __init__(
        self,
        *,
        data: pd.DataFrame,
        target: pd.Series | None = None,
        task: str | None = None,
        n_bins: int = 4,
    ) -> None:
        self.data = data
        self.target = target
        self.task = task
        self.n_bins = n_bins

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series | None = None,
        *,
        task: str | None = None,
        features: Sequence[str] | None = None,
        max_features: int = 12,
        n_bins: int = 4,
        ax: Any = None,
    ) -> Self:
        """Box plots of up to ``max_features`` numeric features of ``X`` by class of ``y``.

        Parameters are those of :meth:`FeatureHistogramDisplay.from_data`, with ``n_bins``: the target
        quantile bins used for a regression target.

        Returns
        -------
        BoxPlotDisplay
        """
        if y is not None:
            X, y, task = align(X, y, task)
        data = _numeric_features(as_frame(X), features, max_features)
        return cls(data=data, target=y, task=task, n_bins=n_bins).plot(ax=ax)

    def plot(self, ax: Any = None) -> Self:
        """Draw the box plots on ``ax`` (as in :meth:`FeatureHistogramDisplay.plot`); return self."""
        groups, labels = _groups(self.target, self.task, self.n_bins)
        regression = self.task == "regression"
        colours: list[Any]
        if regression:
            cmap = _style.colormap(_style.SEQUENTIAL_CMAP)
            colours = [cmap(0.15 + 0.7 * i / max(len(labels) - 1, 1)) for i in range(len(labels))]
        else:
            colours = [_style.color(i) for i in range(len(labels))]
        self.boxes_ = []
        with _style.style():
            fig, axes = _style.grid_axes(self.data.shape[1], ax)
            for panel, name in zip(axes, self.data.columns, strict=True):
                values = self.data[name]
                if groups is None:
                    parts = [values[np.isfinite(values)].to_numpy()]
                    colours_here: list[Any] = [_style.color(0)]
                else:
                    parts = [values[(groups == g).to_numpy()].dropna().to_numpy() for g in labels]
                    colours_here = colours
                keep = [i for i, p in enumerate(parts) if len(p)]
                artists = panel.boxplot(
                    [parts[i] for i in keep],
                    positions=[i + 1 for i in keep],
                    widths=0.6,
                    patch_artist=True,
                    medianprops={"color": "black", "linewidth": 1.5},
                    flierprops={"marker": ".", "markersize": 3, "alpha": 0.5},
                )
                for box, i in zip(artists["boxes"], keep, strict=True):
                    box.set_facecolor(colours_here[i])
                    box.set_alpha(0.75)
                ticks = labels if groups is not None else ["all rows"]
                panel.set_xticks(range(1, len(ticks) + 1), [short(t, 14) for t in ticks])
                if regression or len(ticks) > 4:
                    panel.tick_params(axis="x", labelrotation=30)
                panel.set_title(short(name, 32), fontsize=10.5)
                panel.set_ylabel(short(name, 32))
                target_name = short(self.target.name) if self.target is not None else ""
                panel.set_xlabel(f"{target_name} (quantile bin)" if regression else target_name or " ")
                self.boxes_.append(artists)
            by = f" by {short(self.target.name)}" if self.target is not None else ""
            fig.suptitle(f"Numeric features{by}")
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        self.groups_ = [str(g) for g in labels]
        return self
