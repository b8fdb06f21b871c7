"""The time budget: estimates from fake specs and fake timings, and one real run under a budget."""

from __future__ import annotations

import time

import pytest

from modelworks import Experiment
from modelworks.data.demo import make_churn
from modelworks.models.registry import REGISTRY, ModelSpec
from modelworks.search.budget import (
    FINAL_FITS,
    INTERVAL_RESAMPLES,
    INTERVAL_SHARE,
    PRIOR_UNIT,
    RESERVE,
    SAFETY,
    Budget,
    plan_intervals,
    profile_columns,
    scale,
)


def spec(cost: float = 1.0, exponent: float = 1.0, name: str = "fake") -> ModelSpec:
    def build(ctx):
        raise AssertionError("the budget must never build a model")

    return ModelSpec(name, name.title(), "scaled", build, cost, exponent)


def budget(seconds: float | None, elapsed: float = 0.0) -> Budget:
    """A budget that started ``elapsed`` seconds ago."""
    return Budget(seconds, start=time.perf_counter() - elapsed)


def test_scale_grows_with_rows_and_has_a_floor():
    assert scale(spec(2.0, 1.0), 2000) == pytest.approx(4.0)
    assert scale(spec(1.0, 2.0), 3000) == pytest.approx(9.0)
    assert scale(spec(1.0, 1.0), 1) == scale(spec(1.0, 1.0), 50) == pytest.approx(0.05)


def test_unit_is_prior_then_median_of_measurements():
    b = budget(None)
    assert b.unit() == PRIOR_UNIT
    b.record(spec(1.0), 1000, 0.2)  # 0.2 s per unit
    b.record(spec(4.0), 1000, 4.0)  # 1.0 s per unit
    b.record(spec(2.0), 2000, 2.0)  # 0.5 s per unit
    assert b.unit() == pytest.approx(0.5)
    assert b.estimate_fold(spec(3.0), 1000) == pytest.approx(SAFETY * 0.5 * 3.0)


def needed_to_start(fold: float, n_folds: int, final_reserve: float = 0.0) -> float:
    return fold * n_folds + max(final_reserve, FINAL_FITS * fold) + RESERVE


@pytest.mark.parametrize("slack", [-0.3, 0.3])
def test_can_start_exactly_when_the_estimate_fits(slack):
    s = spec(2.0)
    b = budget(100.0)
    b.record(spec(1.0), 1000, 1.0)  # 1 s per unit, so one fold of s is SAFETY * 2 s
    need = needed_to_start(SAFETY * 2.0, 5)
    b.start = time.perf_counter() - (100.0 - need - slack)  # remaining = need + slack
    assert b.can_start(s, 1000, 5) is (slack > 0)


def test_can_start_false_when_estimate_exceeds_remaining():
    b = budget(10.0)
    b.record(spec(1.0), 1000, 1.0)
    assert b.can_start(spec(0.1), 1000, 3)
    assert not b.can_start(spec(10.0), 1000, 3)  # 3 * 15 s of folds
    assert not b.can_start(spec(0.1), 50_000, 3)  # cheap, but on 50 times more rows


def test_spent_budget_starts_nothing():
    b = budget(5.0, elapsed=6.0)
    assert b.remaining() < 0
    assert not b.can_start(spec(0.001), 10, 2)
    assert not b.can_continue(0.001, 1)


def test_no_budget_always_allows():
    b = budget(None, elapsed=1e6)
    b.record(spec(1.0), 1000, 100.0)
    assert b.remaining() == float("inf")
    assert b.can_start(spec(1e6, 2.0), 10**7, 10)
    assert b.can_continue(1e6, 100)
    b.reserve_final(1e6)
    assert b.can_start(spec(), 1000, 5)


def test_can_continue_uses_measured_fold_time():
    b = budget(10.0)
    assert b.can_continue(1.0, 2)  # 2 + 2.8 + 1.5 = 6.3 s
    assert not b.can_continue(3.0, 2)  # 6 + 8.4 + 1.5 s
    assert b.can_continue(2.0, 0)  # no folds left: 5.6 + 1.5 s


