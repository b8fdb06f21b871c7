"""Evaluation Displays on tiny fitted pipelines that take a raw DataFrame with a categorical column."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from plot_support import assert_labelled, close_figures, no_warnings  # noqa: F401
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from modelworks.plots import (
    CalibrationDisplay,
    ConfusionMatrixDisplay,
    PartialDependenceDisplay,
    PermutationImportanceDisplay,
    PrecisionRecallDisplay,
    PredictedActualDisplay,
    ResidualHistogramDisplay,
    ResidualsDisplay,
    RocCurveDisplay,
    to_png,
)

N = 300
NUMERIC = ["age", "income", "visits"]


def make_table(task: str, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, N).round(1)
    income = rng.lognormal(3, 0.5, N)
    income[rng.random(N) < 0.1] = np.nan
    plan = rng.choice(["basic", "plus", "premium"], N).astype(object)
    plan[rng.random(N) < 0.05] = None
    X = pd.DataFrame({"age": age, "income": income, "plan": plan, "visits": rng.integers(0, 20, N)})
    latent = 0.1 * (age - 40) + 1.5 * (plan == "premium") + rng.normal(size=N)
    if task == "binary":
        return X, pd.Series(np.where(latent > 0.3, "yes", "no"), name="churn")
    if task == "multiclass":
        return X, pd.Series(np.array(["a", "b", "c"])[np.digitize(latent, [-0.5, 0.8])], name="segment")
    return X, pd.Series(100 + 10 * latent, name="spend")


def raw_pipeline(estimator) -> Pipeline:
    """Numbers (numeric text parsed) imputed and scaled; the category imputed and one-hot encoded."""
    to_float = FunctionTransformer(lambda frame: frame.apply(pd.to_numeric, errors="coerce"))
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(to_float, SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                ["plan"],
            ),
        ]
    )
    return make_pipeline(columns, estimator)


@pytest.fixture(scope="module")
def binary():
    X, y = make_table("binary")
    return raw_pipeline(LogisticRegression()).fit(X, y), X, y


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_table("multiclass")
    return raw_pipeline(LogisticRegression()).fit(X, y), X, y


@pytest.fixture(scope="module")
def regression():
    X, y = make_table("regression")
    return raw_pipeline(Ridge()).fit(X, y), X, y


def test_roc_binary(binary):
    model, X, y = binary
    with no_warnings():
        display = RocCurveDisplay.from_estimator(model, X, y)
    assert len(display.lines_) == 1 and display.chance_level_ is not None
    proba = model.predict_proba(X)[:, 1]
    assert display.roc_auc[0] == pytest.approx(roc_auc_score(y == "yes", proba))
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert any("AUC" in t for t in legend) and len(legend) == 2
    assert "positive class: yes" in display.ax_.get_xlabel()
    assert_labelled(display.ax_)


def test_roc_from_predictions_with_a_1d_score_and_pos_label(binary):
    model, X, y = binary
    score = model.predict_proba(X)[:, 0]
    _, ax = plt.subplots()
    with no_warnings():
        display = RocCurveDisplay.from_predictions(y, score, pos_label="no", ax=ax)
    assert display.ax_ is ax and display.names == ["no"]
    assert display.roc_auc[0] == pytest.approx(roc_auc_score(y == "no", score))


def test_roc_multiclass_one_line_per_class(multiclass):
    model, X, y = multiclass
    with no_warnings():
        display = RocCurveDisplay.from_estimator(model, X, y)
    assert len(display.lines_) == 3 and display.names == ["a", "b", "c"]
    assert display.chance_level_ is not None
    assert "against the rest" in display.ax_.get_title()


def test_roc_multiclass_skips_a_class_absent_from_the_truth(multiclass):
    model, X, y = multiclass
    keep = (y != "b").to_numpy()
    with no_warnings():
        display = RocCurveDisplay.from_predictions(
            y[keep], model.predict_proba(X[keep]), classes=list(model.classes_)
        )
    assert display.names == ["a", "c"]


def test_precision_recall(binary, multiclass):
    model, X, y = binary
    with no_warnings():
        display = PrecisionRecallDisplay.from_estimator(model, X, y)
    assert len(display.lines_) == 1 and display.chance_level_ is not None
    proba = model.predict_proba(X)[:, 1]
    assert display.average_precision[0] == pytest.approx(average_precision_score(y == "yes", proba))
    assert_labelled(display.ax_)
    model, X, y = multiclass
    with no_warnings():
        display = PrecisionRecallDisplay.from_estimator(model, X, y)
    assert len(display.lines_) == 3 and display.chance_level_ is None


def test_calibration(binary, multiclass):
    model, X, y = binary
    with no_warnings():
        display = CalibrationDisplay.from_estimator(model, X, y, n_bins=5)
    assert len(display.lines_) == 1 and display.ref_line_ is not None
    assert len(display.ax_.get_lines()) == 2  # curve and diagonal
    assert_labelled(display.ax_)
    model, X, y = multiclass
    _, ax = plt.subplots()
    with no_warnings():
        display = CalibrationDisplay.from_estimator(model, X, y, strategy="quantile", ax=ax)
    assert display.ax_ is ax and len(display.lines_) == 3
    assert len(ax.get_lines()) == 4


def test_calibration_needs_probabilities():
    class Scorer:
        classes_ = np.array([0, 1])

        def decision_function(self, X):
            return np.zeros(len(X))

    with pytest.raises(ValueError, match="predict_proba"):
        CalibrationDisplay.from_estimator(Scorer(), np.zeros((4, 1)), [0, 1, 0, 1])


def test_confusion_matrix_two_panels(multiclass):
    model, X, y = multiclass
    with no_warnings():
        display = ConfusionMatrixDisplay.from_estimator(model, X, y)
    assert len(display.axes_) == 2 and len(display.figure_.axes) == 2
    assert all(len(ax.images) == 1 for ax in display.axes_)
    assert display.confusion_matrix.sum() == N
    assert np.allclose(display.normalized_.sum(axis=1), 1.0)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["a", "b", "c"]
    for ax in display.axes_:
        assert_labelled(ax)
    assert display.figure_.get_suptitle()


def test_confusion_matrix_on_given_axes_with_an_unpredicted_class():
    fig, axes = plt.subplots(1, 2)
    with no_warnings():
        display = ConfusionMatrixDisplay.from_predictions(
            ["x", "y", "z", "x"], ["x", "y", "y", "y"], labels=["x", "y", "z", "w"], ax=axes
        )
    assert display.figure_ is fig and display.ax_ is axes[0]
    assert np.allclose(display.normalized_[3], 0.0)  # "w" never true: a row of zeros, no warning
    with pytest.raises(ValueError, match="pair"):
        ConfusionMatrixDisplay.from_predictions([0, 1], [0, 1], ax=axes[0])


def test_permutation_importance(binary):
    model, X, y = binary
    with no_warnings():
        display = PermutationImportanceDisplay.from_estimator(
            model, X, y, scoring="roc_auc", n_repeats=3, max_rows=200, top_k=3
        )
    frame = display.importances_
    assert list(frame.columns) == ["feature", "mean", "std"]
    assert set(frame["feature"]) == set(X.columns) and len(frame) == 4
    assert frame["mean"].is_monotonic_decreasing
    assert frame["feature"].iloc[0] in {"age", "plan"}
    assert len(display.bars_) == 3
    assert display.ax_.get_yticklabels()[0].get_text() == frame["feature"].iloc[0]  # most important on top
    assert "decrease in ROC AUC" in display.ax_.get_xlabel()
    assert_labelled(display.ax_)


def test_permutation_importance_loss_and_precomputed(regression):
    model, X, y = regression
    with no_warnings():
        display = PermutationImportanceDisplay.from_estimator(
            model, X, y, scoring="neg_root_mean_squared_error", n_repeats=2
        )
    assert "increase in root mean squared error" in display.ax_.get_xlabel()
    _, ax = plt.subplots()
    table = pd.DataFrame({"feature": ["a", "b"], "mean": [0.1, 0.3]})
    with no_warnings():
        pre = PermutationImportanceDisplay.from_importances(table, metric_name="accuracy", ax=ax)
    assert pre.ax_ is ax and pre.importances_["feature"].tolist() == ["b", "a"]
    assert (pre.importances_["std"] == 0).all()


def test_partial_dependence_binary_with_categorical_and_missing(binary):
    model, X, y = binary
    with no_warnings():
        display = PartialDependenceDisplay.from_estimator(model, X, ["age", "plan", "income"])
    assert display.features == ["age", "plan", "income"]
    assert len(display.axes_) == 3
    bars = display.display_.bars_.ravel()
    lines = display.display_.lines_.ravel()
    assert bars[1] is not None and lines[0] is not None and lines[2] is not None
    grid = display.display_.pd_results[2]["grid_values"][0]
    assert np.isfinite(grid.astype(float)).all()  # income has gaps: the grid ignores them
    categories = display.display_.pd_results[1]["grid_values"][0]
    assert sorted(categories) == ["basic", "plus", "premium"]
    assert display.response == "P(yes)" and "P(yes)" in display.figure_.get_suptitle()
    for ax in display.axes_:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_ylim()[0] == 0.0


def test_partial_dependence_multiclass_target_numeric_text_and_given_axes(multiclass):
    model, X, y = multiclass
    X = X.assign(visits=X["visits"].astype(str))  # numbers stored as text
    fig, axes = plt.subplots(1, 2)
    with no_warnings():
        display = PartialDependenceDisplay.from_estimator(model, X, ["visits", "plan"], target="c", ax=axes)
    assert display.figure_ is fig and list(display.axes_) == list(axes)
    assert display.response == "P(c)"
    assert display.display_.target_idx == 2
    with pytest.raises(ValueError, match="target"):
        PartialDependenceDisplay.from_estimator(model, X, ["age"], target="zzz")


def test_partial_dependence_regression_default_features(regression):
    model, X, y = regression
    with no_warnings():
        display = PartialDependenceDisplay.from_estimator(model, X, max_features=2, max_rows=100)
    assert display.features == ["age", "income"] and display.response == "prediction"


def test_predicted_actual(regression):
    model, X, y = regression
    with no_warnings():
        display = PredictedActualDisplay.from_estimator(model, X, y)
    assert len(display.scatter_.get_offsets()) == N
    assert display.line_ is not None and "R²" in display.ax_.get_title()
    assert_labelled(display.ax_)


def test_residuals_subsample_and_given_axes(regression):
    model, X, y = regression
    _, ax = plt.subplots()
    with no_warnings():
        display = ResidualsDisplay.from_estimator(model, X, y, subsample=100, ax=ax)
    assert display.ax_ is ax
    assert len(display.scatter_.get_offsets()) == 100
    assert "residual" in ax.get_ylabel()


def test_residual_histogram(regression):
    model, X, y = regression
    with no_warnings():
        display = ResidualHistogramDisplay.from_estimator(model, X, y)
    residuals = y.to_numpy() - model.predict(X)
    assert display.mean_ == pytest.approx(residuals.mean())
    assert display.std_ == pytest.approx(residuals.std(ddof=1))
    assert len(display.patches_) > 5 and len(display.lines_) == 3
    assert display.ax_.get_legend() is not None
    assert_labelled(display.ax_)


def test_evaluation_figures_close_after_png(binary):
    model, X, y = binary
    for display in (
        RocCurveDisplay.from_estimator(model, X, y),
        ConfusionMatrixDisplay.from_estimator(model, X, y),
    ):
        assert to_png(display, dpi=40)
    assert plt.get_fignums() == []
