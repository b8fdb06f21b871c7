"""Hyperparameter tuning (modelworks.search.tuning) inside a comparison, and --no-tune."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelworks.experiment import Experiment
from modelworks.search.tuning import SPACES, TRIALS_WITHOUT_BUDGET
from table_support import tuning_table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return tuning_table()


@pytest.fixture(scope="module")
def tuned(table) -> Experiment:
    exp = Experiment(table, "y", models=["linear", "lightgbm"], n_jobs=1, seed=1)
    exp.compare()
    return exp


def test_best_trial_joins_the_leaderboard_with_its_count(tuned):
    board = tuned.compare()
    names = [r.name for r in board.results]
    assert "lightgbm_tuned" in names
    assert names.count("lightgbm_tuned") == 1  # the best trial only
    record = tuned.tuning
    assert record.family == "lightgbm"
    assert record.trials == TRIALS_WITHOUT_BUDGET  # no budget: a fixed number of trials
    assert record.trials == len(record.oof) + record.pruned + record.failed
    result = next(r for r in board.results if r.name == "lightgbm_tuned")
    assert f"best of {record.trials} trials, {record.pruned} pruned" in result.label
    assert set(record.best_params) == set(SPACES["lightgbm"])
    summary_tuning = tuned.summary()["tuning"]
    assert summary_tuning["trials"] == record.trials and summary_tuning["best_params"] == record.best_params


def test_best_trial_is_the_best_completed_one(tuned):
    record = tuned.tuning
    result = next(r for r in tuned.compare().results if r.name == "lightgbm_tuned")
    from modelworks.evaluate.metrics import score_all

    y = tuned.y_train
    # the kept out-of-fold predictions of every completed trial score no better than the chosen one
    chosen = result.mean(tuned.metric)
    for oof in record.oof.values():
        folds = [
            score_all([tuned.metric], y.iloc[val], oof[0, val], tuned.classes, tuned.positive_label)[
                tuned.metric
            ]
            for _, val in tuned.folds
        ]
        assert np.mean(folds) <= chosen + 1e-12


def test_final_pipeline_carries_the_best_params_and_rounds(tuned):
    model = tuned.pipeline("lightgbm_tuned")[-1]
    params = model.get_params()
    for name, value in tuned.tuning.best_params.items():
        assert params[name] == value
    result = next(r for r in tuned.compare().results if r.name == "lightgbm_tuned")
    assert params["n_estimators"] == round(float(np.mean(result.rounds)))


def test_same_seed_same_tuning(table, tuned):
    again = Experiment(table, "y", models=["linear", "lightgbm"], n_jobs=1, seed=1)
    again.compare()
    assert again.tuning.best_params == tuned.tuning.best_params
    first = {r.name: r.fold_scores for r in tuned.compare().results}
    second = {r.name: r.fold_scores for r in again.compare().results}
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_allclose(first[name][tuned.metric], second[name][tuned.metric])


def test_no_tune_compares_the_portfolio_only(table):
    exp = Experiment(table, "y", models=["linear", "lightgbm"], n_jobs=1, tune=False)
    names = [r.name for r in exp.compare().results]
    assert not any(n.endswith("_tuned") for n in names)
    assert exp.tuning is None and "tuning" not in exp.summary()


def test_nothing_to_tune_without_a_booster(table):
    exp = Experiment(table, "y", models=["linear", "decision_tree"], n_jobs=1)
    exp.compare()
    assert exp.tuning is None
