"""The table run's stages, each alone: plain inputs in, plain outputs out, no full run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelworks.errors import ConfigError
from modelworks.search.budget import Budget, FinishCost, plan_intervals
from modelworks.search.sampling import RowPlan
from modelworks.settings import RunSettings
from modelworks.workflows.tabular._compare import Comparison
from modelworks.workflows.tabular._decide import Bagging, decide_threshold
from modelworks.workflows.tabular._holdout import evaluate_once
from modelworks.workflows.tabular._models import Models
from modelworks.workflows.tabular._plan import fit_data
from modelworks.workflows.tabular._split import split_table

SETTINGS = RunSettings(models=("linear", "decision_tree"), cv=3, n_jobs=1, seed=0, tune=False, bag=False)


def _models(split) -> Models:
    return Models(split, list(split.specs), n_jobs=1)


def _compared(churn_df: pd.DataFrame, settings: RunSettings = SETTINGS):
    split = split_table(churn_df, "will_churn", settings)
    models = _models(split)
    finish = FinishCost(0.0, split.n_rows, 0, report=False)
    board = Comparison(models, Budget(None), finish, settings, workers=None).run()
    return split, models, board, finish


def test_the_split_holds_out_a_test_set_drops_the_identifier_and_folds_the_rest(churn_df):
    split = split_table(churn_df, "will_churn", SETTINGS)
    assert len(split.X_train) + len(split.X_test) == len(churn_df)
    assert len(split.X_test) == pytest.approx(0.2 * len(churn_df), abs=1)
    assert split.task == "binary" and split.classes == ["no", "yes"] and split.positive_label == "yes"
    assert [s.name for s in split.specs] == ["linear", "decision_tree"]
    assert "customer_id" not in {c["name"] for c in split.columns}
    assert any(d["name"] == "customer_id" for d in split.cleaning.dropped_columns)
    assert len(split.folds) == 3
    for train, val in split.folds:
        assert not set(train) & set(val) and len(train) + len(val) == len(split.X_train)
    np.testing.assert_array_equal(split.compared(), np.arange(len(split.X_train)))


def test_options_that_depend_on_the_task_are_refused_before_the_data(churn_df):
    # the only feature copies the target: the data check would refuse too, but the metric comes first
    df = churn_df[["will_churn"]].assign(copy=churn_df["will_churn"])
    with pytest.raises(ConfigError, match="rmse"):
        split_table(df, "will_churn", RunSettings(metric="rmse"))
    with pytest.raises(ConfigError, match="unknown model"):
        split_table(df, "will_churn", RunSettings(models=("no_such_model",)))


def test_the_comparison_keeps_each_models_out_of_fold_predictions(churn_df):
    split, models, board, _ = _compared(churn_df)
    assert {r.name for r in board.results} >= {"linear", "decision_tree"}
    for name in ("linear", "decision_tree"):
        assert models.oof[name].shape == (1, len(split.X_train), 2)
        np.testing.assert_allclose(models.oof_of(name), models.oof[name][0])
    if "ensemble" in {r.name for r in board.results}:
        weighted = sum(w * models.oof[n].mean(axis=0) for n, w in models.ensemble)
        np.testing.assert_allclose(models.oof_of("ensemble"), weighted)
        assert models.members("ensemble") == [n for n, _ in models.ensemble]
    assert models.members("linear") == ["linear"]


def test_the_threshold_is_chosen_only_for_a_binary_task_that_asks_for_it(churn_df):
    split, models, board, _ = _compared(churn_df)
    choice = decide_threshold(models, "linear", SETTINGS)
    assert choice is not None and 0 < choice.threshold < 1
    assert decide_threshold(models, "linear", SETTINGS.replace(threshold=False)) is None


def test_the_test_stage_scores_once_then_refits_on_every_row(churn_df):
    split, models, board, finish = _compared(churn_df)
    n = len(split.X_train)
    rows = RowPlan(n, n, n)
    bagging = Bagging(models, Budget(None), finish, rows, SETTINGS, lambda name: board.best)
    tested = evaluate_once(
        models, "linear", None, bagging, rows, refit=True, intervals=plan_intervals(80, 1e-8, None)
    )
    assert bagging.outcome is not None and not bagging.outcome.chosen  # --no-bag
    assert tested.predictions.shape == (len(split.X_test), 2)
    assert tested.evaluation.refit and tested.final_model is not tested.train_model
    assert set(tested.evaluation.intervals) == set(split.metrics)
    X_all, y_all = fit_data(split, rows, all_rows=True)
    assert len(X_all) == len(y_all) == len(churn_df)  # the refit saw the test rows too
