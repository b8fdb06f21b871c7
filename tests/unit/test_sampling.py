"""Large tables are compared and fitted on samples when all rows would not fit the budget."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from modelworks import Experiment
from modelworks.search.budget import RESERVE, Budget
from modelworks.search.sampling import (
    FEWEST_ROWS,
    FINAL_SHARE,
    FIRST_SHARE,
    FitCost,
    RowPlan,
    plan_rows,
    sample_rows,
)
from modelworks.workflows.tabular._plan import fit_data


def test_fit_cost_is_the_line_through_two_timings():
    cost = FitCost.from_timings((2_000, 8_000), (0.3, 0.9))
    assert cost.per_row == pytest.approx(1e-4)
    assert cost.fixed == pytest.approx(0.1)


def test_fit_cost_never_goes_negative_or_flat():
    # a noisy second timing below the first must not promise free rows
    cost = FitCost.from_timings((2_000, 8_000), (0.5, 0.4))
    assert cost.per_row >= 0.4 / 8_000 / 4
    assert cost.fixed >= 0


def plan(seconds_per_row: float, train_rows: int, budget_s: float = 60.0, refit: bool = True) -> RowPlan:
    budget = Budget(budget_s, start=time.perf_counter())
    budget.parallel = 2
    cost = FitCost(0.05, seconds_per_row)
    return plan_rows(budget, cost, train_rows, int(train_rows * 1.25), 5, 5, refit, "Ridge")


def test_cheap_models_use_every_row():
    p = plan(1e-7, 800_000)
    assert (p.compare_rows, p.fit_rows) == (800_000, 800_000)
    assert not p.sampled and p.note is None


def test_slow_models_compare_on_a_sample_within_their_shares():
    p = plan(20e-6, 800_000)  # 16 s per fit on all rows
    assert p.sampled
    assert FEWEST_ROWS <= p.compare_rows <= p.fit_rows <= 800_000
    room = 60.0 - RESERVE
    final = p.cost.seconds(p.fit_rows) + p.cost.seconds(p.fit_rows * 1.25)
    assert final <= FINAL_SHARE * room + 1e-6
    comparison = math.ceil(5 / 2) * p.cost.seconds(p.compare_rows * 4 / 5)
    assert comparison <= FIRST_SHARE * (room - final) + 1e-6
    # and not far below: the largest sample that fits is taken
    assert math.ceil(5 / 2) * p.cost.seconds(p.compare_rows * 1.05 * 4 / 5) > FIRST_SHARE * (room - final)
    assert "compared on" in p.note and "800,000" in p.note and "--time-budget" in p.note
    assert p.to_dict()["compare_rows"] == p.compare_rows


def test_a_larger_budget_compares_more_rows():
    assert plan(20e-6, 800_000, 300.0).compare_rows > plan(20e-6, 800_000, 60.0).compare_rows


def test_without_refit_the_final_fits_keep_more_rows():
    assert plan(50e-6, 800_000, refit=False).fit_rows > plan(50e-6, 800_000, refit=True).fit_rows


def test_sample_keeps_groups_whole_classes_balanced_and_rare_classes():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["a", "b"], 10_000, p=[0.8, 0.2]))
    groups = np.arange(10_000) // 2  # pairs of identical rows (so, of one label)
    y.iloc[1::2] = y.iloc[::2].to_numpy()
    y.iloc[[16, 17]] = "rare"  # one group: a class that cannot be stratified
    rows = sample_rows(y, groups, 3_000, seed=0, stratify=True)
    assert abs(len(rows) - 3_000) <= 2
    assert np.all(np.diff(rows) > 0)
    taken = set(groups[rows])
    assert all(set(np.flatnonzero(groups == g)) <= set(rows) for g in list(taken)[:50])
    assert {16, 17} <= set(rows)
    share = (y.iloc[rows] == "b").mean()
    assert share == pytest.approx(0.2, abs=0.01)
    assert len(sample_rows(y, None, 20_000, 0, True)) == 10_000


def wide_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 5))
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    df["y"] = np.where(X[:, 0] + X[:, 1] ** 2 + rng.normal(size=n) > 1, "yes", "no")
    return df


def test_experiment_compares_on_the_planned_sample_and_says_so(monkeypatch, tmp_path):
    # the machine's speed is replaced by a slow, fixed one: the plan is then the same everywhere
    monkeypatch.setattr("modelworks.workflows.tabular._plan.SAMPLE_FLOOR", 5_000)
    monkeypatch.setattr("modelworks.workflows.tabular._plan.time_fits", lambda *args: FitCost(0.01, 4e-4))
    exp = Experiment(
        wide_table(30_000),
        "y",
        time_budget=40,
        models=["linear", "decision_tree"],
        n_jobs=1,
        tune=False,
        report=False,
    )
    n = len(exp.X_train)
    assert exp.rows.sampled and exp.rows.compare_rows < exp.rows.fit_rows <= n
    covered = np.concatenate([val for _, val in exp.folds])
    assert len(covered) == len(set(covered)) == pytest.approx(exp.rows.compare_rows, abs=5)
    assert all(np.isin(train, covered).all() for train, _ in exp.folds)
    board = exp.compare()
    assert {r.name for r in board.results} >= {"linear"}
    X_fit, _ = fit_data(exp.split, exp.rows, all_rows=False)
    assert len(X_fit) == pytest.approx(exp.rows.fit_rows, abs=5)
    X_all, y_all = fit_data(exp.split, exp.rows, all_rows=True)
    assert len(X_all) == pytest.approx(exp.rows.fit_rows * (1 + len(exp.X_test) / n), abs=10)
    assert y_all.notna().all()
    exp.evaluate()
    exp.save(tmp_path / "bundle")
    metrics = json.loads((tmp_path / "bundle" / "metrics.json").read_text())
    assert metrics["row_plan"]["compare_rows"] == exp.rows.compare_rows
    assert "compared on" in metrics["row_plan"]["note"]


def test_small_tables_are_never_sampled():
    exp = Experiment(wide_table(2_000), "y", time_budget=30, models=["linear"], n_jobs=1)
    assert not exp.rows.sampled and exp.rows.note is None
    assert sum(len(v) for _, v in exp.folds) == len(exp.X_train)


def test_time_fits_measures_a_real_pipeline_on_two_samples():
    from modelworks.search.sampling import time_fits

    exp = Experiment(wide_table(12_000), "y", time_budget=None, models=["linear"], n_jobs=1)
    cost = time_fits(exp.pipeline("linear", 1), 0, exp.X_train, exp.y_train, None, exp.classes, 0)
    assert cost.per_row > 0 and cost.fixed >= 0
    # the line predicts the larger timing's size within its own two points
    assert cost.seconds(8_000) > cost.seconds(2_000)
