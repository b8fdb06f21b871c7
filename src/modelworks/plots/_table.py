"""Table-wide Displays: associations between columns and the map of missing values."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from modelworks.plots import _style
from modelworks.plots._association import association_matrix
from modelworks.plots._frame import align, as_frame, sample_index, short

#: Heatmaps with at most this many columns have their cells annotated.
ANNOTATE_MAX = 12


class AssociationHeatmapDisplay:
    """Heatmap of a square matrix of associations between columns.

    Parameters
    ----------
    matrix : DataFrame
        Square, the same labels on both axes; values in [-1, 1].
    title : str, optional
        The figure title.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    image_ : AxesImage
    colorbar_ : Colorbar
    texts_ : list of Text
        Cell annotations (none for large matrices).
    """

    def __init__(self, *, matrix: pd.DataFrame, title: str | None = None) -> None:
        self.matrix = matrix
        self.title = title

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series | None = None,
        *,
        numeric_method: str = "spearman",
        max_columns: int = 30,
        max_levels: int = 50,
        max_rows: int = 20_000,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Compute associations between the columns of ``X`` (and ``y``, last) and draw them.

        Numeric pairs use the Spearman (or Pearson) correlation, categorical pairs Cramér's V and
        numeric-categorical pairs the correlation ratio η.

        Parameters
        ----------
        X : DataFrame
            Raw features.
        y : Series, optional
            The target, added as the last column.
        numeric_method : {"spearman", "pearson"}, default="spearman"
        max_columns : int, default=30
            Columns kept at most (the first ones).
        max_levels : int, default=50
            Categorical columns with more levels are left out.
        max_rows : int, default=20000
            Rows used at most (a seeded sample).
        random_state : int, default=0
        ax : Axes, optional

        Returns
        -------
        AssociationHeatmapDisplay
        """
        X = as_frame(X)
        if y is not None:
            X, y, _ = align(X, y, None)
            name = str(y.name) if str(y.name) not in X.columns else f"{y.name} (target)"
            X = X.iloc[:, : max_columns - 1].assign(**{name: y})
        X = X.iloc[sample_index(len(X), max_rows, random_state)]
        matrix = association_matrix(
            X, numeric_method=numeric_method, max_columns=max_columns, max_levels=max_levels
        )
        if matrix.empty:
            raise ValueError("X has no numeric or low-cardinality categorical column to associate")
        symbol = "ρ" if numeric_method == "spearman" else "r"
        title = f"Associations (numeric: {numeric_method.title()} {symbol}; categorical: Cramér's V, η)"
        return cls(matrix=matrix, title=title).plot(ax=ax)

    @classmethod
    def from_matrix(cls, matrix: pd.DataFrame, *, title: str | None = None, ax: Axes | None = None) -> Self:
        """Draw a precomputed square association matrix (values in [-1, 1]).

        Returns
        -------
        AssociationHeatmapDisplay
        """
        if matrix.shape[0] != matrix.shape[1] or list(matrix.index) != list(matrix.columns):
            raise ValueError("the association matrix must be square with the same labels on both axes")
        return cls(matrix=matrix.astype(float), title=title).plot(ax=ax)

    def plot(self, ax: Axes | None = None, *, annotate: bool | None = None) -> Self:
        """Draw the heatmap on ``ax``; cells are annotated when ``annotate`` or (default) when small."""
        n = self.matrix.shape[0]
        annotate = n <= ANNOTATE_MAX if annotate is None else annotate
        side = min(max(_style.FIGSIZE[0], 0.42 * n + 2.8), 16.0)
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=(side + 1.0, side))
            cmap = _style.colormap(_style.DIVERGING_CMAP).with_extremes(bad="#EEEEEE")
            values = self.matrix.to_numpy(dtype=float)
            self.image_ = ax.imshow(
                np.ma.masked_invalid(values), cmap=cmap, vmin=-1, vmax=1, interpolation="nearest"
            )
            labels = [short(c, 22) for c in self.matrix.columns]
            ax.set_xticks(range(n), labels, rotation=45, ha="right", rotation_mode="anchor")
            ax.set_yticks(range(n), labels)
            ax.grid(False)
            ax.tick_params(length=0)
            ax.set_xlabel("column")
            ax.set_ylabel("column")
            self.texts_ = []
            if annotate:
                for (i, j), v in np.ndenumerate(values):
                    if np.isfinite(v):
                        self.texts_.append(
                            ax.text(
                                j,
                                i,
                                f"{v:.2f}",
                                ha="center",
                                va="center",
                                fontsize=8,
                                color="white" if abs(v) > 0.6 else "black",
                            )
                        )
            self.colorbar_ = fig.colorbar(self.image_, ax=ax, shrink=0.8)
            self.colorbar_.set_label("association")
            ax.set_title(self.title or "Associations between columns")
        self.figure_, self.ax_ = fig, ax
        return self


