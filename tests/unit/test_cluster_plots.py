"""Displays of a clustering and of an anomaly search, drawn from small synthetic results."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from plot_support import assert_labelled, close_figures, no_warnings  # noqa: F401
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from modelworks.plots import (
    AnomalyScoreDisplay,
    BICDisplay,
    BiplotDisplay,
    ClusterProfileDisplay,
    ClusterProjectionDisplay,
    DendrogramDisplay,
    ElbowDisplay,
    KDistanceDisplay,
    ScreeDisplay,
    SelectionDisplay,
    SilhouetteDisplay,
    to_png,
)
from modelworks.plots._cluster_common import LIGHT
from modelworks.plots._style import HIGHLIGHT, MUTED, REFERENCE, color


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, _ = make_blobs(n_samples=60, centers=3, n_features=4, random_state=0)
    labels = KMeans(n_clusters=3, n_init=3, random_state=0).fit_predict(X)
    return X, labels


def dashed_vertical_at(ax, x) -> bool:
    return any(
        line.get_linestyle() == "--" and np.allclose(line.get_xdata(), [x, x]) for line in ax.get_lines()
    )


# ------------------------------------------------------------------------------------------- choosing k


def test_elbow_with_gap_marks_chosen_k_on_both_panels():
    k = [1, 2, 3, 4, 5]
    with no_warnings():
        display = ElbowDisplay.from_values(
            k, [100.0, 40.0, 12.0, 10.0, 9.0], gap=[0.1, 0.5, 0.9, 0.85, 0.8], gap_se=[0.0] * 5, chosen_k=3
        )
    assert len(display.axes_) == 2 and display.ax_ is display.axes_[0]
    assert len(display.lines_) == 2 and len(display.chosen_lines_) == 2
    for ax in display.axes_:
        assert_labelled(ax)
        assert dashed_vertical_at(ax, 3)
        assert "chosen k = 3" in [t.get_text() for t in ax.get_legend().get_texts()]
    np.testing.assert_allclose(display.lines_[1].get_ydata(), [0.1, 0.5, 0.9, 0.85, 0.8])


@pytest.mark.parametrize("gap", [None, [np.nan, np.nan]])
def test_elbow_without_gap_has_one_panel(gap):
    with no_warnings():
        display = ElbowDisplay.from_values([2, 3], [5.0, 4.0], gap=gap, gap_se=[np.nan, np.nan])
    assert len(display.axes_) == 1 and display.gap is None
    assert display.chosen_lines_ == [] and len(display.ax_.get_lines()) == 1


def selection_table() -> pd.DataFrame:
    rows = [("kmeans", k, 0.3 + 0.1 * (k == 3), 0.8 - 0.05 * k, 0.7 - 0.05 * k, 0.9) for k in (2, 3, 4)]
    rows += [("gmm", k, 0.25 + 0.02 * k, 0.6, np.nan, np.nan) for k in (2, 3, 4)]
    rows += [("dbscan", None, 0.45, 0.7, 0.6, 0.8)]
    table = pd.DataFrame(rows, columns=list(SelectionDisplay.COLUMNS))
    table["n_clusters"] = [np.nan] * 6 + [5]
    return table


def test_selection_draws_a_line_per_method_and_stars_the_choice():
    with no_warnings():
        display = SelectionDisplay.from_table(selection_table(), chosen=("kmeans", 3))
    silhouette, stability = display.axes_
    assert display.methods_ == ["kmeans", "gmm", "dbscan"]
    for ax in display.axes_:
        assert_labelled(ax)
    # one line per method tried over k, one marker-only line for DBSCAN at its 5 clusters
    lines = silhouette.get_lines()
    assert len(lines) == 3
    assert [len(line.get_xdata()) for line in lines] == [3, 3, 1]
    assert lines[2].get_linestyle() == "None" and list(lines[2].get_xdata()) == [5]
    assert len(stability.collections) >= 1  # the kmeans interval is shaded; gmm has none
    assert len(display.chosen_markers_) == 2
    for marker, value in zip(display.chosen_markers_, (0.4, 0.65), strict=True):
        np.testing.assert_allclose(marker.get_offsets(), [[3, value]])
    legend = [t.get_text() for t in silhouette.get_legend().get_texts()]
    assert legend[:3] == ["kmeans", "gmm", "dbscan"] and "chosen: kmeans, k = 3" in legend


def test_selection_handles_found_k_choice_missing_columns_and_all_nan_stability():
    table = selection_table()
    with no_warnings():
        display = SelectionDisplay.from_table(table, chosen=("dbscan", None))
    np.testing.assert_allclose(display.chosen_markers_[0].get_offsets(), [[5, 0.45]])
    # without n_clusters the DBSCAN row has no x: a dotted horizontal line at its silhouette
    bare = table.drop(columns="n_clusters").assign(
        stability=np.nan, stability_low=np.nan, stability_high=np.nan
    )
    with no_warnings():
        display = SelectionDisplay.from_table(bare, chosen=("nope", 2))
    assert display.chosen_markers_ == []
    assert any(line.get_linestyle() == ":" for line in display.ax_.get_lines())
    with pytest.raises(ValueError, match="stability"):
        SelectionDisplay.from_table(table.drop(columns="stability"))


def test_bic_marks_chosen_k():
    with no_warnings():
        display = BICDisplay.from_values([1, 2, 3], [300.0, 250.0, 260.0], chosen_k=2)
    assert_labelled(display.ax_)
    assert dashed_vertical_at(display.ax_, 2)
    np.testing.assert_allclose(display.line_.get_ydata(), [300.0, 250.0, 260.0])
    assert BICDisplay.from_values([4], [1.0]).chosen_line_ is None


def test_dendrogram_cut_lies_between_the_merges_that_give_chosen_k(blobs):
    X, _ = blobs
    Z = linkage(X, method="ward")
    for k in (2, 3, 5):
        with no_warnings():
            display = DendrogramDisplay.from_linkage(Z, chosen_k=k, max_leaves=12)
        assert Z[-k, 2] < display.cut_ < Z[-k + 1, 2]
        assert display.cut_ == pytest.approx((Z[-k, 2] + Z[-k + 1, 2]) / 2)
        assert len(np.unique(fcluster(Z, display.cut_, criterion="distance"))) == k
        np.testing.assert_allclose(display.cut_line_.get_ydata(), [display.cut_] * 2)
        assert len(display.dendrogram_["leaves"]) == 12
        assert_labelled(display.ax_)


def test_dendrogram_colours_each_cluster_below_the_cut(blobs):
    X, _ = blobs
    Z = linkage(X, method="ward")
    display = DendrogramDisplay.from_linkage(Z, chosen_k=3, max_leaves=60)
    colours = display.dendrogram_["color_list"]
    assert colours.count(REFERENCE) == 2  # the two merges above the cut
    assert [c for c in dict.fromkeys(colours) if c != REFERENCE] == [color(0), color(1), color(2)]
    assert set(DendrogramDisplay.from_linkage(Z).dendrogram_["color_list"]) == {color(0)}


def test_dendrogram_edge_cuts_and_truncation():
    Z = linkage(np.array([[0.0], [1.0], [3.0], [7.0]]), method="single")
    one = DendrogramDisplay.from_linkage(Z, chosen_k=1)
    assert one.cut_ > Z[-1, 2] and len(np.unique(fcluster(Z, one.cut_, criterion="distance"))) == 1
    every = DendrogramDisplay.from_linkage(Z, chosen_k=4)
    assert len(np.unique(fcluster(Z, every.cut_, criterion="distance"))) == 4
    plain = DendrogramDisplay.from_linkage(Z, max_leaves=30)
    assert plain.cut_ is None and plain.cut_line_ is None and len(plain.dendrogram_["leaves"]) == 4
    with pytest.raises(ValueError, match="chosen_k"):
        DendrogramDisplay.from_linkage(Z, chosen_k=9)


def test_k_distance_sorted_with_eps_line():
    distances = [0.5, 0.1, np.nan, 0.3, 2.0]
    with no_warnings():
        display = KDistanceDisplay.from_distances(distances, eps=0.4, k=4)
    np.testing.assert_allclose(display.line_.get_ydata(), [0.1, 0.3, 0.5, 2.0])
    np.testing.assert_allclose(display.eps_line_.get_ydata(), [0.4, 0.4])
    assert display.ax_.get_legend().get_texts()[0].get_text() == "eps = 0.4"
    assert "4th nearest" in display.ax_.get_ylabel()
    big = KDistanceDisplay.from_distances(np.random.default_rng(0).exponential(size=20_000))
    assert len(big.line_.get_ydata()) <= 5000 and big.eps_line_ is None
    assert big.line_.get_ydata()[-1] == big.distances.max()


# ------------------------------------------------------------------------------------ reading clusters


def test_silhouette_knife_per_cluster(blobs):
    X, labels = blobs
    values = silhouette_samples(X, labels)
    with no_warnings():
        display = SilhouetteDisplay.from_samples(values, labels)
    assert display.clusters_ == [0, 1, 2] and len(display.fills_) == 3
    assert display.mean_ == pytest.approx(values.mean())
    np.testing.assert_allclose(display.mean_line_.get_xdata(), [values.mean()] * 2)
    assert "noise" not in display.ax_.get_title() and display.n_noise_ == 0
    assert_labelled(display.ax_)


def test_silhouette_leaves_noise_out():
    values = np.array([0.6, 0.5, 0.7, 0.2, 0.3, -0.1, 0.9, 0.1, 0.4, 0.0])
    labels = np.array([0, 0, 0, 1, 1, -1, -1, 1, 0, -1])
    with no_warnings():
        display = SilhouetteDisplay.from_samples(values, labels)
    assert display.clusters_ == [0, 1] and display.n_noise_ == 3
    assert "3 noise rows left out" in display.ax_.get_title()
    assert display.mean_ == pytest.approx(values[labels != -1].mean())
    texts = [t.get_text() for t in display.ax_.texts]
    assert "noise" not in texts and {"0", "1"} <= set(texts)


def test_silhouette_single_cluster_without_values():
    with no_warnings():
        display = SilhouetteDisplay.from_samples([np.nan] * 10, [0] * 10)
    assert display.fills_ == [] and display.mean_line_ is None and np.isnan(display.mean_)


def test_cluster_profile_keeps_twenty_columns_and_clips():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(3, 30)), index=[0, 1, -1], columns=[f"feature_{i}" for i in range(30)]
    )
    frame["a_very_long_feature_name_indeed_it_is"] = [5.0, -0.1, 0.0]
    frame["all_missing"] = np.nan
    with no_warnings():
        display = ClusterProfileDisplay.from_frame(frame)
    kept = list(display.profile_.columns)
    assert len(kept) == 20 and "a_very_long_feature_name_indeed_it_is" in kept and "all_missing" not in kept
    strongest = frame.abs().max().sort_values(ascending=False).index[:20]
    assert set(kept) == set(strongest)
    assert kept == [c for c in frame.columns if c in set(kept)]  # given order kept
    image = display.image_.get_array()
    assert image.max() <= 3.0 and image.min() >= -3.0
    low, high = display.image_.get_clim()
    assert low == -high and high <= 3.0
    assert len(display.texts_) == 60 and "+5.0" in [t.get_text() for t in display.texts_]
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["0", "1", "noise"]
    assert all(len(t.get_text()) <= 22 for t in display.ax_.get_xticklabels())


def test_cluster_profile_small_and_empty():
    frame = pd.DataFrame({"x": [1.0, np.nan], "y": [np.nan, np.nan]}, index=[0, 1])
    with no_warnings():
        display = ClusterProfileDisplay.from_frame(frame)
    assert display.profile_.shape == (2, 2) and len(display.texts_) == 1
    big = ClusterProfileDisplay.from_frame(pd.DataFrame(np.ones((13, 12))))
    assert big.texts_ == []
    with pytest.raises(ValueError):
        ClusterProfileDisplay.from_frame(pd.DataFrame(index=[0, 1]))


# ----------------------------------------------------------------------------------- PCA and projections


def test_scree_bars_and_cumulative(blobs):
    X, _ = blobs
    ratios = PCA().fit(X).explained_variance_ratio_
    with no_warnings():
        display = ScreeDisplay.from_ratios(ratios)
    assert len(display.bars_) == 4
    np.testing.assert_allclose(display.cumulative_line_.get_ydata(), np.cumsum(ratios))
    np.testing.assert_allclose(display.target_line_.get_ydata(), [0.8, 0.8])
    assert display.target_line_.get_linestyle() == ":"
    assert display.n_components_80_ == int(np.argmax(np.cumsum(ratios) >= 0.8)) + 1
    many = ScreeDisplay.from_ratios(np.full(40, 1 / 40))
    assert len(many.bars_) == 20 and many.n_components_80_ == 32
    assert ScreeDisplay.from_ratios([0.3]).n_components_80_ is None


def test_biplot_arrows_and_labels(blobs):
    X, labels = blobs
    X = np.hstack([X, X[:, :3] * 0.5 + 1.0, X[:, :3] * 0.1])  # ten features
    pca = PCA(n_components=2).fit(X)
    coords = pca.transform(X)
    names = [f"f{i}" for i in range(10)]
    with no_warnings():
        display = BiplotDisplay.from_pca(
            coords, pca.components_, names, labels=labels, explained=pca.explained_variance_ratio_
        )
    assert len(display.arrows_) == 8 and len(display.collections_) == 3
    lengths = np.hypot(*pca.components_)
    assert display.arrow_features_ == [names[j] for j in np.argsort(-lengths, kind="stable")[:8]]
    tips = np.array([arrow.xy for arrow in display.arrows_])
    reach = np.abs(tips).max(axis=0) / np.abs(coords).max(axis=0)
    assert reach.max() == pytest.approx(0.8) and (reach <= 0.8 + 1e-9).all()
    np.testing.assert_allclose(
        tips, pca.components_[:, np.argsort(-lengths, kind="stable")[:8]].T * display.scale_
    )
    assert display.ax_.get_xlabel() == f"PC1 ({100 * pca.explained_variance_ratio_[0]:.1f}% of variance)"
    plain = BiplotDisplay.from_pca(coords[:10], pca.components_[:, :2], ["a", "b"])
    assert plain.ax_.get_xlabel() == "PC1" and len(plain.arrows_) == 2 and len(plain.collections_) == 1
    with pytest.raises(ValueError, match="loadings"):
        BiplotDisplay.from_pca(coords, pca.components_, names[:3])


def test_projection_colours_clusters_and_noise():
    coords = np.arange(20, dtype=float).reshape(10, 2)
    labels = np.array([0, 0, 1, 1, 2, 2, -1, -1, 0, 1])
    with no_warnings():
        display = ClusterProjectionDisplay.from_coords(coords, labels, title="t-SNE", xlabel="a", ylabel="b")
    assert len(display.collections_) == 4
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["0 (3)", "1 (3)", "2 (2)", "noise (2)"]
    assert np.allclose(display.collections_[-1].get_facecolor()[0][:3], to_rgb(MUTED))
    assert display.ax_.get_title() == "t-SNE" and display.ax_.get_xlabel() == "a"


def test_projection_of_anomaly_flags_draws_them_on_top():
    flags = np.zeros(10, dtype=bool)
    flags[[2, 7]] = True
    with no_warnings():
        display = ClusterProjectionDisplay.from_coords(np.random.default_rng(0).normal(size=(10, 2)), flags)
    normal, anomaly = display.collections_
    assert anomaly.get_zorder() > normal.get_zorder()
    assert np.allclose(anomaly.get_facecolor()[0][:3], to_rgb(HIGHLIGHT))
    assert np.allclose(normal.get_facecolor()[0][:3], to_rgb(LIGHT))
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["normal (8)", "anomaly (2)"]
    single = ClusterProjectionDisplay.from_coords(np.zeros((3, 2)), [0, 0, 0])
    assert len(single.collections_) == 1


def test_projection_and_biplot_subsample_deterministically():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(12_000, 2))
    labels = rng.integers(0, 3, size=12_000)
    first = ClusterProjectionDisplay.from_coords(coords, labels)
    second = ClusterProjectionDisplay.from_coords(coords, labels)
    assert sum(len(c.get_offsets()) for c in first.collections_) == 5000
    np.testing.assert_array_equal(first.rows_, second.rows_)
    assert "5,000 of 12,000 rows shown" in first.ax_.get_title()
    # the legend counts every row, not only those drawn
    assert first.ax_.get_legend().get_texts()[0].get_text() == f"0 ({(labels == 0).sum():,})"
    biplot = BiplotDisplay.from_pca(coords, np.eye(2), ["x", "y"])
    assert len(biplot.collections_[0].get_offsets()) == 5000


# ------------------------------------------------------------------------------------------- anomalies


def test_anomaly_scores_histogram_threshold_and_count():
    scores = np.r_[np.linspace(0.0, 1.0, 90), np.linspace(2.0, 3.0, 10), np.nan]
    with no_warnings():
        display = AnomalyScoreDisplay.from_scores(scores, 1.5, flagged_label="outliers")
    assert display.n_flagged_ == 10
    np.testing.assert_allclose(display.threshold_line_.get_xdata(), [1.5, 1.5])
    label = display.ax_.get_legend().get_texts()[0].get_text()
    assert "10 outliers" in label and "10.0%" in label
    highlighted = [p for p in display.patches_ if np.allclose(p.get_facecolor()[:3], to_rgb(HIGHLIGHT))]
    assert highlighted and all(p.get_x() >= 1.5 for p in highlighted)
    assert not display.log_scale_
    assert_labelled(display.ax_)


def test_anomaly_scores_log_scale_and_edge_cases():
    scores = np.r_[np.zeros(5000), np.linspace(5.0, 6.0, 3)]
    display = AnomalyScoreDisplay.from_scores(scores, 4.0)
    assert display.log_scale_ and display.ax_.get_yscale() == "log" and display.n_flagged_ == 3
    assert AnomalyScoreDisplay.from_scores(scores, 4.0, n_flagged=7).n_flagged_ == 7
    with no_warnings():
        constant = AnomalyScoreDisplay.from_scores(np.ones(10), 1.0)
    assert constant.n_flagged_ == 0
    assert AnomalyScoreDisplay.from_scores([0.1, 0.2], None).threshold_line_ is None


def test_every_display_renders_and_closes(blobs):
    X, labels = blobs
    Z = linkage(X, method="average")
    displays = [
        ElbowDisplay.from_values(
            [1, 2, 3], [10.0, 5.0, 4.0], gap=[0.1, 0.3, 0.2], gap_se=[0, 0, 0], chosen_k=2
        ),
        SelectionDisplay.from_table(selection_table(), chosen=("gmm", 4)),
        BICDisplay.from_values([1, 2], [3.0, 2.0], chosen_k=2),
        DendrogramDisplay.from_linkage(Z, chosen_k=3),
        KDistanceDisplay.from_distances(np.arange(10.0), eps=4.5, k=2),
        SilhouetteDisplay.from_samples(silhouette_samples(X, labels), labels),
        ClusterProfileDisplay.from_frame(pd.DataFrame(np.eye(3), columns=list("abc"))),
        ScreeDisplay.from_ratios([0.6, 0.3, 0.1]),
        BiplotDisplay.from_pca(X[:, :2], np.eye(2), ["x", "y"], labels=labels, explained=[0.5, 0.2]),
        ClusterProjectionDisplay.from_coords(X[:, :2], labels),
        AnomalyScoreDisplay.from_scores(X[:, 0], 0.0),
    ]
    for display in displays:
        assert to_png(display, dpi=30).startswith(b"\x89PNG")
    assert plt.get_fignums() == []
