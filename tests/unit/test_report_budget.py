"""The report under a time budget: the figures that fit are drawn, most useful first; the rest are
listed as not drawn for the time budget; without a budget every figure is drawn."""

from __future__ import annotations

import base64
import dataclasses
import re
import time
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pytest

from modelworks import Experiment
from modelworks.plots.accessors import NotApplicable
from modelworks.report import render_report
from modelworks.report._figures import (
    DATA_FIGURES,
    LATE,
    MODEL_FIGURES,
    TEST_FIGURES,
    TIME_BUDGET,
    FigureClock,
    Spec,
    draw_sections,
    png_size,
)
from modelworks.search.budget import RESERVE

ALL = DATA_FIGURES + MODEL_FIGURES + TEST_FIGURES


class Plots:
    """An accessor whose figures are small line plots; ``quiet`` ones do not apply to the task."""

    task = "binary"

    def __getattr__(self, name: str):
        def method():
            if name.startswith("quiet"):
                raise NotApplicable("applies to regression", quiet=True)
            fig, ax = plt.subplots(figsize=(2, 2))
            ax.plot([0, 1], [1, 0])
            return SimpleNamespace(figure_=fig)

        return method


def _valid_png(uri: str | None) -> bool:
    assert uri is not None and uri.startswith("data:image/png;base64,")
    png = base64.b64decode(uri.split(",", 1)[1])
    width, height = png_size(png)
    return png[:8] == b"\x89PNG\r\n\x1a\n" and width > 0 and height > 0


def _clock(seconds_ahead: float, seconds_per_unit: float) -> FigureClock:
    # estimates of many seconds per figure against figures that draw in a fraction of one: which fit
    # depends on the estimates only, not on this machine's speed
    return FigureClock(time.perf_counter() + seconds_ahead, seconds_per_unit)


def test_figures_that_fit_are_drawn_most_useful_first_and_the_rest_listed() -> None:
    data = [
        Spec("cheap_data", "Cheap data figure", "cheap_data", "", units=1.0, priority=3),
        Spec("costly_data", "Costly data figure", "costly_data", "", units=40.0, priority=2),
    ]
    test = [
        Spec("after", "Reuses the costly one", "after", "", units=1.0, priority=4, needs="costly_test"),
        Spec("costly_test", "Costly test figure", "costly_test", "", units=30.0, priority=1),
        Spec("first", "Most useful", "first", "", units=1.0, priority=0),
        Spec("quiet", "Not for this task", "quiet", "", units=30.0, priority=5, applies=lambda p: False),
    ]
    clock = _clock(seconds_ahead=500.0, seconds_per_unit=100.0)
    (test_figures, test_missing), (data_figures, data_missing) = draw_sections(
        [(test, Plots()), (data, Plots())], clock
    )
    # the most useful one fits (100 s of 500); the costly ones do not; a cheaper, less useful one
    # still does; a figure reusing a left-out one is left out too
    assert [f.id for f in test_figures] == ["first"]
    assert [f.id for f in data_figures] == ["cheap_data"]
    assert all(_valid_png(f.uri) and f.width > 0 and f.error is None for f in test_figures + data_figures)
    # listed in the section's own order, each with the time budget as its reason
    assert [n.id for n in test_missing] == ["after", "costly_test"]
    assert [n.id for n in data_missing] == ["costly_data"]
    assert all(n.reason.startswith(TIME_BUDGET) for n in test_missing + data_missing)
    assert "Costly test figure" in test_missing[0].reason
    # a figure that cannot apply is not listed as left out for time
    assert "quiet" not in {n.id for n in test_missing}
    assert clock.left_out == ["Costly test figure", "Costly data figure", "Reuses the costly one"]


def test_without_a_deadline_every_figure_is_drawn() -> None:
    specs = [Spec(f"f{i}", f"Figure {i}", f"f{i}", "", units=50.0, priority=-i) for i in range(4)]
    specs.append(Spec("quiet", "Regression only", "quiet", ""))
    [(figures, missing)] = draw_sections([(specs, Plots())], FigureClock(None, seconds_per_unit=100.0))
    assert [f.id for f in figures] == ["f0", "f1", "f2", "f3"]  # the section's order, not the priority
    assert missing == [] and all(_valid_png(f.uri) for f in figures)