class MissingValuesDisplay:
    """Where values are missing: a rows × columns map of sampled rows and the missing share per column.

    Parameters
    ----------
    mask : DataFrame of bool
        Missing (True) or present, for the sampled rows and the columns shown.
    share : Series
        Missing share of each column shown, over the whole table.
    n_rows : int
        Rows in the whole table.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
        The map (or the message when nothing is missing).
    bar_ax_ : matplotlib Axes or None
        The bars of the missing share per column.
    image_ : AxesImage or None
    bars_ : BarContainer or None
    """

    def __init__(self, *, mask: pd.DataFrame, share: pd.Series, n_rows: int) -> None:
        self.mask = mask
        self.share = share
        self.n_rows = n_rows

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        *,
        max_rows: int = 500,
        max_columns: int = 60,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Map the missing values of ``X``.

        Parameters
        ----------
        X : DataFrame
        max_rows : int, default=500
            Rows shown at most (a seeded sample, in table order).
        max_columns : int, default=60
            Columns shown at most (those with the most missing values, in table order).
        random_state : int, default=0
        ax : Axes, optional

        Returns
        -------
        MissingValuesDisplay
        """
        X = as_frame(X)
        share = X.isna().mean()
        if len(share) > max_columns:
            keep = set(share.sort_values(ascending=False, kind="stable").index[:max_columns])
            share = share[[c in keep for c in share.index]]
        mask = X.iloc[sample_index(len(X), max_rows, random_state)][list(share.index)].isna()
        return cls(mask=mask, share=share, n_rows=len(X)).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the map, with the bars above it; a message instead when nothing is missing."""
        n_cols = self.mask.shape[1]
        width = min(max(_style.FIGSIZE[0], 0.32 * n_cols + 2.0), 16.0)
        self.image_ = self.bars_ = self.bar_ax_ = None
        with _style.style():
            fig: Any
            if ax is None and self.share.any():
                fig, (bar_ax, ax) = _style.plt.subplots(
                    2,
                    1,
                    figsize=(width, 5.2),
                    layout="constrained",
                    sharex=True,
                    gridspec_kw={"height_ratios": [1, 3.2]},
                )
            else:
                fig, ax = _style.new_axes(ax, figsize=(width, _style.FIGSIZE[1]))
                bar_ax = ax.inset_axes((0.0, 1.04, 1.0, 0.25), sharex=ax) if self.share.any() else None
            title = f"Missing values ({self.n_rows:,} rows × {n_cols} columns)"
            if not self.share.any():
                ax.text(
                    0.5,
                    0.5,
                    "No missing values",
                    ha="center",
                    va="center",
                    fontsize=14,
                    transform=ax.transAxes,
                )
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                ax.set_xlabel("column")
                ax.set_ylabel("row")
                ax.set_title(title)
            else:
                assert bar_ax is not None
                cmap = ListedColormap(["#F2F2F2", _style.OKABE_ITO["blue"]])
                self.image_ = ax.imshow(
                    self.mask.to_numpy(dtype=float),
                    aspect="auto",
                    cmap=cmap,
                    vmin=0,
                    vmax=1,
                    interpolation="nearest",
                )
                ax.grid(False)
                ax.set_xticks(
                    range(n_cols),
                    [short(c, 18) for c in self.mask.columns],
                    rotation=45,
                    ha="right",
                    rotation_mode="anchor",
                )
                ax.set_xlabel("column")
                ax.set_ylabel(f"row ({len(self.mask):,} sampled)" if len(self.mask) < self.n_rows else "row")
                ax.legend(
                    handles=[Patch(color=_style.OKABE_ITO["blue"], label="missing")],
                    loc="upper right",
                    bbox_to_anchor=(1.0, -0.25 if n_cols > 8 else -0.12),
                    frameon=False,
                )
                self.bars_ = bar_ax.bar(
                    range(n_cols), self.share.to_numpy(), color=_style.OKABE_ITO["orange"]
                )
                bar_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
                bar_ax.set_ylim(0, max(float(self.share.max()), 0.05) * 1.1)
                bar_ax.set_ylabel("missing")
                bar_ax.tick_params(axis="x", labelbottom=False)
                bar_ax.set_title(title)
                self.bar_ax_ = bar_ax
        self.figure_, self.ax_ = fig, ax
        return self
