"""Hyperparameter tuning (modelworks.search.tuning) inside a comparison, and --no-tune."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelworks.experiment import Experiment
from modelworks.search.tuning import SPACES, TRIALS_WITHOUT_BUDGET


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(5)})
    df["kind"] = rng.choice(list("abc"), n)
    score = df["x0"] * 1.5 - df["x1"] + (df["kind"] == "b") + rng.normal(scale=1.0, size=n)
    df["y"] = np.where(score > 0, "yes", "no")
    return df


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


def test_cli_no_tune(table, tmp_path: Path):
    table.to_csv(tmp_path / "t.csv", index=False)
    exe = Path(sys.executable).with_name("modelworks")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = [
        "run",
        "t.csv",
        "--target",
        "y",
        "--models",
        "linear,lightgbm",
        "--no-report",
        "--time-budget",
        "30",
    ]
    proc = subprocess.run(
        [str(exe), *common, "--no-tune", "--out", "a"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert "tuning" not in metrics
    assert all(not row["model"].endswith("_tuned") for row in metrics["leaderboard"])


FREED_AFTER_TUNING = """
import gc, sys, weakref
import pandas as pd
from modelworks.experiment import Experiment

assert "optuna" not in sys.modules  # the tuner imports it, in the middle of the comparison
table = pd.read_csv(sys.argv[1])


def run():
    exp = Experiment(table, "y", models=["lightgbm"], n_jobs=1, seed=1, time_budget=20)
    exp.compare()
    assert exp.tuning is not None and "optuna" in sys.modules
    return weakref.ref(exp), weakref.ref(exp.X_train)


exp, rows = run()
gc.collect()
state = ["kept" if ref() is not None else "freed" for ref in (exp, rows)]
print("experiment", state[0], "rows", state[1])
"""


def test_an_experiment_that_tuned_is_freed_once_dropped(table, tmp_path: Path):
    # Optuna keeps an import error whose traceback reaches back through the stack that imported it;
    # imported inside the comparison, that stack held the experiment and its rows for good
    table.to_csv(tmp_path / "t.csv", index=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", FREED_AFTER_TUNING, str(tmp_path / "t.csv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "experiment freed rows freed"
