"""Tuning seen from outside the process: ``run --no-tune`` on the command line, and an experiment that
tuned freed once dropped (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from table_support import tuning_table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return tuning_table()


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
