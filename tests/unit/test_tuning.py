"""Hyperparameter tuning (modelworks.search.tuning) inside a comparison, and --no-tune."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelworks.evaluate.metrics import score_all
from modelworks.experiment import Experiment
from modelworks.search import tuning
from modelworks.search.crossval import Stopped
from modelworks.search.tuning import SPACES, TRIALS_WITHOUT_BUDGET
from modelworks.workflows.tabular._compare import Comparison, fresh_folds
from table_support import tuning_table


def on_folds(exp: Experiment, oof: np.ndarray) -> list[float]:
    """The ranking metric of ``oof`` (one repetition) on each fold's validation rows."""
    y, metric = exp.y_train, exp.metric
    return [
        score_all([metric], y.iloc[val], oof[0, val], exp.classes, exp.positive_label)[metric]
        for _, val in exp.folds
    ]


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
    assert (
        f"best of {record.trials} trials, {record.pruned} pruned; re-scored on a fresh split" in result.label
    )
    assert set(record.best_params) == set(SPACES["lightgbm"])
    summary_tuning = tuned.summary()["tuning"]
    assert summary_tuning["trials"] == record.trials and summary_tuning["best_params"] == record.best_params


def test_best_trial_is_the_best_completed_one(tuned):
    record = tuned.tuning
    # the kept out-of-fold predictions of every completed trial score no better than the chosen one
    # on the folds it was selected on; one of them is the chosen one
    means = [np.mean(on_folds(tuned, oof)) for oof in record.oof.values()]
    assert max(means) == pytest.approx(record.selected_score, abs=1e-12)


def test_tuned_entry_is_scored_on_a_fresh_split_paired_with_the_folds(tuned):
    record = tuned.tuning
    result = next(r for r in tuned.compare().results if r.name == "lightgbm_tuned")
    fresh = tuned.models.oof["lightgbm_tuned"]
    # every compared row predicted out of fold, and not by the selected trial's fold models
    assert fresh.shape == (1, len(tuned.y_train), 2) and np.isfinite(fresh).all()
    assert not any(np.allclose(fresh, oof) for oof in record.oof.values())
    # its fold scores: the fresh predictions on each original fold's validation rows (paired)
    assert len(result.fold_scores[tuned.metric]) == len(tuned.folds)
    np.testing.assert_allclose(result.fold_scores[tuned.metric], on_folds(tuned, fresh))
    assert record.rescored and record.honest_score == pytest.approx(result.mean(tuned.metric))
    # the fresh split is another split of the same rows
    again = fresh_folds(tuned.split)
    assert len(again) == tuned.cv
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(again, tuned.folds, strict=True))
    assert sorted(np.concatenate([val for _, val in again])) == list(range(len(tuned.y_train)))


def test_metrics_json_shows_both_scores(tuned):
    shown = tuned.summary()["tuning"]
    assert shown == tuned.tuning.to_dict()
    assert shown["rescored"] is True and "fresh 5-fold split" in shown["rescore_note"]
    assert shown["selected_score"] == pytest.approx(tuned.tuning.selected_score)
    assert shown["honest_score"] == pytest.approx(tuned.tuning.honest_score)
    assert shown["selected_score"] != shown["honest_score"]


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
    assert again.tuning.honest_score == tuned.tuning.honest_score
    np.testing.assert_array_equal(again.models.oof["lightgbm_tuned"], tuned.models.oof["lightgbm_tuned"])
    first = {r.name: r.fold_scores for r in tuned.compare().results}
    second = {r.name: r.fold_scores for r in again.compare().results}
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_allclose(first[name][tuned.metric], second[name][tuned.metric])


def test_repeated_folds_pair_each_repetition_with_the_fresh_predictions(table, monkeypatch):
    monkeypatch.setattr(tuning, "TRIALS_WITHOUT_BUDGET", 2)
    exp = Experiment(table, "y", models=["linear", "lightgbm"], n_jobs=1, seed=1, cv=3, cv_repeats=2)
    board = exp.compare()
    result = next(r for r in board.results if r.name == "lightgbm_tuned")
    oof = exp.models.oof["lightgbm_tuned"]
    assert oof.shape == exp.models.oof["linear"].shape  # one per repetition, as every model's
    np.testing.assert_array_equal(oof[0], oof[1])
    assert len(result.fold_scores[exp.metric]) == len(exp.folds) == 6
    np.testing.assert_allclose(result.fold_scores[exp.metric], on_folds(exp, oof))
    assert len(result.fit_seconds) == len(exp.folds)


def test_a_time_split_keeps_the_selected_score_and_says_so(table, monkeypatch):
    monkeypatch.setattr(tuning, "TRIALS_WITHOUT_BUDGET", 3)
    timed = table.assign(t=np.arange(len(table)))
    exp = Experiment(timed, "y", models=["lightgbm"], n_jobs=1, seed=1, time_column="t")
    result = next(r for r in exp.compare().results if r.name == "lightgbm_tuned")
    record = exp.tuning
    assert not record.rescored and record.honest_score is None
    assert "forward-chaining folds are fixed" in record.rescore_note
    assert "scored on the folds it was selected on" in result.label
    assert result.mean(exp.metric) == pytest.approx(record.selected_score)
    shown = record.to_dict()
    assert shown["rescored"] is False and shown["honest_score"] is None


def test_a_stopped_rescore_keeps_the_entry_ranked_and_labelled(table, monkeypatch):
    monkeypatch.setattr(tuning, "TRIALS_WITHOUT_BUDGET", 3)
    cross_validate = Comparison.cross_validate

    def out_of_time(self, spec, *args, folds=None, **kwargs):
        if folds is not None:  # the re-score
            raise Stopped("stopped after 1 of 5 folds: the rest would overrun the time budget")
        return cross_validate(self, spec, *args, **kwargs)

    monkeypatch.setattr(Comparison, "cross_validate", out_of_time)
    exp = Experiment(table, "y", models=["lightgbm"], n_jobs=1, seed=1)
    board = exp.compare()
    result = next(r for r in board.results if r.name == "lightgbm_tuned")
    record = exp.tuning
    assert not record.rescored and record.honest_score is None
    assert "would overrun the time budget" in record.rescore_note
    assert "scored on the folds it was selected on" in result.label
    # it stays on the board, ranked and tested by its selected score, with its selected predictions
    assert result.mean(exp.metric) == pytest.approx(record.selected_score)
    assert "lightgbm_tuned" in board.groups
    assert any(np.array_equal(exp.models.oof["lightgbm_tuned"], oof) for oof in record.oof.values())


def test_no_tune_compares_the_portfolio_only(table):
    exp = Experiment(table, "y", models=["linear", "lightgbm"], n_jobs=1, tune=False)
    names = [r.name for r in exp.compare().results]
    assert not any(n.endswith("_tuned") for n in names)
    assert exp.tuning is None and "tuning" not in exp.summary()


def test_nothing_to_tune_without_a_booster(table):
    exp = Experiment(table, "y", models=["linear", "decision_tree"], n_jobs=1)
    exp.compare()
    assert exp.tuning is None