def test_reserve_final_keeps_time_for_the_best_models_final_fits():
    b = budget(10.0)
    b.record(spec(1.0), 1000, 0.1)
    assert b.can_continue(0.1, 1)
    assert b.can_start(spec(1.0), 1000, 3)
    b.reserve_final(3.0)  # the best model's folds take 3 s
    assert b.final_reserve == pytest.approx(FINAL_FITS * 3.0)
    assert not b.can_continue(0.1, 1)  # 0.1 + 8.4 + 1.5 > 10
    assert not b.can_start(spec(1.0), 1000, 3)
    b.reserve_final(0.5)  # a faster best model frees the time again
    assert b.can_continue(0.1, 1)


def test_interval_plan_follows_the_measured_cost():
    most, fewest = INTERVAL_RESAMPLES
    fast = plan_intervals(500, 1e-8, 10.0)
    assert fast.resamples == most and fast.note is None
    slower = plan_intervals(500, 1e-6, 10.0)  # a release 100 times slower: fewer resamples, said so
    assert fewest < slower.resamples < most
    assert slower.seconds <= INTERVAL_SHARE * 10.0
    assert f"{slower.resamples} bootstrap resamples instead of {most}" in slower.note
    hopeless = plan_intervals(500, 1e-4, 10.0)
    assert hopeless.resamples == fewest and hopeless.note
    assert plan_intervals(500, 1e-4, None).resamples == most  # no budget: no reduction
    assert plan_intervals(100_000, 1e-8, None).resamples == 200  # large test sets: narrow anyway


def test_real_experiment_records_its_interval_plan():
    exp = Experiment(make_churn(n_customers=600, seed=0), "will_churn", time_budget=12, cv=3, n_jobs=1)
    exp.compare()
    exp.evaluate()
    plan = exp.summary()["test_intervals"]
    assert plan["resamples"] == exp.interval_plan.resamples
    assert 0 < plan["measured_ns_per_resampled_row"] < 10_000
    for name, (low, high) in exp.evaluation.intervals.items():
        assert low <= exp.evaluation.metrics[name] <= high, name


def test_real_experiment_keeps_its_budget():
    df = make_churn(n_customers=2000, seed=0)
    seconds = 8.0
    started = time.perf_counter()
    exp = Experiment(df, "will_churn", time_budget=seconds, cv=3, n_jobs=1, seed=0)
    board = exp.compare()
    evaluation = exp.evaluate()
    wall = time.perf_counter() - started
    assert wall <= seconds * 1.1 + 5, f"took {wall:.1f}s on an {seconds}s budget"
    compared = {r.name for r in board.results}
    skipped = dict(board.skipped)
    assert compared
    assert not compared & set(skipped)
    # the ensemble of the best models and the tuned booster are extra candidates, compared or skipped
    extra = {"ensemble"} | {n for n in compared | set(skipped) if n.endswith("_tuned")}
    assert (compared | set(skipped)) - extra == {s.name for s in exp.specs} - extra
    assert set(skipped) - extra <= set(REGISTRY)
    assert all(isinstance(reason, str) and reason for reason in skipped.values())
    assert evaluation.model == board.best.name
    assert all(len(r.fold_scores[exp.metric]) == 3 for r in board.results)


def test_tiny_budget_runs_the_cheapest_model_and_skips_the_rest(churn_df):
    # RESERVE alone exceeds what is left after the first model, so nothing else may start
    exp = Experiment(
        churn_df,
        "will_churn",
        time_budget=RESERVE,
        cv=3,
        n_jobs=1,
        models=["linear", "decision_tree", "random_forest", "svm"],
    )
    started = time.perf_counter()
    board = exp.compare()
    exp.evaluate()
    assert time.perf_counter() - started <= RESERVE * 1.1 + 5
    assert len(board.results) == 1
    cheapest = min(exp.specs, key=lambda s: (scale(s, len(exp.folds[0][0])), s.name))
    assert board.best.name == cheapest.name
    assert {name for name, _ in board.skipped} == {s.name for s in exp.specs} - {cheapest.name}
    assert all("time budget" in reason for _, reason in board.skipped)


def test_the_profile_details_as_many_columns_as_the_budget_affords():
    assert profile_columns(None, 200) == 200
    assert profile_columns(10, 200) == 25
    assert profile_columns(1, 200) == 20  # a floor, whatever the budget
    assert profile_columns(60, 200) == 150
    assert profile_columns(3600, 200) == 200
    assert profile_columns(3600, 50) == 50
