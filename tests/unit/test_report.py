"""The HTML report and profile page: sections, figures per task, self-contained, escaped, atomic."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from modelworks import Experiment, profile
from modelworks.report import render_profile, render_report, write_html

FAST_MODELS = ["linear", "decision_tree"]
FAST_CV = 3

CLASSIFICATION = {"roc", "precision_recall", "calibration", "confusion_matrix"}
REGRESSION = {"predicted_actual", "residuals", "residual_histogram"}


def _figures(html: str) -> set[str]:
    return set(re.findall(r'data-figure="([a-z_]+)"', html))


def _self_contained(html: str) -> None:
    assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="(https?:)?//', html)
    assert 'class="figure-error"' not in html, re.findall(r'figure-error">(.*?)</figcaption>', html)
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'<img src="([^"]+)"', html))


def test_binary_report_has_every_section_and_classification_figures(churn_experiment, tmp_path):
    html = render_report(churn_experiment, bundle_path=tmp_path / "b")
    for section in ("data", "cleaning", "models", "test", "usage"):
        assert f'<section id="{section}"' in html
    drawn = _figures(html)
    assert CLASSIFICATION | {"comparison", "fit_time", "permutation_importance", "target"} <= drawn
    assert not drawn & REGRESSION
    _self_contained(html)
    # cleaning says what was dropped and why; the identifier column of the churn table is dropped
    assert "customer_id" in html and "identifier" in html
    assert f"modelworks predict {tmp_path / 'b'}" in html


def test_regression_report_draws_regression_figures_only(regression_df, tmp_path):
    exp = Experiment(regression_df, target="price", models=FAST_MODELS, cv=FAST_CV, n_jobs=1)
    exp.evaluate()
    html = render_report(exp)
    drawn = _figures(html)
    assert REGRESSION | {"permutation_importance", "partial_dependence"} <= drawn
    assert not drawn & CLASSIFICATION
    _self_contained(html)


def test_multiclass_report_draws_one_vs_rest_curves(tmp_path):
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    iris["species"] = iris["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    exp = Experiment(iris, target="species", models=FAST_MODELS, cv=FAST_CV, n_jobs=1)
    exp.evaluate()
    import matplotlib.pyplot as plt

    assert len(exp.plot.comparison().bars_) == len(exp.leaderboard.results)
    roc = exp.evaluation.plot.roc()
    assert len(roc.lines_) == 3  # one-vs-rest: one curve per species
    plt.close("all")
    html = render_report(exp)
    assert _figures(html) >= CLASSIFICATION
    # no missing values in iris: the missing-value map is listed as not drawn, with the reason
    assert "missing" not in _figures(html) and "no value is missing" in html


def test_learning_curve_recorded_and_skipped_when_budget_is_spent(churn_df):
    exp = Experiment(churn_df, target="will_churn", models=FAST_MODELS, cv=FAST_CV, n_jobs=1)
    exp.evaluate()
    curve = exp.learning_curve()
    assert curve.skipped is None
    assert curve.test_scores.shape == (len(curve.train_sizes), FAST_CV)
    assert list(curve.train_sizes) == sorted(curve.train_sizes)
    assert exp.summary()["learning_curve"]["train_sizes"] == curve.train_sizes.tolist()

    # time for a curve on two folds, not on three: it is drawn on two
    from modelworks.search.budget import RESERVE
    from modelworks.search.learning import curve_seconds

    best = next(r for r in exp.leaderboard.results if r.name == exp.best_name)
    rows = len(exp.folds[0][0])
    finish = exp._finish.seconds(best)
    two, three = (curve_seconds(best, rows, folds) + finish + RESERVE for folds in (2, 3))
    assert two < three
    exp.budget.seconds = 1000.0
    exp.budget.remaining = lambda: (two + three) / 2  # type: ignore[method-assign]
    exp._curve = None
    assert exp.learning_curve().test_scores.shape == (len(curve.train_sizes), 2)
    del exp.budget.remaining

    exp.budget.seconds = exp.budget.elapsed()  # as if the budget were spent
    exp._curve = None
    skipped = exp.learning_curve()
    assert skipped.skipped and "time budget" in skipped.skipped
    # a spent budget: the report lists its figures as not drawn instead of overrunning
    late = render_report(exp)
    assert "spent its time budget before the report reached this figure" in late
    assert "data:image/png" not in late
    exp.budget.figures_deadline = lambda: None  # type: ignore[method-assign]
    assert "Learning curve of the chosen model (skipped" in render_report(exp)


def test_values_from_the_data_are_escaped(tmp_path):
    df = pd.DataFrame(
        {
            "<script>alert(1)</script>": ["a", "b"] * 50,
            "x": range(100),
            "y": ["<b>yes</b>", "no"] * 50,
        }
    )
    html = render_profile(profile(df, target="y"), source="odd.csv")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>yes</b>" not in html


def test_profile_page_without_target_suggests_naming_one():
    df = pd.DataFrame({"a": range(50), "b": ["x", "y"] * 25})
    html = render_profile(profile(df), source="t.csv")
    assert '<section id="data"' in html and "--target COLUMN" in html
    assert "target" not in _figures(html)


def test_write_html_is_atomic(tmp_path, monkeypatch):
    path = write_html(tmp_path / "r.html", "<p>one</p>")
    assert path.read_text() == "<p>one</p>"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError):
        write_html(tmp_path / "r.html", "<p>two</p>")
    assert path.read_text() == "<p>one</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_figures_are_closed_after_the_report(churn_experiment):
    import matplotlib.pyplot as plt

    plt.close("all")
    render_report(churn_experiment)
    assert plt.get_fignums() == []
