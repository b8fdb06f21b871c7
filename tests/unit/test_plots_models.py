"""Displays of the model search: comparison bars, fit time and learning curves (with their reading)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from plot_support import assert_labelled, close_figures, no_warnings  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from modelworks.plots import FitTimeDisplay, LearningCurveDisplay, ModelComparisonDisplay
from modelworks.plots._style import HIGHLIGHT
from modelworks.plots.models import TIED_HATCH, learning_curve_reading
from modelworks.search.leaderboard import Leaderboard, ModelResult


@pytest.fixture
def board_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": [1, 2, 3, 4],
            "model": ["lightgbm", "catboost", "linear", "decision_tree"],
            "roc_auc_mean": [0.91, 0.905, 0.88, 0.80],
            "roc_auc_std": [0.01, 0.012, 0.015, 0.03],
            "log_loss_mean": [0.30, 0.31, 0.35, 0.9],
            "log_loss_std": [0.02, 0.02, 0.03, 0.1],
            "p_vs_best": [None, 0.4, 0.01, 0.001],
            "tied_with_best": [True, True, False, False],
            "tie_group": [1, 1, 2, 3],
            "fit_seconds": [1.2, 8.5, 0.05, 0.0],
            "predict_ms_per_1000": [3.0, 5.0, 0.5, 0.2],
        }
    )


def make_leaderboard() -> Leaderboard:
    rng = np.random.default_rng(0)
    results = [
        ModelResult(
            name=name,
            label=name,
            fold_scores={"roc_auc": list(mean + 0.01 * rng.standard_normal(5)), "accuracy": [0.8] * 5},
            fit_seconds=[fit] * 5,
            predict_ms_per_1000=[1.0] * 5,
        )
        for name, mean, fit in [("a", 0.9, 1.0), ("b", 0.85, 0.1), ("c", 0.7, 0.01)]
    ]
    board = Leaderboard(metric="roc_auc", metrics=["roc_auc", "accuracy"], results=results)
    board.test_significance(test_fraction=0.2)
    return board


def test_model_comparison_from_frame(board_frame):
    with no_warnings():
        display = ModelComparisonDisplay.from_leaderboard(board_frame)
    assert display.metric == "roc_auc" and display.greater_is_better
    assert len(display.bars_) == 4
    assert display.roles_ == ["best", "tied", "other", "other"]
    bars = list(display.bars_)
    assert bars[0].get_y() > bars[-1].get_y()  # best on top
    assert np.allclose(bars[0].get_facecolor()[:3], plt.matplotlib.colors.to_rgb(HIGHLIGHT))
    assert bars[1].get_hatch() == TIED_HATCH and not bars[2].get_hatch()
    assert display.fold_points_ is None and display.errorbars_ is not None
    assert "higher is better" in display.ax_.get_xlabel()
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["best", "not significantly worse", "significantly worse"]
    assert_labelled(display.ax_)


def test_model_comparison_loss_metric_and_given_axes(board_frame):
    _, ax = plt.subplots()
    with no_warnings():
        display = ModelComparisonDisplay.from_leaderboard(board_frame, "log_loss", ax=ax, max_models=3)
    assert display.ax_ is ax and len(display.bars_) == 3
    assert not display.greater_is_better and "lower is better" in ax.get_xlabel()


def test_model_comparison_from_leaderboard_draws_fold_points():
    board = make_leaderboard()
    with no_warnings():
        display = ModelComparisonDisplay.from_leaderboard(board)
    assert len(display.bars_) == len(board)
    assert len(display.fold_points_.get_offsets()) == 3 * 5
    assert display.roles_[0] == "best"
    frame = board.to_frame()
    assert display.frame["model"].tolist() == frame["model"].tolist()


def test_model_comparison_needs_the_metric(board_frame):
    with pytest.raises(ValueError, match="r2_mean"):
        ModelComparisonDisplay.from_leaderboard(board_frame, "r2")


def test_fit_time(board_frame):
    with no_warnings():
        display = FitTimeDisplay.from_leaderboard(board_frame)
    assert display.ax_.get_xscale() == "log"
    assert [a.get_text() for a in display.annotations_] == board_frame["model"].tolist()
    assert sum(len(c.get_offsets()) for c in display.collections_) == 4
    assert len(display.collections_) == 3
    assert_labelled(display.ax_)


def test_fit_time_from_leaderboard_and_given_axes():
    _, ax = plt.subplots()
    with no_warnings():
        display = FitTimeDisplay.from_leaderboard(make_leaderboard(), ax=ax)
    assert display.ax_ is ax and len(display.annotations_) == 3


SIZES = np.array([100, 200, 400, 800])


def folds(means, sd=0.005, k=5):
    offsets = np.linspace(-sd, sd, k) * np.sqrt(3)
    return np.asarray(means)[:, None] + offsets[None, :]


def test_learning_curve_rising_with_gap_says_more_data_helps():
    train = folds([0.99, 0.98, 0.97, 0.97])
    test = folds([0.70, 0.76, 0.82, 0.88])
    with no_warnings():
        display = LearningCurveDisplay.from_results(SIZES, train, test, "accuracy")
    assert "more data would likely help" in display.reading
    assert "overfitting" in display.reading
    assert len(display.lines_) == 2 and len(display.bands_) == 2
    assert "higher is better" in display.ax_.get_ylabel()
    assert display.ax_.get_legend() is not None
    assert_labelled(display.ax_)


def test_learning_curve_flat_says_more_data_unlikely_to_help():
    train = folds([0.86, 0.85, 0.85, 0.85])
    test = folds([0.80, 0.83, 0.842, 0.843], sd=0.01)
    reading = LearningCurveDisplay.from_results(SIZES, train, test, "accuracy").reading
    assert "more data is unlikely to help much" in reading
    assert "overfitting" not in reading


def test_learning_curve_flat_with_gap_suggests_overfitting():
    train = folds([1.0, 1.0, 1.0, 1.0])
    test = folds([0.78, 0.80, 0.80, 0.801], sd=0.01)
    reading = LearningCurveDisplay.from_results(SIZES, train, test, "accuracy").reading
    assert "more data is unlikely to help much" in reading and "overfitting" in reading


def test_learning_curve_reading_for_a_loss():
    # RMSE falling (improving) with a gap: lower is better
    train = folds([1.0, 1.1, 1.2, 1.25], sd=0.02)
    test = folds([3.0, 2.5, 2.0, 1.6], sd=0.05)
    with no_warnings():
        display = LearningCurveDisplay.from_results(SIZES, train, test, "RMSE", greater_is_better=False)
    assert "more data would likely help" in display.reading
    assert "lower is better" in display.ax_.get_ylabel()
    # the same numbers read as a score would be getting worse
    assert "unlikely" in learning_curve_reading(SIZES, train, test, "score", True)


def test_learning_curve_too_few_points():
    reading = learning_curve_reading(np.array([100]), folds([0.9]), folds([0.8]))
    assert "too few" in reading


def test_learning_curve_from_estimator():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=240), "b": rng.normal(size=240)})
    y = (X["a"] + 0.5 * rng.normal(size=240) > 0).astype(int)
    _, ax = plt.subplots()
    with no_warnings():
        display = LearningCurveDisplay.from_estimator(
            LogisticRegression(), X, y, cv=3, train_sizes=[0.25, 0.5, 1.0], scoring="neg_log_loss", ax=ax
        )
    assert display.ax_ is ax
    assert display.train_scores.shape == (3, 3)
    assert (display.test_scores > 0).all()  # shown as the loss, not its negative
    assert display.metric_name == "log loss" and not display.greater_is_better
    with no_warnings():
        tree = LearningCurveDisplay.from_estimator(DecisionTreeClassifier(random_state=0), X, y, cv=3)
    assert tree.metric_name == "accuracy" and "overfitting" in tree.reading
