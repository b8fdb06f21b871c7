"""Scatter plots of the rows: the two most informative features, and a 2-D PCA projection."""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from modelworks.plots import _style
from modelworks.plots._frame import (
    MAX_POINTS,
    MISSING,
    align,
    as_frame,
    categorical_columns,
    numeric_frame,
    pooled_classes,
    sample_index,
    short,
)

#: Numeric columns ranked by mutual information for the scatter (the first ones of a wide table).
MAX_RANKED = 200


def _scatter_by_target(
    ax: Axes, x: np.ndarray, y: np.ndarray, target: pd.Series | None, task: str | None
) -> tuple[list, Any]:
    """Scatter ``x`` against ``y`` coloured by class (one collection each) or by value (a colour bar)."""
    size = 12 if len(x) > 1000 else 20
    if target is None:
        return [ax.scatter(x, y, s=size, alpha=0.6, color=_style.color(0), linewidths=0)], None
    if task == "regression":
        points = ax.scatter(
            x, y, c=target.to_numpy(), s=size, alpha=0.75, cmap=_style.SEQUENTIAL_CMAP, linewidths=0
        )
        colorbar = ax.figure.colorbar(points, ax=ax)
        colorbar.set_label(short(target.name))
        return [points], colorbar
    groups, labels = pooled_classes(target)
    collections = []
    for i, label in enumerate(labels):
        mask = (groups == label).to_numpy()
        collections.append(
            ax.scatter(
                x[mask], y[mask], s=size, alpha=0.6, color=_style.color(i), linewidths=0, label=short(label)
            )
        )
    ax.legend(title=short(target.name), markerscale=1.5)
    return collections, None


