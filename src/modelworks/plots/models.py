"""Displays of the model search: the cross-validated comparison, learning curves and fit time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from modelworks.plots import _style
from modelworks.plots._frame import short

__all__ = ["ModelComparisonDisplay", "LearningCurveDisplay", "FitTimeDisplay", "metric_label"]

#: Metrics for which a lower value is better (used when ``greater_is_better`` is not given).
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "mse", "brier", "brier_score", "fit_seconds"})
_LABELS = {
    "roc_auc": "ROC AUC",
    "log_loss": "log loss",
    "macro_f1": "macro F1",
    "f1": "F1",
    "rmse": "RMSE",
    "mae": "MAE",
    "mse": "MSE",
    "r2": "R²",
}
TIED_HATCH = "///"


def metric_label(metric: str) -> str:
    """A readable name for a metric key, e.g. ``"roc_auc"`` → ``"ROC AUC"``."""
    return _LABELS.get(metric, metric.replace("_", " "))


def _greater_is_better(metric: str, given: bool | None) -> bool:
    return given if given is not None else metric not in LOWER_IS_BETTER


def _board_frame(
    leaderboard: Any, metric: str | None, greater_is_better: bool | None
) -> tuple[pd.DataFrame, str, bool, dict[str, list[float]] | None]:
    """The leaderboard's frame sorted best first, its metric, orientation and per-fold scores."""
    folds = None
    if hasattr(leaderboard, "to_frame"):
        metric = metric or leaderboard.metric
        frame = leaderboard.to_frame()
        if hasattr(leaderboard, "fold_scores"):
            folds = {name: list(scores[metric]) for name, scores in leaderboard.fold_scores().items()}
    else:
        frame = pd.DataFrame(leaderboard)
    if metric is None:
        means = [c for c in frame.columns if str(c).endswith("_mean")]
        if not means:
            raise ValueError("the leaderboard frame has no '<metric>_mean' column")
        metric = str(means[0])[: -len("_mean")]
    if f"{metric}_mean" not in frame:
        raise ValueError(f"the leaderboard has no column {metric}_mean")
    greater = _greater_is_better(metric, greater_is_better)
    if "rank" in frame:
        frame = frame.sort_values("rank", kind="stable")
    else:
        frame = frame.sort_values(f"{metric}_mean", ascending=not greater, kind="stable")
    return frame.reset_index(drop=True), metric, greater, folds


def _roles(frame: pd.DataFrame) -> list[str]:
    """``"best"``, ``"tied"`` (not significantly worse than the best) or ``"other"`` per row."""
    tied = frame["tied_with_best"].fillna(False).astype(bool) if "tied_with_best" in frame else None
    roles = []
    for i in range(len(frame)):
        if i == 0:
            roles.append("best")
        elif tied is not None and tied.iloc[i]:
            roles.append("tied")
        else:
            roles.append("other")
    return roles


_ROLE_STYLE: dict[str, dict[str, Any]] = {
    "best": {"color": _style.HIGHLIGHT, "hatch": None, "label": "best"},
    "tied": {"color": _style.OKABE_ITO["orange"], "hatch": TIED_HATCH, "label": "not significantly worse"},
    "other": {"color": _style.OKABE_ITO["sky_blue"], "hatch": None, "label": "significantly worse"},
}


def _role_legend(roles: list[str], has_ties: bool) -> list[Any]:
    handles: list[Any] = []
    for role in ("best", "tied", "other"):
        if role in roles:
            spec = _ROLE_STYLE[role]
            label = spec["label"] if has_ties or role == "best" else "others"
            handles.append(
                Patch(facecolor=spec["color"], hatch=spec["hatch"], edgecolor="white", label=label)
            )
    return handles


