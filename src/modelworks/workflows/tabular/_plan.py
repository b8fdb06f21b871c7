"""The budget's plan of a table run: what the test intervals, the report and the bundle will cost
(kept out of the comparison's time), and on how many rows the models are compared and fitted
(:mod:`modelworks.search.sampling`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from modelworks.evaluate.resampling import seconds_per_cell
from modelworks.search.budget import (
    FINAL_FITS,
    LEADERS,
    Budget,
    FinishCost,
    IntervalPlan,
    plan_intervals,
    schedule,
)
from modelworks.search.leaderboard import ModelResult
from modelworks.search.sampling import SAMPLE_FLOOR, RowPlan, plan_rows, sample_rows, sampled_folds, time_fits
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._split import Split


def plan_finish(split: Split, budget: Budget, settings: RunSettings) -> tuple[IntervalPlan, FinishCost]:
    """How the test set's intervals are computed in the time they may take, and what the report and
    the bundle cost; both are reserved in ``budget``."""
    # measured here, with the installed libraries and on this machine, rather than assumed
    cost = seconds_per_cell(len(split.classes) if split.classes else None, split.metrics)
    intervals = plan_intervals(len(split.X_test), cost, budget.seconds)
    budget.evaluation_reserve = intervals.seconds
    from modelworks.plots._style import seconds_per_figure  # imports Matplotlib
    from modelworks.plots.accessors import predicted_rows

    finish = FinishCost(
        seconds_per_figure() if budget.seconds is not None else 0.0,
        split.n_rows,
        predicted_rows(len(split.X_test), len(split.columns)),
        report=settings.report,
        budget_seconds=budget.seconds,  # the report's reserve is capped; it draws what fits
    )
    budget.reserve_final(0.0, finish.seconds())
    return intervals, finish


def reserve_for(budget: Budget, finish: FinishCost, best: ModelResult) -> None:
    """Keep time for the final fits, report and saving of ``best``, from its measured times."""
    budget.reserve_final(float(np.mean(best.fit_seconds)), finish.seconds(best))


def plan_row_sample(split: Split, models: Models, budget: Budget, settings: RunSettings) -> RowPlan:
    """Compare and fit a large table on samples when all its rows would not fit the budget (see
    :mod:`modelworks.search.sampling`); ``split.folds`` then become folds over the compared sample."""
    n = len(split.X_train)
    if budget.seconds is None or n <= SAMPLE_FLOOR:
        return RowPlan(n, n, n)
    # the boosters worth comparing on as many rows as possible (the cheaper of the first two
    # leaders at this size: their costs per row differ five-fold on large tables), else the first
    order = schedule(models.specs, len(split.folds[0][0]))
    timed_specs = [s for s in order if s.name in LEADERS][:2] or order[:1]
    costs = {
        s.name: time_fits(  # one thread, as in the workers
            models.pipeline(s.name, 1),
            s.patience,
            split.X_train,
            split.y_train,
            split.groups,
            split.classes,
            split.seed,
        )
        for s in timed_specs
    }
    timed = min(timed_specs, key=lambda s: costs[s.name].seconds(n))
    cost = costs[timed.name]
    n_all = n + len(split.X_test)
    plan = plan_rows(budget, cost, n, n_all, len(split.folds), split.cv, settings.refit, timed.label)
    if plan.compare_rows < n:
        split.folds = sampled_folds(
            split.y_train,
            split.groups,
            plan.compare_rows,
            split.cv,
            settings.cv_repeats,
            split.seed,
            split.classification,
            times=split.scheme.times,
            gap=split.scheme.gap,
        )
    if plan.sampled:  # the final fits in fold fits, as the timed model's fixed and per-row costs say
        fits = [plan.fit_rows] + ([plan.fit_rows * n_all / n] if settings.refit else [])
        fold = cost.seconds(len(split.folds[0][0]))
        budget.final_fits = max(sum(cost.seconds(rows) for rows in fits) / fold, FINAL_FITS)
        budget.reserve_final(0.0)
        return dataclasses.replace(plan, model=timed.name)
    return plan


def fit_data(split: Split, rows: RowPlan, all_rows: bool) -> tuple[pd.DataFrame, pd.Series]:
    """The rows of a final fit: the training part (``all_rows``: and the test set), sampled alike
    when the row plan says so."""
    X, y = split.X_train, split.y_train
    sampled = rows.fit_rows < len(X)
    if sampled:
        part = sample_rows(y, split.groups, rows.fit_rows, split.seed, split.classification)
        X, y = X.iloc[part], y.iloc[part]
    if not all_rows:
        return X, y
    X_test, y_test = split.X_test, split.y_test
    if sampled:
        share = rows.fit_rows / len(split.X_train)
        part = sample_rows(y_test, None, round(share * len(y_test)), split.seed, split.classification)
        X_test, y_test = X_test.iloc[part], y_test.iloc[part]
    return pd.concat([X, X_test], ignore_index=True), pd.concat([y, y_test], ignore_index=True)
