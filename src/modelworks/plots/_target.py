"""Displays of the target: its distribution, and how it varies across the levels of one feature."""

from __future__ import annotations

from typing import Any, Self, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter
from scipy import stats

from modelworks.plots import _style
from modelworks.plots._frame import (
    MAX_POINTS,
    MISSING,
    OTHER,
    align,
    infer_task,
    is_numeric,
    pooled_classes,
    positive_label,
    sample_index,
    short,
    to_numeric,
)


class TargetDistributionDisplay:
    """The target: class counts (classification) or a histogram with a density curve and quartiles.

    Parameters
    ----------
    target : Series
        The target values (missing ones dropped).
    task : str
        The task.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    bars_ : BarContainer or None
        One bar per class (classification).
    lines_ : list of Line2D
        The density curve and the quartile lines (regression).
    """

    def __init__(self, *, target: pd.Series, task: str) -> None:
        self.target = target
        self.task = task

    @classmethod
    def from_data(
        cls, y: pd.Series, *, task: str | None = None, max_classes: int = 30, ax: Axes | None = None
    ) -> Self:
        """Draw the distribution of the target ``y``.

        Parameters
        ----------
        y : Series
        task : str, optional
            Inferred from ``y`` when None.
        max_classes : int, default=30
            Classes shown at most; the rarest are pooled as "other".
        ax : Axes, optional

        Returns
        -------
        TargetDistributionDisplay
        """
        target = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y), name="target")
        target = target.dropna().rename(target.name if target.name is not None else "target")
        task = infer_task(target, task)
        if task == "regression":
            target = to_numeric(target).dropna()
        else:
            target = pooled_classes(target, max_classes)[0]
        return cls(target=target, task=task).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the bars or the histogram on ``ax``; return self."""
        name = short(self.target.name, 40)
        self.bars_ = None
        self.lines_: list[Any] = []
        with _style.style():
            fig, ax = _style.new_axes(ax)
            if self.task == "regression":
                self._histogram(ax)
                ax.set_xlabel(name)
                ax.set_ylabel("density")
                ax.set_title(f"Distribution of {name} ({len(self.target):,} rows)")
            else:
                counts = self.target.value_counts()
                labels = [lab for lab in counts.index if lab != OTHER] + ([OTHER] if OTHER in counts else [])
                counts = counts[labels]
                colours = [_style.color(i) for i in range(len(counts))]
                self.bars_ = ax.bar([short(c, 16) for c in counts.index], counts.to_numpy(), color=colours)
                shares = counts / counts.sum()
                ax.bar_label(
                    self.bars_,
                    [f"{n:,}\n{s:.0%}" for n, s in zip(counts, shares, strict=True)],
                    fontsize=8.5,
                    padding=2,
                )
                ax.margins(y=0.18)
                if len(counts) > 6:
                    ax.tick_params(axis="x", labelrotation=45)
                ax.grid(axis="x", visible=False)
                ax.set_xlabel(name)
                ax.set_ylabel("rows")
                ax.set_title(f"Classes of {name} ({len(self.target):,} rows)")
        self.figure_, self.ax_ = fig, ax
        return self

    def _histogram(self, ax: Axes) -> None:
        values = self.target.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        ax.hist(
            values,
            bins=min(40, max(len(np.unique(values)), 1)),
            density=True,
            color=_style.OKABE_ITO["sky_blue"],
            alpha=0.8,
            label="histogram",
        )
        if len(np.unique(values)) > 2:
            sample = values[sample_index(len(values), MAX_POINTS, 0)]
            grid = np.linspace(values.min(), values.max(), 200)
            (kde,) = ax.plot(
                grid, stats.gaussian_kde(sample)(grid), color=_style.OKABE_ITO["blue"], label="density (KDE)"
            )
            self.lines_.append(kde)
        q25, q50, q75 = np.quantile(values, [0.25, 0.5, 0.75])
        self.lines_.append(ax.axvline(q50, color=_style.HIGHLIGHT, linestyle="--", label=f"median {q50:.3g}"))
        for q in (q25, q75):
            self.lines_.append(ax.axvline(q, color=_style.REFERENCE, linestyle=":", linewidth=1.5))
        self.lines_[-2].set_label(f"quartiles {q25:.3g}, {q75:.3g}")
        ax.legend()


class TargetRateDisplay:
    """How the target varies across the levels (or quantile bins) of one feature.

    Bars show the positive share (binary), the mean (regression) or the class shares stacked
    (multiclass) per level, with the count of each level and a reference line at the overall value.

    Parameters
    ----------
    table : DataFrame
        One row per level: ``level``, ``count`` and ``rate`` (binary), ``mean`` (regression) or
        ``share_<label>`` per class (multiclass), as in ``Profile.target_rates``.
    feature : str
        The feature's name.
    task : str
        The task.
    overall : float or Series
        The overall rate or mean, or (multiclass) the overall share of each class indexed by label.
    target_name : str, default="target"
    pos_label : object, optional
        The positive class (binary), for the axis label.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    bars_ : list of BarContainer
        One container (binary, regression) or one per class (multiclass), one bar per level.
    reference_lines_ : list of Line2D
        The overall rate, or the boundaries of the overall class shares.
    """

    def __init__(
        self,
        *,
        table: pd.DataFrame,
        feature: str,
        task: str,
        overall: float | pd.Series,
        target_name: str = "target",
        pos_label: Any = None,
    ) -> None:
        self.table = table
        self.feature = feature
        self.task = task
        self.overall = overall
        self.target_name = target_name
        self.pos_label = pos_label

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series,
        feature: str,
        *,
        task: str | None = None,
        pos_label: Any = None,
        max_levels: int = 20,
        n_bins: int = 5,
        ax: Axes | None = None,
    ) -> Self:
        """Compute the target rate by level of ``X[feature]`` and draw it.

        Parameters
        ----------
        X : DataFrame
        y : Series
        feature : str
            The column of ``X``: categorical (the ``max_levels`` most frequent levels, the rest as
            "other", missing as "(missing)") or numeric (``n_bins`` quantile bins).
        task : str, optional
            Inferred from ``y`` when None.
        pos_label : object, optional
            The positive class of a binary target (default: the last class in sorted order).
        max_levels : int, default=20
        n_bins : int, default=5
        ax : Axes, optional

        Returns
        -------
        TargetRateDisplay
        """
        X, target, task = align(X, y, task)
        levels = _levels(X[feature], max_levels, n_bins)
        frame = pd.DataFrame({"level": levels, "y": target})
        grouped = frame.groupby("level", observed=True, sort=False)["y"]
        table = grouped.size().rename("count").to_frame()
        overall: float | pd.Series
        if task == "binary":
            pos_label = positive_label(sorted(target.unique(), key=str), pos_label)
            table["rate"] = grouped.agg(lambda s: float((s == pos_label).mean()))
            overall = float((target == pos_label).mean())
        elif task == "regression":
            table["mean"] = grouped.mean()
            overall = float(target.mean())
        else:
            pooled, labels = pooled_classes(target)
            frame["y"] = pooled
            shares = pd.crosstab(frame["level"], frame["y"], normalize="index")
            for label in labels:
                table[f"share_{label}"] = shares.get(label, 0.0)
            overall = pooled.value_counts(normalize=True).reindex(labels).fillna(0.0)
        order = list(levels.cat.categories)
        table = table.reindex([c for c in order if c in table.index]).rename_axis("level").reset_index()
        return cls(
            table=table,
            feature=feature,
            task=task,
            overall=overall,
            target_name=str(target.name),
            pos_label=pos_label,
        ).plot(ax=ax)

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        feature: str,
        *,
        overall: float | pd.Series | None = None,
        target_name: str = "target",
        pos_label: Any = None,
        ax: Axes | None = None,
    ) -> Self:
        """Draw a precomputed rate table (as in ``Profile.target_rates[feature]``).

        The task follows the columns: ``rate`` (binary), ``mean`` (regression) or ``share_*``
        (multiclass). Without ``overall``, the count-weighted average of the levels is used.

        Returns
        -------
        TargetRateDisplay
        """
        if "rate" in table:
            task, columns = "binary", ["rate"]
        elif "mean" in table:
            task, columns = "regression", ["mean"]
        else:
            columns = [c for c in table.columns if str(c).startswith("share_")]
            if not columns:
                raise ValueError("the table needs a 'rate', 'mean' or 'share_<label>' columns")
            task = "multiclass"
        if overall is None:
            weights = table["count"].to_numpy(dtype=float)
            values = table[columns].to_numpy(dtype=float)
            ok = np.isfinite(values).all(axis=1)
            average = (values[ok] * weights[ok, None]).sum(axis=0) / max(weights[ok].sum(), 1.0)
            if task == "multiclass":
                overall = pd.Series(average, index=[c[len("share_") :] for c in columns])
            else:
                overall = float(average[0])
        return cls(
            table=table.reset_index(drop=True),
            feature=feature,
            task=task,
            overall=overall,
            target_name=target_name,
            pos_label=pos_label,
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw horizontal bars per level (first level on top) with the overall reference; return self."""
        table = self.table
        n = len(table)
        positions = np.arange(n)[::-1]
        labels = [
            f"{short(level, 22)}  (n={count:,})"
            for level, count in zip(table["level"], table["count"], strict=True)
        ]
        feature, target = short(self.feature, 30), short(self.target_name, 30)
        self.bars_, self.reference_lines_ = [], []
        with _style.style():
            fig, ax = _style.new_axes(
                ax, figsize=(_style.FIGSIZE[0] + 0.8, max(_style.FIGSIZE[1], 0.32 * n + 1.6))
            )
            if self.task == "multiclass":
                self._stacked(ax, positions)
            else:
                column = "rate" if self.task == "binary" else "mean"
                values = table[column].to_numpy(dtype=float)
                bars = ax.barh(positions, values, color=_style.color(0), height=0.7)
                ax.bar_label(bars, [_rate_text(v, self.task) for v in values], padding=3, fontsize=8.5)
                ax.margins(x=0.12)
                self.bars_.append(bars)
                overall = float(cast(float, self.overall))
                text = _rate_text(overall, self.task)
                self.reference_lines_.append(
                    ax.axvline(overall, color=_style.HIGHLIGHT, linestyle="--", label=f"overall {text}")
                )
                if self.task == "binary":
                    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
                    what = (
                        f"share of {target} = {short(self.pos_label)}"
                        if self.pos_label is not None
                        else (f"{target} rate")
                    )
                else:
                    what = f"mean {target}"
                ax.set_xlabel(what)
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
            ax.set_yticks(positions, labels)
            ax.grid(axis="y", visible=False)
            ax.set_ylabel(feature)
            ax.set_title(f"{target} by {feature}")
        self.figure_, self.ax_ = fig, ax
        return self

    def _stacked(self, ax: Axes, positions: np.ndarray) -> None:
        columns = [c for c in self.table.columns if str(c).startswith("share_")]
        left = np.zeros(len(self.table))
        for i, column in enumerate(columns):
            values = self.table[column].to_numpy(dtype=float)
            self.bars_.append(
                ax.barh(
                    positions,
                    values,
                    left=left,
                    color=_style.color(i),
                    height=0.7,
                    label=short(column[len("share_") :]),
                )
            )
            left = left + np.nan_to_num(values)
        overall = pd.Series(self.overall)
        for k, boundary in enumerate(np.cumsum(overall.to_numpy(dtype=float))[:-1]):
            self.reference_lines_.append(
                ax.axvline(
                    boundary,
                    color="black",
                    linestyle="--",
                    linewidth=1.2,
                    label="overall shares" if k == 0 else None,
                )
            )
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel(f"share of each class of {short(self.target_name, 30)}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title=short(self.target_name))


def _rate_text(value: float, task: str) -> str:
    if not np.isfinite(value):
        return ""
    return f"{value:.1%}" if task == "binary" else f"{value:.3g}"


def _levels(values: pd.Series, max_levels: int, n_bins: int) -> pd.Series:
    """``values`` as ordered levels: quantile bins for many-valued numbers, else the most frequent values."""
    if is_numeric(values) and values.nunique() > max_levels:
        numbers = to_numeric(values)
        bins = pd.qcut(numbers, q=n_bins, duplicates="drop")
        names = [f"{iv.left:.3g} – {iv.right:.3g}" for iv in bins.cat.categories]
        labels = bins.cat.rename_categories(names).astype(object)
        categories = names
    else:
        text = values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v))
        counts = text.value_counts()
        top = list(counts.index[:max_levels])
        labels = text.where(text.isin(top) | text.isna(), OTHER)
        categories = top + ([OTHER] if len(counts) > max_levels else [])
    labels = labels.where(labels.notna(), MISSING)
    if (labels == MISSING).any():
        categories = [*categories, MISSING]
    return pd.Series(pd.Categorical(labels, categories=categories), index=values.index)
