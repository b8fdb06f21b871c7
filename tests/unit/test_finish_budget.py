"""The report and the bundle are reserved from measurements: prediction costs, size, drawing speed."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelworks.models.threads import fitted_parts, predict_on_one_thread
from modelworks.search.budget import (
    FINAL_FITS,
    REPORT_FIGURES,
    REPORT_FIGURES_PER_DOUBLING,
    REPORT_SHARE,
    RESERVE,
    SAVE_FIGURES,
    Budget,
    FinishCost,
)
from modelworks.search.ensemble import WeightedEnsemble
from modelworks.search.leaderboard import ModelResult
from modelworks.search.learning import CURVE_FITS, curve_seconds


def result(call_ms=20.0, per_1000=120.0, val_rows=100, size_mb=0.0, parts=0, fit=0.5) -> ModelResult:
    return ModelResult(
        "m",
        "M",
        {"accuracy": [0.8] * 5},
        [fit] * 5,
        [per_1000] * 5,
        call_ms=call_ms,
        size_mb=size_mb,
        parts=parts,
        val_rows=val_rows,
    )


def test_prediction_seconds_split_a_calls_fixed_cost_from_its_rows() -> None:
    r = result(call_ms=20.0, per_1000=120.0, val_rows=100)  # a 100-row call took 12 ms: all fixed cost
    assert r.prediction_seconds(10_000, 1) == pytest.approx(0.02)
    r = result(call_ms=2.0, per_1000=50.0, val_rows=1000)  # 50 ms per 1,000 rows, 2 of them fixed
    assert r.prediction_seconds(100_000, 3) == pytest.approx(0.006 + 100_000 * 0.048e-3)


def test_small_validation_folds_time_a_batch_for_the_cost_per_row() -> None:
    """Three validation rows cannot tell a row's cost from a call's: the first fold times a batch of
    PROBE_ROWS rows, and the estimate uses it."""
    import dataclasses

    from modelworks.search.fold import PROBE_ROWS, fit_fold

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["a", "b", "c"])
    y = pd.Series(np.where(X["a"] > 0, "yes", "no"))
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    classes = ["no", "yes"]
    small = fit_fold(pipe, X, y, np.arange(3, 400), np.arange(3), 0, classes, None, True)
    assert small.row_ms is not None and small.row_ms >= 0 and len(small.pred) == 3
    large = fit_fold(pipe, X, y, np.arange(PROBE_ROWS, 400), np.arange(PROBE_ROWS), 0, classes, None, True)
    assert large.row_ms is None
    r = dataclasses.replace(result(call_ms=20.0, per_1000=90_000.0, val_rows=3), row_ms=0.01)
    assert r.prediction_seconds(10_000, 2) == pytest.approx(0.04 + 10_000 * 0.01e-3)


def test_finish_grows_with_drawing_speed_rows_size_parts_and_predictions() -> None:
    slow, fast = FinishCost(0.4, 1000, 20_000), FinishCost(0.2, 1000, 20_000)
    assert slow.seconds() == pytest.approx(2 * fast.seconds())
    assert FinishCost(0.2, 100_000, 20_000).seconds() > fast.seconds()
    bare = fast.seconds(result(call_ms=0.0, per_1000=0.0))
    assert bare == pytest.approx(fast.seconds())
    assert fast.seconds(result(call_ms=0.0, per_1000=0.0, parts=400)) > bare
    assert fast.seconds(result(call_ms=0.0, per_1000=0.0, size_mb=50)) > bare
    assert fast.seconds(result(call_ms=0.0, per_1000=1000.0, val_rows=1000)) == pytest.approx(bare + 20.0)


def test_without_a_report_only_the_bundle_is_reserved() -> None:
    drawn, bundle_only = FinishCost(0.2, 1000, 20_000), FinishCost(0.2, 1000, 20_000, report=False)
    assert bundle_only.seconds() == pytest.approx(SAVE_FIGURES * 0.2)
    assert bundle_only.seconds() < drawn.seconds() / 4
    slow_predictions = result(call_ms=50.0, per_1000=1000.0, val_rows=1000)
    # the report's predictions are not reserved either; the model's size and parts still are
    assert bundle_only.seconds(slow_predictions) == pytest.approx(bundle_only.seconds())
    assert bundle_only.seconds(result(call_ms=0.0, per_1000=0.0, parts=400)) > bundle_only.seconds()


def test_the_report_is_reserved_at_most_its_share_of_a_small_budget() -> None:
    slow = result(call_ms=50.0, per_1000=1000.0, val_rows=1000, parts=400)
    uncapped = FinishCost(0.5, 50_000, 20_000)
    capped = FinishCost(0.5, 50_000, 20_000, budget_seconds=25.0)
    # the estimate itself is unchanged: the report will draw what fits, most useful first
    assert capped.report_seconds(slow) == pytest.approx(uncapped.report_seconds(slow))
    assert capped.report_seconds(slow) > REPORT_SHARE * 25.0
    assert capped.report_cap() == pytest.approx(REPORT_SHARE * 25.0)
    # what is reserved: the capped report, and the whole bundle (saving is not optional)
    assert capped.seconds(slow) == pytest.approx(REPORT_SHARE * 25.0 + capped.save_seconds(slow))
    assert capped.save_seconds(slow) == pytest.approx(uncapped.save_seconds(slow))
    assert capped.seconds(slow) < uncapped.seconds(slow)
    # before any model: the uncapped reserve alone would exceed the budget; capped, half is left
    assert uncapped.seconds() > 25.0
    budget = Budget(25.0)
    budget.reserve_final(0.0, capped.seconds())
    assert budget.remaining() - budget.final_reserve > 25.0 / 2


def test_a_report_that_fits_its_share_is_reserved_whole() -> None:
    light = result(call_ms=1.0, per_1000=10.0)
    small = FinishCost(0.2, 1000, 20_000, budget_seconds=300.0)
    assert small.report_seconds(light) < small.report_cap()
    assert small.seconds(light) == pytest.approx(FinishCost(0.2, 1000, 20_000).seconds(light))
    # without a budget nothing is capped; without a report only the bundle is reserved
    assert FinishCost(0.2, 1000, 20_000).report_cap() == float("inf")
    bundle_only = FinishCost(0.2, 1000, 20_000, report=False, budget_seconds=25.0)
    assert bundle_only.seconds(light) == pytest.approx(bundle_only.save_seconds(light))


def test_the_figures_shares_sum_to_the_reserved_report() -> None:
    """The report's aggregate in plain figures is the sum of its figures' own costs (a
    classification report without a neural network), so that a report given its whole reserve has
    the time for every figure."""
    from modelworks.report._figures import DATA_FIGURES, MODEL_FIGURES, TEST_FIGURES

    regression_only = {"predicted_actual", "residuals", "residual_histogram", "training_curve"}
    specs = [s for s in DATA_FIGURES + MODEL_FIGURES + TEST_FIGURES if s.id not in regression_only]
    assert sum(s.units for s in specs) == pytest.approx(REPORT_FIGURES)
    assert sum(s.per_doubling for s in specs) == pytest.approx(REPORT_FIGURES_PER_DOUBLING)
    # most useful first: the comparison, then the chosen model on test, the data figures last
    first = min(DATA_FIGURES + MODEL_FIGURES + TEST_FIGURES, key=lambda s: s.priority)
    assert first.id == "comparison"
    assert max(s.priority for s in TEST_FIGURES) < max(s.priority for s in DATA_FIGURES)


def test_can_finish_counts_final_fits_finish_intervals_and_the_reserve() -> None:
    b = Budget(100.0, start=time.perf_counter())
    b.evaluation_reserve = 5.0
    left = b.remaining()
    assert b.can_finish(1.0, left - FINAL_FITS - 5.0 - RESERVE - 1.0)
    assert not b.can_finish(1.0, left - FINAL_FITS - 5.0 - RESERVE + 1.0)
    assert Budget(None).can_finish(1e9, 1e9)


def test_a_new_best_model_brings_its_own_finish_reserve() -> None:
    b = Budget(100.0)
    b.reserve_final(0.0, 10.0)
    assert b.final_reserve == pytest.approx(10.0)
    b.reserve_final(2.0, 30.0)
    assert b.final_reserve == pytest.approx(FINAL_FITS * 2.0 + 30.0)
    b.reserve_final(1.0)  # finish unchanged
    assert b.final_reserve == pytest.approx(FINAL_FITS * 1.0 + 30.0)


def test_curve_estimate_covers_its_fits_and_predictions() -> None:
    cheap = curve_seconds(result(call_ms=0.0, per_1000=0.0, fit=1.0), 800)
    assert cheap >= CURVE_FITS * 1.0
    assert curve_seconds(result(call_ms=100.0, fit=1.0), 800) > cheap + 24 * 0.1 - 1e-9


def _fitted_ensemble() -> WeightedEnsemble:
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)), columns=list("abc"))
    y = (X["a"] > 0).astype(int)
    members = [
        ("rf", make_pipeline(StandardScaler(), RandomForestClassifier(7, n_jobs=2, random_state=0))),
        ("et", ExtraTreesClassifier(5, n_jobs=2, random_state=0)),
        ("lr", LogisticRegression()),
    ]
    return WeightedEnsemble(members, [0.4, 0.4, 0.2]).fit(X, y)


def test_fitted_parts_reach_ensemble_members_and_their_trees() -> None:
    model = _fitted_ensemble()
    parts = list(fitted_parts(model))
    # the forest's 7 trees, and the template it was built from
    assert sum(type(p).__name__ == "DecisionTreeClassifier" for p in parts) == 8
    assert sum(type(p).__name__ == "ExtraTreeClassifier" for p in parts) == 6
    assert len({id(p) for p in parts}) == len(parts)


def test_members_of_an_ensemble_predict_on_one_thread() -> None:
    model = _fitted_ensemble()
    before = model.predict_proba(pd.DataFrame(np.ones((4, 3)), columns=list("abc")))
    predict_on_one_thread(model)
    jobs = [p.n_jobs for p in fitted_parts(model) if "n_jobs" in p.get_params(deep=False)]
    assert jobs and all(j == 1 for j in jobs if j is not None)
    assert model.estimators[0][1][-1].n_jobs == 2  # the unfitted templates keep their threads for fitting
    after = model.predict_proba(pd.DataFrame(np.ones((4, 3)), columns=list("abc")))
    np.testing.assert_array_equal(before, after)


def test_schedule_runs_the_cheapest_then_the_leading_booster_then_by_cost() -> None:
    from modelworks.models.registry import candidates
    from modelworks.search.budget import scale, schedule

    specs = candidates("binary")
    order = schedule(specs, 20_000)
    by_cost = sorted(specs, key=lambda s: (scale(s, 20_000), s.name))
    assert order[0] is by_cost[0]
    assert order[1].name == "lightgbm"
    assert [s.name for s in order[2:]] == [
        s.name for s in by_cost if s.name not in {order[0].name, "lightgbm"}
    ]
    without = [s for s in specs if s.name != "lightgbm"]
    assert schedule(without, 20_000)[1].name == "hist_gradient_boosting"
    few = [s for s in specs if s.name in {"linear", "ridge"}]
    assert [s.name for s in schedule(few, 20_000)] == [
        s.name for s in sorted(few, key=lambda s: (scale(s, 20_000), s.name))
    ]
    # a large table's sample was planned for the cheaper booster: that one leads
    planned = schedule(specs, 20_000, leader="hist_gradient_boosting")
    assert planned[0] is by_cost[0] and planned[1].name == "hist_gradient_boosting"
    assert sorted(s.name for s in planned) == sorted(s.name for s in specs)


def test_preprocessing_is_learned_per_recipe_and_not_charged_to_the_model() -> None:
    from modelworks.models.registry import REGISTRY
    from modelworks.search.budget import SAFETY, scale

    b = Budget(None)
    linear, forest, tree = REGISTRY["linear"], REGISTRY["random_forest"], REGISTRY["decision_tree"]
    b.record(linear, 10_000, fold_seconds=3.0, prepare_seconds=2.0)  # 2 s of it was encoding
    assert b.unit() == pytest.approx(1.0 / scale(linear, 10_000))
    assert b.prepare_seconds("scaled", 20_000) == pytest.approx(4.0)
    # the tree recipe is not measured yet: the slowest measured recipe stands in for it
    assert b.prepare_seconds("tree", 10_000) == pytest.approx(2.0)
    b.record(tree, 10_000, fold_seconds=1.0, prepare_seconds=0.5)
    assert b.prepare_seconds("tree", 10_000) == pytest.approx(0.5)
    expected = SAFETY * (0.5 + b.unit() * scale(forest, 10_000))
    assert b.estimate_fold(forest, 10_000) == pytest.approx(expected)
