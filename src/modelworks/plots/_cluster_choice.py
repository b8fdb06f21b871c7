"""Displays that choose the number of clusters: the k-means elbow and gap statistic, the silhouette and
stability of each method, and the BIC of a Gaussian mixture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._cluster_common import as_floats, integer_ticks


def _optional(values: Any) -> np.ndarray | None:
    """``values`` as floats, or None when absent or without a finite value."""
    if values is None:
        return None
    out = as_floats(values)
    return out if np.isfinite(out).any() else None


def _mark_k(ax: Axes, k: Any) -> Any:
    """A vertical dashed line at the chosen number of clusters, with its legend entry."""
    return ax.axvline(k, color=_style.REFERENCE, linestyle="--", linewidth=1.2, label=f"chosen k = {k}")


def _panels(n: int, ax: Any) -> tuple[Any, list[Axes]]:
    """``n`` side-by-side panels: a new figure when ``ax`` is None, else ``ax`` (one axes split, or a
    sequence of axes)."""
    return _style.grid_axes(n, ax, ncols=2, panel=(4.8, 3.8))


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
        self.k = as_floats(k)
        self.inertia = as_floats(inertia)
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
                integer_ticks(panel)
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
            frame[column] = as_floats(frame[column]) if column in frame.columns else np.nan
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
        k_value = as_floats([k])[0]
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
                integer_ticks(panel)
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
        self.k = as_floats(k)
        self.bic = as_floats(bic)
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
            integer_ticks(ax)
            ax.legend(loc="best")
        self.figure_, self.ax_ = fig, ax
        return self
