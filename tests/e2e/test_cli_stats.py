"""The CLI says which models are tied, applies the tuned threshold, and compares runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = "linear,decision_tree"


def _run(cli, csv: Path, out: Path, *extra: str):
    # the report is tested on its own (tests/e2e/test_report_browser.py); these runs are about the statistics
    args = ["run", str(csv), "--target", "will_churn", "--models", MODELS, "--cv", "3", "--no-report"]
    args += ["--out", str(out)]
    return cli(*args, *extra, cwd=out.parent)


def test_run_prints_the_verdict_intervals_and_threshold(cli, churn_csv, tmp_path) -> None:
    out = tmp_path / "b"
    result = _run(cli, churn_csv, out, "--costs", "1,5")
    assert result.returncode == 0, result.stderr
    assert " is best" in result.stdout and "significantly worse" in result.stdout
    assert "95% CI" in result.stdout
    assert "Decision threshold: threshold" in result.stdout and "cost" in result.stdout
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["verdict"] in result.stdout.replace("\n", " ") or summary["verdict"][:30] in result.stdout
    threshold = summary["test"]["threshold"]["threshold"]
    assert summary["test"]["threshold"]["costs"] == [1.0, 5.0]

    labels = tmp_path / "labels.csv"
    proba = tmp_path / "proba.csv"
    assert cli("predict", str(out), str(churn_csv), "--out", str(labels), cwd=tmp_path).returncode == 0
    assert (
        cli("predict", str(out), str(churn_csv), "--proba", "--out", str(proba), cwd=tmp_path).returncode == 0
    )
    expected = np.where(pd.read_csv(proba)["yes"] >= threshold, "yes", "no")
    np.testing.assert_array_equal(pd.read_csv(labels)["prediction"], expected)


def test_bad_costs_exit_2_with_one_line(cli, churn_csv, tmp_path) -> None:
    result = _run(cli, churn_csv, tmp_path / "b", "--costs", "1,x")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


def test_prefer_simple_is_recorded(cli, churn_csv, tmp_path) -> None:
    out = tmp_path / "b"
    assert _run(cli, churn_csv, out, "--prefer", "simple").returncode == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["prefer"] == "simple"
    group1 = [r for r in summary["leaderboard"] if r["tie_group"] == 1]
    assert summary["chosen_model"] in {r["model"] for r in group1}
    assert summary["test"]["model"] == summary["chosen_model"]


def test_compare_ranks_several_runs_with_friedman(cli, churn_df, tmp_path) -> None:
    from modelworks import Experiment

    # the runs are made in-process (the run command is tested above); compare reads their bundles
    bundles = []
    for seed in (1, 2, 3):
        exp = Experiment(
            churn_df,
            "will_churn",
            models=["linear", "decision_tree", "gaussian_nb"],
            cv=3,
            seed=seed,
            ensemble=False,
            n_jobs=1,
        )
        bundles.append(str(exp.save(tmp_path / f"seed{seed}", report=False)))
    result = cli("compare", *bundles, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "average rank" in result.stdout and "Friedman" in result.stdout
    for name in ("linear", "decision_tree", "gaussian_nb"):
        assert name in result.stdout

    alone = cli("compare", bundles[0], cwd=tmp_path)
    assert alone.returncode == 2 and "at least two" in alone.stderr
    missing = cli("compare", bundles[0], str(tmp_path), cwd=tmp_path)
    assert missing.returncode == 2 and "metrics.json" in missing.stderr