class ModelComparisonDisplay:
    """Cross-validated score of each model: bars of the mean with ±SD error bars and the fold scores.

    The best model is highlighted; models not significantly worse than it (``tied_with_best``) are
    hatched.

    Parameters
    ----------
    frame : DataFrame
        One row per model, best first: ``model``, ``<metric>_mean`` and optionally ``<metric>_std``
        and ``tied_with_best`` (as ``Leaderboard.to_frame()``).
    metric : str
        The metric drawn.
    greater_is_better : bool, default=True
    fold_scores : dict, optional
        Model name to its per-fold scores of ``metric``, drawn as points.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    bars_ : BarContainer
        One bar per model, best on top.
    errorbars_ : ErrorbarContainer or None
    fold_points_ : PathCollection or None
    roles_ : list of str
        ``"best"``, ``"tied"`` or ``"other"`` per model, in frame order.
    """

    def __init__(
        self,
        *,
        frame: pd.DataFrame,
        metric: str,
        greater_is_better: bool = True,
        fold_scores: dict[str, list[float]] | None = None,
    ) -> None:
        self.frame = frame
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.fold_scores = fold_scores

    @classmethod
    def from_leaderboard(
        cls,
        leaderboard: Any,
        metric: str | None = None,
        *,
        greater_is_better: bool | None = None,
        show_folds: bool = True,
        max_models: int | None = None,
        ax: Axes | None = None,
    ) -> Self:
        """Draw a leaderboard: a ``Leaderboard`` or its ``to_frame()`` DataFrame.

        Parameters
        ----------
        leaderboard : Leaderboard or DataFrame
            With a DataFrame, per-fold points are not available.
        metric : str, optional
            Default: the leaderboard's ranking metric (or the first ``*_mean`` column).
        greater_is_better : bool, optional
            Default: False for losses (log loss, RMSE, MAE), else True.
        show_folds : bool, default=True
            Draw each fold's score as a point.
        max_models : int, optional
            Draw the best ``max_models`` only.
        ax : Axes, optional

        Returns
        -------
        ModelComparisonDisplay
        """
        frame, metric, greater, folds = _board_frame(leaderboard, metric, greater_is_better)
        if max_models is not None:
            frame = frame.head(max_models)
        return cls(
            frame=frame, metric=metric, greater_is_better=greater, fold_scores=folds if show_folds else None
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the bars on ``ax`` (a new figure when None); return self."""
        frame, metric = self.frame, self.metric
        n = len(frame)
        means = frame[f"{metric}_mean"].to_numpy(dtype=float)
        stds = frame[f"{metric}_std"].to_numpy(dtype=float) if f"{metric}_std" in frame else None
        roles = _roles(frame)
        positions = np.arange(n)[::-1]
        names = [short(m, 26) for m in frame["model"]]
        ticks = [
            f"{name}  {mean:.3f}" + (f" ± {sd:.3f}" if stds is not None and np.isfinite(sd) else "")
            for name, mean, sd in zip(names, means, stds if stds is not None else means, strict=True)
        ]
        self.errorbars_ = self.fold_points_ = None
        with _style.style():
            fig, ax = _style.new_axes(
                ax, figsize=(_style.FIGSIZE[0] + 1.0, max(_style.FIGSIZE[1], 0.4 * n + 1.5))
            )
            self.bars_ = ax.barh(
                positions,
                means,
                height=0.65,
                color=[_ROLE_STYLE[r]["color"] for r in roles],
                edgecolor="white",
                linewidth=0.5,
            )
            for bar, role in zip(self.bars_, roles, strict=True):
                if _ROLE_STYLE[role]["hatch"]:
                    bar.set_hatch(_ROLE_STYLE[role]["hatch"])
            if stds is not None:
                self.errorbars_ = ax.errorbar(
                    means,
                    positions,
                    xerr=np.nan_to_num(stds),
                    fmt="none",
                    ecolor="black",
                    elinewidth=1.2,
                    capsize=3,
                )
            if self.fold_scores:
                xs: list[float] = []
                ys: list[float] = []
                for pos, model in zip(positions, frame["model"], strict=True):
                    scores = np.asarray(self.fold_scores.get(model, []), dtype=float)
                    scores = scores[np.isfinite(scores)]
                    xs.extend(scores)
                    ys.extend(
                        pos + np.linspace(-0.18, 0.18, len(scores))
                        if len(scores) > 1
                        else [pos] * len(scores)
                    )
                self.fold_points_ = ax.scatter(
                    xs, ys, s=12, color="black", alpha=0.55, zorder=3, linewidths=0, label="fold score"
                )
            ax.set_yticks(positions, ticks)
            ax.grid(axis="y", visible=False)
            direction = "higher" if self.greater_is_better else "lower"
            ax.set_xlabel(f"{metric_label(metric)} (cross-validated mean ± SD; {direction} is better)")
            ax.set_ylabel("model")
            ax.set_title(f"Model comparison by {metric_label(metric)}")
            handles = _role_legend(roles, "tied_with_best" in frame)
            if self.fold_points_ is not None:
                handles.append(self.fold_points_)
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        self.figure_, self.ax_, self.roles_ = fig, ax, roles
        return self


class FitTimeDisplay:
    """Cross-validated score against the mean fit time per fold (log scale), one labelled point per model.

    Parameters
    ----------
    frame : DataFrame
        ``model``, ``fit_seconds``, ``<metric>_mean`` and optionally ``<metric>_std`` and
        ``tied_with_best``, best first.
    metric : str
    greater_is_better : bool, default=True

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    collections_ : list of PathCollection
        One per role present (best, not significantly worse, others).
    annotations_ : list of Annotation
        One model name per point.
    """

    def __init__(self, *, frame: pd.DataFrame, metric: str, greater_is_better: bool = True) -> None:
        self.frame = frame
        self.metric = metric
        self.greater_is_better = greater_is_better

    @classmethod
    def from_leaderboard(
        cls,
        leaderboard: Any,
        metric: str | None = None,
        *,
        greater_is_better: bool | None = None,
        ax: Axes | None = None,
    ) -> Self:
        """Draw score against fit time from a ``Leaderboard`` or its ``to_frame()`` DataFrame.

        Returns
        -------
        FitTimeDisplay
        """
        frame, metric, greater, _ = _board_frame(leaderboard, metric, greater_is_better)
        if "fit_seconds" not in frame:
            raise ValueError("the leaderboard frame has no fit_seconds column")
        return cls(frame=frame, metric=metric, greater_is_better=greater).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the points on ``ax`` (a new figure when None); return self."""
        frame, metric = self.frame, self.metric
        seconds = np.clip(frame["fit_seconds"].to_numpy(dtype=float), 1e-3, None)
        means = frame[f"{metric}_mean"].to_numpy(dtype=float)
        stds = frame[f"{metric}_std"].to_numpy(dtype=float) if f"{metric}_std" in frame else None
        roles = np.asarray(_roles(frame))
        self.collections_, self.annotations_ = [], []
        with _style.style():
            fig, ax = _style.new_axes(ax)
            if stds is not None:
                ax.errorbar(
                    seconds,
                    means,
                    yerr=np.nan_to_num(stds),
                    fmt="none",
                    ecolor=_style.MUTED,
                    elinewidth=1,
                    capsize=2,
                    zorder=1,
                )
            has_ties = "tied_with_best" in frame
            for role in ("other", "tied", "best"):
                mask = roles == role
                if mask.any():
                    spec = _ROLE_STYLE[role]
                    label = spec["label"] if has_ties or role == "best" else "others"
                    marker = "D" if role == "best" else ("s" if role == "tied" else "o")
                    self.collections_.append(
                        ax.scatter(
                            seconds[mask],
                            means[mask],
                            s=55,
                            color=spec["color"],
                            marker=marker,
                            edgecolors="black",
                            linewidths=0.5,
                            zorder=3,
                            label=label,
                        )
                    )
            for x, y, name in zip(seconds, means, frame["model"], strict=True):
                self.annotations_.append(
                    ax.annotate(
                        short(name, 20), (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8.5
                    )
                )
            ax.set_xscale("log")
            ax.margins(x=0.15, y=0.12)
            direction = "higher" if self.greater_is_better else "lower"
            ax.set_xlabel("mean fit time per fold (seconds, log scale)")
            ax.set_ylabel(f"{metric_label(metric)} (CV mean; {direction} is better)")
            ax.set_title(f"{metric_label(metric)} against fit time")
            ax.legend()
        self.figure_, self.ax_ = fig, ax
        return self


class LearningCurveDisplay:
    """Training and validation scores against training-set size, with ±SD bands and a reading.

    Parameters
    ----------
    train_sizes : array-like of shape (n_sizes,)
        Training examples at each point.
    train_scores, test_scores : array-like of shape (n_sizes, n_folds)
        Scores per size and fold, in the metric's own units.
    metric_name : str, default="score"
    greater_is_better : bool, default=True
        False for a loss: the axis is labelled "lower is better" and the reading accounts for it.

    Attributes
    ----------
    reading : str
        One sentence: whether more data would likely help, and whether the gap between training and
        validation scores suggests overfitting.
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
    lines_ : list of Line2D
        The training and the validation mean.
    bands_ : list of PolyCollection
        Their ±SD bands.
    """

    def __init__(
        self,
        *,
        train_sizes: Sequence[float] | np.ndarray,
        train_scores: np.ndarray,
        test_scores: np.ndarray,
        metric_name: str = "score",
        greater_is_better: bool = True,
    ) -> None:
        self.train_sizes = np.asarray(train_sizes, dtype=float)
        self.train_scores = np.atleast_2d(np.asarray(train_scores, dtype=float).T).T
        self.test_scores = np.atleast_2d(np.asarray(test_scores, dtype=float).T).T
        if not (len(self.train_sizes) == len(self.train_scores) == len(self.test_scores)):
            raise ValueError("train_sizes, train_scores and test_scores need one row per training size")
        self.metric_name = metric_name
        self.greater_is_better = greater_is_better
        self.reading = learning_curve_reading(
            self.train_sizes, self.train_scores, self.test_scores, metric_name, greater_is_better
        )

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        cv: Any = 5,
        train_sizes: Sequence[float] | np.ndarray = (0.1, 0.2, 0.4, 0.7, 1.0),
        scoring: str | None = None,
        n_jobs: int | None = 1,
        shuffle: bool = True,
        random_state: int = 0,
        ax: Axes | None = None,
    ) -> Self:
        """Compute the curve with :func:`sklearn.model_selection.learning_curve` and draw it.

        Parameters
        ----------
        estimator : estimator
            Unfitted (it is cloned per fold); a Pipeline taking the raw DataFrame is fine.
        X, y : array-like
        cv : int or splitter, default=5
        train_sizes : array-like, default=(0.1, 0.2, 0.4, 0.7, 1.0)
            Fractions (or counts) of the training folds.
        scoring : str, optional
            A scikit-learn scorer name; ``neg_*`` scorers are drawn as the loss, lower is better.
            Default: the estimator's ``score`` (accuracy or R²).
        n_jobs : int, default=1
        shuffle : bool, default=True
            Shuffle before taking the training subsets (so that small subsets hold every class).
        random_state : int, default=0
        ax : Axes, optional

        Returns
        -------
        LearningCurveDisplay
        """
        from sklearn.base import is_classifier
        from sklearn.model_selection import learning_curve

        sizes, train, test = learning_curve(
            estimator,
            X,
            y,
            cv=cv,
            train_sizes=np.asarray(train_sizes),
            scoring=scoring,
            n_jobs=n_jobs,
            shuffle=shuffle,
            random_state=random_state,
        )
        greater = True
        if scoring is None:
            name = "accuracy" if is_classifier(estimator) else "R²"
        elif scoring.startswith("neg_"):
            name, greater, train, test = metric_label(scoring[4:]), False, -train, -test
        else:
            name = metric_label(scoring)
        return cls(
            train_sizes=sizes,
            train_scores=train,
            test_scores=test,
            metric_name=name,
            greater_is_better=greater,
        ).plot(ax=ax)

    @classmethod
    def from_results(
        cls,
        train_sizes: Sequence[float] | np.ndarray,
        train_scores: np.ndarray,
        test_scores: np.ndarray,
        metric_name: str = "score",
        *,
        greater_is_better: bool = True,
        ax: Axes | None = None,
    ) -> Self:
        """Draw precomputed learning-curve results (as returned by ``learning_curve``).

        Returns
        -------
        LearningCurveDisplay
        """
        return cls(
            train_sizes=train_sizes,
            train_scores=train_scores,
            test_scores=test_scores,
            metric_name=metric_name,
            greater_is_better=greater_is_better,
        ).plot(ax=ax)

    def plot(self, ax: Axes | None = None) -> Self:
        """Draw the two curves with their bands on ``ax``; return self."""
        self.lines_, self.bands_ = [], []
        with _style.style():
            fig, ax = _style.new_axes(ax)
            series = (
                ("training", self.train_scores, 0),
                ("validation (cross-validated)", self.test_scores, 1),
            )
            for label, scores, i in series:
                mean, sd = _mean_sd(scores)
                (line,) = ax.plot(self.train_sizes, mean, marker="o", color=_style.color(i), label=label)
                self.lines_.append(line)
                self.bands_.append(
                    ax.fill_between(
                        self.train_sizes, mean - sd, mean + sd, color=_style.color(i), alpha=0.2, linewidth=0
                    )
                )
            direction = "higher" if self.greater_is_better else "lower"
            ax.set_xlabel("training examples")
            ax.set_ylabel(f"{self.metric_name} ({direction} is better)")
            ax.set_title(f"Learning curve ({self.metric_name})")
            ax.legend(loc="best")
        self.figure_, self.ax_ = fig, ax
        return self


def _mean_sd(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = np.where(np.isfinite(scores), scores, np.nan)
    counts = np.isfinite(scores).sum(axis=1)
    mean = np.array([np.nanmean(r) if c else np.nan for r, c in zip(finite, counts, strict=True)])
    sd = np.array([np.nanstd(r) if c else np.nan for r, c in zip(finite, counts, strict=True)])
    return mean, sd


#: A training-validation gap counts as overfitting beyond this share of the score's magnitude (and 2 SD).
GAP_SHARE = 0.03


def learning_curve_reading(
    train_sizes: np.ndarray,
    train_scores: np.ndarray,
    test_scores: np.ndarray,
    metric_name: str = "score",
    greater_is_better: bool = True,
) -> str:
    """One sentence on whether more data would likely help, from learning-curve results.

    The validation mean at the largest size is compared with the one at about half that size (the last
    doubling): a gain larger than the validation SD means the curve is still rising. A training score
    ahead of the validation score by more than twice their combined SD and :data:`GAP_SHARE` of the
    score's magnitude suggests overfitting.
    """
    sizes = np.asarray(train_sizes, dtype=float)
    train_mean, train_sd = _mean_sd(np.asarray(train_scores, dtype=float))
    val_mean, val_sd = _mean_sd(np.asarray(test_scores, dtype=float))
    ok = np.isfinite(val_mean) & np.isfinite(train_mean)
    if ok.sum() < 2:
        return "The learning curve has too few valid points to say whether more data would help."
    sizes, train_mean, train_sd, val_mean, val_sd = (
        a[ok] for a in (sizes, train_mean, train_sd, val_mean, val_sd)
    )
    sign = 1.0 if greater_is_better else -1.0
    earlier = np.flatnonzero(sizes <= sizes[-1] / 2)
    j = int(earlier[-1]) if len(earlier) else len(sizes) - 2
    change = val_mean[-1] - val_mean[j]
    gain = sign * change
    sd = float(np.nan_to_num(val_sd[-1]))
    sd = sd if sd > 0 else 1e-3 * max(abs(val_mean[-1]), 1e-12)
    gap = sign * (train_mean[-1] - val_mean[-1])
    combined_sd = float(np.hypot(np.nan_to_num(train_sd[-1]), np.nan_to_num(val_sd[-1])))
    scale = max(abs(train_mean[-1]), abs(val_mean[-1]))
    overfits = gap > max(2 * combined_sd, GAP_SHARE * scale)
    span = f"from {sizes[j]:,.0f} to {sizes[-1]:,.0f} training examples"
    beyond = f"more than its SD of {sd:.3g}"
    if gain > sd:
        text = f"Validation {metric_name} still improves by {abs(change):.3g} {span} ({beyond})"
        if overfits:
            return (
                f"{text} and trails the training score by {abs(gap):.3g}, a gap that suggests overfitting "
                "more data should reduce: more data would likely help."
            )
        return (
            f"{text}: more data would likely help, though training and validation scores are already close."
        )
    if gain < -sd:
        text = f"Validation {metric_name} gets worse by {abs(change):.3g} {span} ({beyond})"
    else:
        text = f"Validation {metric_name} moves by only {abs(change):.3g} {span} (within its SD of {sd:.3g})"
    if overfits:
        return (
            f"{text}: more data is unlikely to help much; the gap of {abs(gap):.3g} to the training score "
            "suggests overfitting, so a simpler or more regularised model may do better."
        )
    return f"{text}: more data is unlikely to help much, and training and validation scores are close."