def test_a_spent_budget_draws_nothing_and_says_so() -> None:
    specs = [Spec("a", "A", "a", ""), Spec("b", "B", "b", "")]
    [(figures, missing)] = draw_sections([(specs, Plots())], _clock(-1.0, 0.1))
    assert figures == [] and [n.id for n in missing] == ["a", "b"]
    assert all("spent its time budget" in n.reason for n in missing)


def test_the_clock_learns_the_drawing_speed_from_the_figures_drawn() -> None:
    """The set-up measurement (often taken while the fold workers import) counts as two plain
    figures; the figures drawn since, their predictions aside, outweigh it."""
    clock = FigureClock(None, seconds_per_unit=1.0, predictions={"importance": 3.0})
    plain = Spec("plain", "Plain", "plain", "", units=2.0)
    assert clock.estimate(plain) == pytest.approx(2.0)
    clock.record(plain, 0.2)
    assert clock.speed() == pytest.approx((0.2 + 2 * 1.0) / (2.0 + 2))
    importance = Spec("importance", "Importance", "importance", "", units=2.0)
    assert clock.estimate(importance) == pytest.approx(2.0 * clock.speed() + 3.0)
    before = clock.speed()
    clock.record(importance, 3.0 + 0.2)  # the predictions took what was expected; the drawing 0.2 s
    assert clock.speed() < before
    # the saving of the bundle is kept out of the figures' time at the speed measured
    kept = FigureClock(time.perf_counter() + 100.0, seconds_per_unit=1.0, keep_units=10.0)
    assert 89.0 < kept.left() <= 90.0
    assert FigureClock(None).left() == float("inf")


@pytest.fixture(scope="module")
def churn_run(churn_df) -> Experiment:
    exp = Experiment(churn_df, target="will_churn", models=["linear", "decision_tree"], cv=3, n_jobs=1)
    exp.evaluate()
    exp.learning_curve()
    return exp


def _drawn(html: str) -> list[str]:
    return re.findall(r'data-figure="([a-z_]+)"', html)


def _left_out_for_time(title: str, listed: str) -> bool:
    # drawing slower than the clock's first estimate can spend the last of the time before a figure
    return f"{title} ({TIME_BUDGET}" in listed or f"{title} ({LATE}" in listed


def _images_valid(html: str) -> bool:
    uris = re.findall(r'<img src="([^"]+)"', html)
    return bool(uris) and all(_valid_png(u) for u in uris)


def test_a_report_on_a_tiny_budget_lists_the_figures_it_could_not_draw(churn_run, monkeypatch) -> None:
    exp = churn_run
    full = exp.figure_clock()
    assert full.deadline is None  # no budget: every figure
    html = render_report(exp)
    assert f"({TIME_BUDGET}" not in html and 'id="figures-note"' not in html
    assert {"comparison", "roc", "confusion_matrix", "permutation_importance", "partial_dependence"} <= set(
        _drawn(html)
    )

    # a budget with a little time left after the saving of the bundle, and a model whose
    # importance figure would predict for longer than that
    monkeypatch.setattr(exp.budget, "seconds", exp.budget.elapsed() + RESERVE + 3.0)
    clock = exp.figure_clock
    monkeypatch.setattr(
        exp,
        "figure_clock",
        lambda: dataclasses.replace(
            clock(), seconds_per_unit=0.05, predictions={"permutation_importance": 600.0}
        ),
    )
    html = render_report(exp)
    drawn = _drawn(html)
    assert "comparison" in drawn and "roc" in drawn
    assert "permutation_importance" not in drawn and "partial_dependence" not in drawn
    assert _images_valid(html) and 'class="figure-error"' not in html
    listed = " ".join(re.findall(r"Not drawn: (.*?)\.</p>", html, re.S))
    titles = {s.id: s.title for s in ALL}
    assert f"{titles['permutation_importance']} ({TIME_BUDGET}: about 600" in listed
    assert _left_out_for_time(titles["partial_dependence"], listed)
    note = re.search(r'<p class="muted" id="figures-note">(.*?)</p>', html, re.S)
    assert note is not None and "Permutation importance" in note.group(1)
    # every figure of the task is drawn or listed
    for spec in ALL:
        if spec.id in {"roc", "precision_recall", "calibration", "confusion_matrix", "comparison"}:
            assert spec.id in drawn or _left_out_for_time(spec.title, listed)
