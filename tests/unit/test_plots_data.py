"""Displays of the raw table: small synthetic tables with numeric text, categories and missing values."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from plot_support import assert_labelled, close_figures, no_warnings  # noqa: F401

from modelworks.plots import (
    AssociationHeatmapDisplay,
    BoxPlotDisplay,
    FeatureHistogramDisplay,
    MissingValuesDisplay,
    PCADisplay,
    ScatterDisplay,
    TargetDistributionDisplay,
    TargetRateDisplay,
    to_png,
)

N = 300
CLASSES = {"binary": ["no", "yes"], "multiclass": ["a", "b", "c"]}


def make_table(task: str, n: int = N, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Features: age and signal drive the target; income has gaps; score is numeric text; plan a category."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n).round(1)
    signal = rng.normal(size=n)
    income = rng.lognormal(3, 0.5, n)
    income[rng.random(n) < 0.1] = np.nan
    plan = rng.choice(["basic", "plus", "premium"], n).astype(object)
    plan[rng.random(n) < 0.05] = None
    score = rng.normal(size=n).round(2).astype(str).astype(object)
    score[rng.random(n) < 0.03] = None
    X = pd.DataFrame(
        {
            "age": age,
            "signal": signal,
            "income": income,
            "plan": plan,
            "score": score,
            "visits": rng.integers(0, 20, n),
        }
    )
    latent = 0.15 * (age - 40) + 2 * signal + rng.normal(scale=0.3, size=n)
    if task == "binary":
        y = pd.Series(np.where(latent > 0, "yes", "no"), name="churn")
    elif task == "multiclass":
        y = pd.Series(np.array(["a", "b", "c"])[np.digitize(latent, [-1.0, 1.0])], name="segment")
    else:
        y = pd.Series(100 + 5 * latent, name="spend")
    return X, y


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_feature_histograms(task):
    X, y = make_table(task)
    with no_warnings():
        display = FeatureHistogramDisplay.from_data(X, y, task=task)
    # numeric: age, signal, income, score (numeric text), visits
    assert len(display.axes_) == 5
    assert display.figure_.get_suptitle()
    layers = len(CLASSES.get(task, [None]))
    for ax in display.axes_:
        assert_labelled(ax)
        assert len(ax.patches) == layers
    if task != "regression":
        assert display.classes_ == CLASSES[task]
        assert display.ax_.get_legend() is not None


def test_feature_histograms_respect_max_features_and_given_axes():
    X, y = make_table("binary")
    with no_warnings():
        display = FeatureHistogramDisplay.from_data(X, y, max_features=2)
    assert len(display.axes_) == 2
    fig, axes = plt.subplots(1, 3)
    with no_warnings():
        display = FeatureHistogramDisplay.from_data(X, y, features=["age", "score"], ax=axes)
    assert display.figure_ is fig
    assert list(display.axes_) == list(axes[:2])
    assert not axes[2].get_visible()
    assert len(axes[1].patches) == 2  # numeric text parsed


def test_feature_histograms_without_target():
    X, _ = make_table("binary")
    with no_warnings():
        display = FeatureHistogramDisplay.from_data(X, features=["age"])
    assert len(display.axes_) == 1 and display.ax_.get_ylabel() == "count"


def test_feature_histograms_need_a_numeric_column():
    with pytest.raises(ValueError, match="numeric"):
        FeatureHistogramDisplay.from_data(pd.DataFrame({"c": ["a", "b"] * 5}))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_box_plots(task):
    X, y = make_table(task)
    with no_warnings():
        display = BoxPlotDisplay.from_data(X, y, task=task, max_features=3)
    assert len(display.axes_) == 3
    expected = CLASSES[task] if task != "regression" else None
    for ax, artists in zip(display.axes_, display.boxes_, strict=True):
        assert_labelled(ax)
        assert len(artists["boxes"]) == (len(expected) if expected else 4)
    if expected:
        assert display.groups_ == expected
    else:
        assert len(display.groups_) == 4 and "(quantile bin)" in display.ax_.get_xlabel()


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_scatter_picks_the_informative_pair(task):
    X, y = make_table(task)
    with no_warnings():
        display = ScatterDisplay.from_data(X, y, task=task)
    assert set(display.features) == {"age", "signal"}
    assert list(display.mutual_info.index[:2]) == list(display.features)
    assert_labelled(display.ax_)
    if task == "regression":
        assert len(display.collections_) == 1 and display.colorbar_ is not None
    else:
        assert len(display.collections_) == len(CLASSES[task])
        assert display.colorbar_ is None


def test_scatter_subsamples_deterministically_and_draws_on_given_axes():
    X, y = make_table("binary", n=800)
    _, ax = plt.subplots()
    with no_warnings():
        first = ScatterDisplay.from_data(X, y, max_points=200, ax=ax)
        second = ScatterDisplay.from_data(X, y, max_points=200)
    assert first.ax_ is ax
    shown = sum(len(c.get_offsets()) for c in first.collections_)
    assert shown <= 200
    np.testing.assert_array_equal(first.x, second.x)


def test_scatter_needs_two_numeric_features():
    X = pd.DataFrame({"a": np.arange(20.0), "c": list("xy") * 10})
    with pytest.raises(ValueError, match="two numeric"):
        ScatterDisplay.from_data(X, pd.Series([0, 1] * 10))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_pca(task):
    X, y = make_table(task)
    with no_warnings():
        display = PCADisplay.from_data(X, y, task=task)
    assert display.components.shape == (N, 2)
    assert 0 < display.explained_variance_ratio.sum() <= 1
    assert "% of variance" in display.ax_.get_xlabel() and "% of variance" in display.ax_.get_ylabel()
    assert display.ax_.get_title()
    assert len(display.collections_) == (1 if task == "regression" else 2)


def test_association_heatmap_from_data_includes_target():
    X, y = make_table("binary")
    with no_warnings():
        display = AssociationHeatmapDisplay.from_data(X, y)
    names = list(display.matrix.columns)
    assert names[-1] == "churn" and "plan" in names and "score" in names
    assert display.matrix.shape == (len(names), len(names))
    assert np.allclose(np.diag(display.matrix), 1.0)
    values = display.matrix.to_numpy()
    assert np.nanmin(values) >= -1 and np.nanmax(values) <= 1
    assert len(display.ax_.images) == 1
    assert len(display.texts_) == np.isfinite(values).sum()  # small: annotated
    assert_labelled(display.ax_)
    # the signal drives the target: a strong association
    assert display.matrix.loc["signal", "churn"] > 0.5


def test_association_heatmap_from_matrix():
    matrix = pd.DataFrame([[1.0, -0.4], [-0.4, 1.0]], index=["a", "b"], columns=["a", "b"])
    _, ax = plt.subplots()
    with no_warnings():
        display = AssociationHeatmapDisplay.from_matrix(matrix, title="Mine", ax=ax)
    assert display.ax_ is ax and ax.get_title() == "Mine"
    with pytest.raises(ValueError, match="square"):
        AssociationHeatmapDisplay.from_matrix(matrix.iloc[:1])


def test_association_heatmap_does_not_annotate_large_matrices():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 15)), columns=[f"x{i}" for i in range(15)])
    with no_warnings():
        display = AssociationHeatmapDisplay.from_data(X, numeric_method="pearson")
    assert display.texts_ == []


def test_missing_values_map():
    X, _ = make_table("binary")
    with no_warnings():
        display = MissingValuesDisplay.from_data(X, max_rows=100)
    assert display.image_ is not None and len(display.ax_.images) == 1
    assert display.mask.shape == (100, X.shape[1])
    assert len(display.bars_) == X.shape[1]
    assert display.share["income"] > 0 and display.share["age"] == 0
    assert display.ax_.get_xlabel() and display.ax_.get_ylabel() and display.bar_ax_.get_ylabel()
    assert display.bar_ax_.get_title().startswith("Missing values")


def test_missing_values_on_given_axes():
    X, _ = make_table("binary")
    _, ax = plt.subplots()
    with no_warnings():
        display = MissingValuesDisplay.from_data(X, ax=ax)
    assert display.ax_ is ax and display.bar_ax_ is not None


def test_missing_values_none_missing():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with no_warnings():
        display = MissingValuesDisplay.from_data(X)
    assert display.image_ is None and display.bars_ is None
    assert any("No missing values" in t.get_text() for t in display.ax_.texts)
    assert display.ax_.get_title()


def test_missing_values_keeps_the_most_missing_columns():
    X = pd.DataFrame({f"c{i}": [np.nan if j < i else 1.0 for j in range(10)] for i in range(6)})
    with no_warnings():
        display = MissingValuesDisplay.from_data(X, max_columns=3)
    assert list(display.mask.columns) == ["c3", "c4", "c5"]


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_target_distribution_classes(task):
    _, y = make_table(task)
    with no_warnings():
        display = TargetDistributionDisplay.from_data(y, task=task)
    assert len(display.bars_) == len(CLASSES[task])
    assert sum(b.get_height() for b in display.bars_) == N
    assert_labelled(display.ax_)


def test_target_distribution_regression():
    _, y = make_table("regression")
    y[:5] = np.nan
    with no_warnings():
        display = TargetDistributionDisplay.from_data(y)
    assert display.task == "regression" and display.bars_ is None
    assert len(display.lines_) == 4  # density, median, two quartiles
    assert display.ax_.get_legend() is not None
    assert_labelled(display.ax_)


def test_target_rate_binary_from_data():
    X, y = make_table("binary")
    with no_warnings():
        display = TargetRateDisplay.from_data(X, y, "plan")
    levels = list(display.table["level"])
    assert set(levels) == {"basic", "plus", "premium", "(missing)"}
    assert len(display.bars_) == 1 and len(display.bars_[0]) == len(levels)
    assert display.table["count"].sum() == N
    overall = float((y == "yes").mean())
    assert display.overall == pytest.approx(overall)
    assert display.reference_lines_[0].get_xdata()[0] == pytest.approx(overall)
    assert "n=" in display.ax_.get_yticklabels()[0].get_text()
    assert_labelled(display.ax_)


def test_target_rate_numeric_feature_is_binned():
    X, y = make_table("regression")
    with no_warnings():
        display = TargetRateDisplay.from_data(X, y, "age", n_bins=4)
    assert len(display.table) == 4 and "mean" in display.table
    assert display.table["mean"].is_monotonic_increasing  # age drives the target


def test_target_rate_multiclass_is_stacked():
    X, y = make_table("multiclass")
    with no_warnings():
        display = TargetRateDisplay.from_data(X, y, "plan")
    assert len(display.bars_) == 3  # one container per class
    assert all(len(c) == len(display.table) for c in display.bars_)
    shares = display.table[[f"share_{c}" for c in CLASSES["multiclass"]]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert len(display.reference_lines_) == 2


def test_target_rate_from_profile_table():
    from modelworks.data.profile import profile

    X, y = make_table("binary")
    prof = profile(X.assign(churn=y), target="churn")
    table = prof.target_rates["plan"]
    _, ax = plt.subplots()
    with no_warnings():
        display = TargetRateDisplay.from_table(table, "plan", target_name="churn", ax=ax)
    assert display.ax_ is ax and display.task == "binary"
    assert len(display.bars_[0]) == len(table)
    assert 0 < float(display.overall) < 1


def test_target_rate_from_table_infers_the_task():
    table = pd.DataFrame(
        {"level": ["x", "y"], "count": [10, 30], "share_a": [0.5, 0.2], "share_b": [0.5, 0.8]}
    )
    with no_warnings():
        display = TargetRateDisplay.from_table(table, "f")
    assert display.task == "multiclass"
    assert display.overall["a"] == pytest.approx((5 + 6) / 40)
    with pytest.raises(ValueError):
        TargetRateDisplay.from_table(table[["level", "count"]], "f")


def test_rendered_data_figures_are_closed():
    X, y = make_table("binary")
    for display in (
        FeatureHistogramDisplay.from_data(X, y, max_features=2),
        TargetDistributionDisplay.from_data(y),
    ):
        assert to_png(display, dpi=40)
    assert plt.get_fignums() == []
