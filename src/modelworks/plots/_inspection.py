"""Model inspection Displays: permutation importance and partial dependence on the raw input columns."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from sklearn.inspection import PartialDependenceDisplay as _SkPartialDependence
from sklearn.inspection import partial_dependence

from modelworks.plots import _style
from modelworks.plots._frame import as_frame, is_numeric, sample_index, short, to_numeric
from modelworks.plots._permutation import permutation_importance
from modelworks.plots._replay import Replay, copies_per_call


def _scoring_label(scoring: Any, estimator: Any) -> tuple[str, str]:
    """The metric's name and the direction of an importance (``"decrease"`` or ``"increase"``)."""
    from sklearn.base import is_classifier

    from modelworks.plots.models import metric_label

    if scoring is None:
        return ("accuracy" if is_classifier(estimator) else "R²"), "decrease"
    if isinstance(scoring, str):
        if scoring.startswith("neg_"):
            return metric_label(scoring[4:]), "increase"
        return metric_label(scoring), "decrease"
    return "score", "decrease"


class PermutationImportanceDisplay:
    """How much the score worsens when each raw input column is shuffled: bars of the mean ± SD.

    Parameters
    ----------
    importances : DataFrame
        ``feature``, ``mean`` and ``std`` (over repeats), one row per feature.
    metric_name : str, default="score"
    direction : {"decrease", "increase"}, default="decrease"
        How the metric moves when a useful feature is shuffled (``"increase"`` for a loss).
    top_k : int, default=15
        Features drawn (the most important).

    Attributes
    ----------
    importances_ : DataFrame
        ``feature``, ``mean``, ``std``, most important first (every feature, not only the drawn ones).
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    bars_ : BarContainer
        One bar per drawn feature, the most important on top.
    errorbars_ : ErrorbarContainer
    """

    def __init__(
        self,
        *,
        importances: pd.DataFrame,
        metric_name: str = "score",
        direction: str = "decrease",
        top_k: int = 15,
    ) -> None:
        frame = importances.copy()
        if "std" not in frame:
            frame["std"] = 0.0
        self.importances_ = (
            frame[["feature", "mean", "std"]]
            .sort_values("mean", ascending=False, kind="stable")
            .reset_index(drop=True)
        )
        self.metric_name = metric_name
        self.direction = direction
        self.top_k = top_k

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: pd.DataFrame,
        y: Any,
        *,
        scoring: Any = None,
        n_repeats: int = 5,
        random_state: int = 0,
        max_rows: int | None = 2000,
        top_k: int = 15,
        ax: Axes | None = None,
    ) -> Self:
        """Compute permutation importance (the shuffled copies predicted together) and draw it.

        Parameters
        ----------
        estimator : fitted estimator
            A Pipeline taking the raw DataFrame: each raw column is shuffled as a whole.
        X : DataFrame
        y : array-like
        scoring : str or callable, optional
            Default: the estimator's ``score``.
        n_repeats : int, default=5
        random_state : int, default=0
            Seed of the shuffles and of the row sample.
        max_rows : int or None, default=2000
            Rows used at most (a seeded sample), for speed.
        top_k : int, default=15
        ax : Axes, optional

        Returns
        -------
        PermutationImportanceDisplay
        """
        X = as_frame(X)
        target = np.asarray(y)
        rows = sample_index(len(X), max_rows, random_state)
        result = permutation_importance(
            estimator,
            X.iloc[rows],
            target[rows],
            scoring=scoring,
            n_repeats=n_repeats,
            random_state=random_state,
        )
        frame = pd.DataFrame(
            {"feature": list(X.columns), "mean": result.importances_mean, "std": result.importances_std}
        )
        name, direction = _scoring_label(scoring, estimator)
        return cls(importances=frame, metric_name=name, direction=direction, top_k=top_k).plot(ax=ax)

    @classmethod
    def from_importances(
        cls,
        importances: pd.DataFrame,
        *,
        metric_name: str = "score",
        direction: str = "decrease",
        top_k: int = 15,
        ax: Axes | None = None,
    ) -> Self:
        """Draw precomputed importances (``feature``, ``mean`` and optionally ``std``).

        Returns
        -------
        PermutationImportanceDisplay
        """
        return cls(importances=importances, metric_name=metric_name, direction=direction, top_k=top_k).plot(
            ax=ax
        )

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the ``top_k`` features as horizontal bars with ±SD error bars; return self."""
        top = self.importances_.head(self.top_k)
        n = len(top)
        positions = np.arange(n)[::-1]
        with _style.style():
            fig, ax = _style.new_axes(ax, figsize=(_style.FIGSIZE[0], max(_style.FIGSIZE[1], 0.34 * n + 1.4)))
            colours = [_style.color(0) if m > 0 else _style.MUTED for m in top["mean"]]
            self.bars_ = ax.barh(positions, top["mean"].to_numpy(dtype=float), color=colours, height=0.65)
            self.errorbars_ = ax.errorbar(
                top["mean"].to_numpy(dtype=float),
                positions,
                xerr=top["std"].to_numpy(dtype=float),
                fmt="none",
                ecolor="black",
                elinewidth=1.1,
                capsize=3,
            )
            ax.axvline(0.0, color=_style.REFERENCE, linewidth=0.8)
            ax.set_yticks(positions, [short(f, 30) for f in top["feature"]])
            ax.grid(axis="y", visible=False)
            ax.set_xlabel(f"{self.direction} in {self.metric_name} when shuffled (mean ± SD)")
            ax.set_ylabel("feature")
            ax.set_title("Permutation importance" + (f" (top {n})" if len(self.importances_) > n else ""))
        self.figure_, self.ax_ = fig, ax
        return self


def _grid(values: pd.Series, categorical: bool, resolution: int, max_categories: int) -> np.ndarray:
    """Grid of one feature from its non-missing values (the frequent levels, or spaced percentiles)."""
    present = values.dropna()
    if categorical:
        levels = list(present.value_counts().index[:max_categories])
        return np.asarray(sorted(levels, key=str), dtype=object)
    unique = np.unique(present.to_numpy(dtype=float))
    if len(unique) <= resolution:
        return unique
    low, high = np.percentile(unique if len(present) == 0 else present.to_numpy(dtype=float), [5, 95])
    return np.linspace(low, high, resolution) if high > low else unique


def _partial_dependence(estimator: Any, X: pd.DataFrame, name: str, grid: np.ndarray, categorical: bool):
    """:func:`sklearn.inspection.partial_dependence` of one column over ``grid``, its copies of ``X``
    (one per grid value, as scikit-learn builds them) predicted together (see :mod:`._replay`)."""
    stand_in = estimator
    if len(grid) <= copies_per_call(len(X), X.shape[1]):  # otherwise one call per grid value
        position = list(X.columns).index(name)
        copies = []
        for value in grid:
            copy = X.copy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # a level set into a categorical column
                copy.iloc[:, position] = value
            copies.append(copy)
        stand_in = Replay(estimator, pd.concat(copies, ignore_index=True), len(X), advance=True)
    return partial_dependence(
        stand_in,
        X,
        [name],
        categorical_features=[name] if categorical else None,
        custom_values={name: grid},
        kind="average",
        method="brute",
    )


class PartialDependenceDisplay:
    """Average predicted response as one raw input column varies (scikit-learn's partial dependence).

    Classification shows the positive class (``estimator.classes_[1]``, binary) or the ``target`` class
    (multiclass); categorical columns are drawn as bars.

    Parameters
    ----------
    display : sklearn.inspection.PartialDependenceDisplay
        The computed results.
    response : str
        What is averaged, for the title (e.g. ``"P(churn = yes)"``).

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of Axes
        One per feature.
    ax_ : matplotlib Axes
        The first panel.
    display_ : sklearn.inspection.PartialDependenceDisplay
        The drawn scikit-learn Display (``lines_``, ``bars_``, ``pd_results``).
    features : list of str
    """

    def __init__(self, *, display: _SkPartialDependence, response: str = "prediction") -> None:
        self.display_ = display
        self.response = response
        self.features = [display.feature_names[f[0]] for f in display.features]

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: pd.DataFrame,
        features: Sequence[str] | None = None,
        *,
        categorical_features: Sequence[str] | None = None,
        target: Any = None,
        max_features: int = 6,
        grid_resolution: int = 20,
        max_categories: int = 20,
        max_rows: int | None = 1000,
        random_state: int = 0,
        ax: Any = None,
    ) -> Self:
        """Compute partial dependence on raw columns with :func:`sklearn.inspection.partial_dependence`.

        Parameters
        ----------
        estimator : fitted estimator
            A Pipeline taking the raw DataFrame.
        X : DataFrame
            Raw rows (a seeded sample of ``max_rows`` is used).
        features : sequence of str, optional
            The columns (e.g. the top of :attr:`PermutationImportanceDisplay.importances_`); default: the
            first ``max_features`` columns.
        categorical_features : sequence of str, optional
            Default: the non-numeric columns among ``features``.
        target : object, optional
            The class whose probability is shown for a multiclass estimator (default: the first class).
        max_features : int, default=6
        grid_resolution : int, default=20
        max_categories : int, default=20
            Levels shown at most per categorical column (the most frequent).
        max_rows : int or None, default=1000
        random_state : int, default=0
        ax : Axes or array of Axes, optional

        Returns
        -------
        PartialDependenceDisplay

        Notes
        -----
        Missing values of a drawn column are filled (median or most frequent level) only to build the
        grid: the column is overwritten by each grid value, so the predictions do not depend on the fill.
        Numeric text and integer columns are converted to floats, as scikit-learn requires.
        """
        X = as_frame(X)
        names = list(features) if features is not None else list(X.columns[:max_features])
        X = X.iloc[sample_index(len(X), max_rows, random_state)].copy()
        if categorical_features is None:
            categorical = [f for f in names if not is_numeric(X[f])]
        else:
            categorical = list(categorical_features)
        custom: dict[str, np.ndarray] = {}
        for name in names:
            is_cat = name in categorical
            if not is_cat:
                X[name] = to_numeric(X[name])
            custom[name] = _grid(X[name], is_cat, grid_resolution, max_categories)
            if X[name].isna().any() and len(custom[name]):
                fill = custom[name][0] if is_cat else float(X[name].median())
                X[name] = X[name].fillna(fill)
        results = [
            _partial_dependence(estimator, X, name, custom[name], name in categorical) for name in names
        ]
        target_idx, response = _target(estimator, target)
        columns = list(X.columns)
        deciles = {
            columns.index(name): np.nanpercentile(X[name].to_numpy(dtype=float), np.arange(10, 100, 10))
            for name in names
            if name not in categorical
        }
        display = _SkPartialDependence(
            results,
            features=[(columns.index(name),) for name in names],
            feature_names=columns,
            target_idx=target_idx,
            deciles=deciles,
            kind="average",
            is_categorical=[(name in categorical,) for name in names],
        )
        return cls(display=display, response=response).plot(ax=ax)

    def plot(self, ax: Any = None, *, n_cols: int = 3) -> Self:
        """Draw one panel per feature on ``ax`` (as in ``FeatureHistogramDisplay.plot``); return self."""
        with _style.style():
            fig, axes = _style.grid_axes(len(self.features), ax, ncols=n_cols, panel=(3.7, 3.0))
            self.display_.plot(
                ax=np.asarray(axes, dtype=object),
                line_kw={"color": _style.color(0)},
                bar_kw={"color": _style.color(0), "alpha": 0.85},
            )
            if self.response.startswith("P("):
                # probabilities: bars of categorical panels must start at zero on the shared scale
                top = max(panel.get_ylim()[1] for panel in axes)
                for panel in axes:
                    panel.set_ylim(0.0, min(1.0, top * 1.05) if top > 0 else 1.0)
            for panel, name in zip(axes, self.features, strict=True):
                panel.set_ylabel(f"average {short(self.response, 30)}")
                panel.set_xlabel(short(name, 30))
                panel.set_title(short(name, 32), fontsize=10.5)
                if any(len(t.get_text()) > 6 for t in panel.get_xticklabels()):
                    panel.tick_params(axis="x", labelrotation=30)
            fig.suptitle(f"Partial dependence of {self.response}")
        self.figure_, self.axes_, self.ax_ = fig, np.asarray(axes, dtype=object), axes[0]
        return self


def _target(estimator: Any, target: Any) -> tuple[int, str]:
    """Index of the output drawn and its description."""
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return 0, "prediction"
    classes = list(classes)
    if len(classes) == 2:
        return 0, f"P({short(classes[1])})"
    label = classes[0] if target is None else target
    if label not in classes:
        raise ValueError(f"target {label!r} is not one of the classes {classes!r}")
    return classes.index(label), f"P({short(label)})"
