"""On a real dataset the CLI says which models are tied and which are clearly worse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "telco_churn"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared dataset not found at {DATA}")


def test_telco_linear_models_tie_and_a_tree_is_worse(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    out = tmp_path / "bundle"
    args = ["run", str(DATA / "train.csv"), "--target", "churn", "--models", "linear,ridge,decision_tree"]
    result = subprocess.run(
        [sys.executable, "-m", "modelworks", *args, "--no-ensemble", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "metrics.json").read_text())
    groups = summary["significance"]["tie_groups"]
    # logistic regression and its ridge-penalised twin are indistinguishable on 5 folds
    assert groups["linear"] == groups["ridge"] == 1
    assert groups["decision_tree"] > 1
    assert summary["significance"]["vs_best"]["decision_tree"]["extra"]["p_holm"] < 0.05
    text = " ".join(result.stdout.split())
    assert "not significantly worse" in text and "decision_tree is significantly worse" in text