class ScatterDisplay:
    """The two numeric features most informative about the target, scattered and coloured by the target.

    Parameters
    ----------
    x, y : ndarray
        Values of the two features (finite, at most :data:`MAX_POINTS`).
    target : Series
        The target of each point.
    features : tuple of str
        The names of the two features.
    task : str
        The task.
    mutual_info : Series, optional
        Mutual information of every numeric feature with the target, highest first.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    collections_ : list of PathCollection
        One per class (classification) or one (regression).
    colorbar_ : Colorbar or None
        The target colour scale (regression).
    """

    def __init__(
        self,
        *,
        x: np.ndarray,
        y: np.ndarray,
        target: pd.Series,
        features: tuple[str, str],
        task: str,
        mutual_info: pd.Series | None = None,
    ) -> None:
        self.x = x
        self.y = y
        self.target = target
        self.features = features
        self.task = task
        self.mutual_info = mutual_info

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series,
        *,
        task: str | None = None,
        features: tuple[str, str] | None = None,
        max_points: int = MAX_POINTS,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Pick the two numeric features with the highest mutual information with ``y`` and scatter them.

        Parameters
        ----------
        X : DataFrame
            Raw features; at least two numeric (or numeric-text) columns.
        y : Series
            The target.
        task : str, optional
            The task; inferred from ``y`` when None.
        features : tuple of str, optional
            The two columns to draw, instead of the most informative.
        max_points : int, default=5000
            Points drawn at most (a seeded sample).
        random_state : int, default=0
            Seed of the sample and of the mutual-information estimate.
        ax : Axes, optional
            Where to draw.

        Returns
        -------
        ScatterDisplay
        """
        from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

        X, target, task = align(X, y, task)
        numeric = numeric_frame(X)
        rows = sample_index(len(X), max_points, random_state)
        mutual_info = None
        if features is None:
            if numeric.shape[1] < 2:
                raise ValueError("a scatter of the most informative features needs two numeric features")
            # mutual information costs milliseconds per column: wide tables rank their first columns
            sample = numeric.iloc[rows, :MAX_RANKED]
            filled = sample.fillna(sample.median()).to_numpy()
            if task == "regression":
                scores = mutual_info_regression(
                    filled, target.iloc[rows].to_numpy(), random_state=random_state
                )
            else:
                codes = pd.factorize(target.iloc[rows])[0]
                scores = mutual_info_classif(filled, codes, random_state=random_state)
            mutual_info = pd.Series(scores, index=sample.columns, name="mutual_info")
            mutual_info = mutual_info.sort_values(ascending=False, kind="stable")
            features = (str(mutual_info.index[0]), str(mutual_info.index[1]))
        pair = numeric_frame(X, list(features)).iloc[rows]
        keep = pair.notna().all(axis=1).to_numpy()
        pair = pair.loc[keep]
        return cls(
            x=pair.iloc[:, 0].to_numpy(),
            y=pair.iloc[:, 1].to_numpy(),
            target=target.iloc[rows].loc[keep],
            features=(features[0], features[1]),
            task=task,
            mutual_info=mutual_info,
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the scatter on ``ax`` (a new figure when None); return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax)
            self.collections_, self.colorbar_ = _scatter_by_target(ax, self.x, self.y, self.target, self.task)
            ax.set_xlabel(short(self.features[0], 40))
            ax.set_ylabel(short(self.features[1], 40))
            how = "most informative features" if self.mutual_info is not None else "features"
            ax.set_title(f"Two {how} for {short(self.target.name)}")
        self.figure_, self.ax_ = fig, ax
        return self


class PCADisplay:
    """Rows projected on their first two principal components, coloured by the target.

    Parameters
    ----------
    components : ndarray of shape (n, 2)
        The projected rows.
    target : Series or None
        The target of each row.
    task : str or None
        The task.
    explained_variance_ratio : ndarray of shape (2,)
        Share of the variance explained by each component.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    collections_ : list of PathCollection
    colorbar_ : Colorbar or None
    """

    def __init__(
        self,
        *,
        components: np.ndarray,
        target: pd.Series | None,
        task: str | None,
        explained_variance_ratio: np.ndarray,
    ) -> None:
        self.components = components
        self.target = target
        self.task = task
        self.explained_variance_ratio = explained_variance_ratio

    @classmethod
    def from_data(
        cls,
        X: pd.DataFrame,
        y: pd.Series | None = None,
        *,
        task: str | None = None,
        max_points: int = MAX_POINTS,
        max_levels: int = 20,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Project ``X`` on two principal components and scatter the rows.

        Numeric columns are median-imputed and standardised; categorical columns with at most
        ``max_levels`` levels are one-hot encoded (missing as a level); other columns are left out.

        Parameters
        ----------
        X : DataFrame
            Raw features.
        y : Series, optional
            The target, for the colours.
        task : str, optional
            The task; inferred from ``y`` when None.
        max_points : int, default=5000
            Rows used at most (a seeded sample).
        max_levels : int, default=20
            Categorical columns with more levels are left out.
        random_state : int, default=0
            Seed of the sample.
        ax : Axes, optional
            Where to draw.

        Returns
        -------
        PCADisplay
        """
        from sklearn.decomposition import PCA

        if y is not None:
            X, y, task = align(X, y, task)
        X = as_frame(X)
        rows = sample_index(len(X), max_points, random_state)
        X = X.iloc[rows]
        numeric = numeric_frame(X)
        scaled = _standardised(numeric.to_numpy())
        numeric = pd.DataFrame(scaled, columns=numeric.columns, index=numeric.index)
        categorical = [c for c in categorical_columns(X, max_levels) if c not in numeric.columns]
        dummies = [
            pd.get_dummies(
                X[c].astype(object).where(X[c].notna(), MISSING).astype(str), prefix=c, dtype=float
            )
            for c in categorical
        ]
        matrix = pd.concat([numeric, *dummies], axis=1).to_numpy(dtype=float)
        if matrix.shape[1] < 2 or len(matrix) < 3:
            raise ValueError("a PCA projection needs at least two usable columns and three rows")
        pca = PCA(n_components=2, random_state=random_state)
        components = pca.fit_transform(matrix)
        target = y.iloc[rows] if y is not None else None
        return cls(
            components=components,
            target=target,
            task=task,
            explained_variance_ratio=pca.explained_variance_ratio_,
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the projection on ``ax`` (a new figure when None); return self."""
        with _style.style():
            fig, ax = _style.new_axes(ax)
            self.collections_, self.colorbar_ = _scatter_by_target(
                ax, self.components[:, 0], self.components[:, 1], self.target, self.task
            )
            ratio = self.explained_variance_ratio
            ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of variance)")
            ax.set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of variance)")
            by = f", coloured by {short(self.target.name)}" if self.target is not None else ""
            ax.set_title(f"Principal components{by}")
        self.figure_, self.ax_ = fig, ax
        return self


def _standardised(values: np.ndarray) -> np.ndarray:
    """Columns median-imputed, then centred and scaled to unit variance (constant ones only centred);
    in numpy, as the frame's column-wise operations cost milliseconds per column on wide tables."""
    values = np.array(values, dtype="float64")
    if values.size == 0:
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns stay NaN, as in pandas
        medians = np.nanmedian(values, axis=0)
    gaps = np.isnan(values)
    values[gaps] = np.take(medians, np.nonzero(gaps)[1])
    spread = values.std(axis=0)
    spread[spread == 0.0] = 1.0
    return (values - values.mean(axis=0)) / spread
