"""`modelworks run --time-budget 25` on every shared dataset, as a real process, then `predict`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from modelworks.report._figures import DATA_FIGURES, LATE, MODEL_FIGURES, TEST_FIGURES, TIME_BUDGET

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
CLASSIFICATION_FIGURES = {
    "roc",
    "precision_recall",
    "calibration",
    "confusion_matrix",
    "permutation_importance",
    "partial_dependence",
}
REGRESSION_FIGURES = {
    "predicted_actual",
    "residuals",
    "residual_histogram",
    "permutation_importance",
    "partial_dependence",
}
#: Drawn for every run, whatever the data, when the time budget leaves the report the time.
ALWAYS = {"target", "comparison", "fit_time"}
#: The most useful figures: drawn first, so drawn even at the smallest budget here.
FIRST = {"comparison"}
FIRST_TEST = {"binary": "roc", "multiclass": "roc", "regression": "predicted_actual"}
#: Drawn when the data allows (enough numeric features, missing values, a categorical feature,
#: time left for the learning curve); otherwise listed under "Not drawn" with the reason.
DEPENDS = {
    "histograms",
    "boxplots",
    "scatter",
    "pca",
    "associations",
    "missing",
    "target_rate",
    "learning_curve",
}
NAMES = sorted(p.name for p in SHARED.iterdir()) if SHARED.is_dir() else []
BUDGET = 25

pytestmark = pytest.mark.skipif(not NAMES, reason=f"shared datasets not found at {SHARED}")


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modelworks", *args], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("name", NAMES)
def test_run_and_predict_on_shared_dataset(name: str, tmp_path: Path) -> None:
    meta = json.loads((SHARED / name / "meta.json").read_text())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    out = tmp_path / "bundle"
    start = time.perf_counter()
    run = _cli(
        "run",
        str(SHARED / name / "train.csv"),
        "--target",
        meta["target"],
        "--time-budget",
        str(BUDGET),
        "--out",
        str(out),
        env=env,
    )
    wall = time.perf_counter() - start
    assert run.returncode == 0, run.stderr
    assert wall <= BUDGET * 1.1 + 5, f"{name}: {wall:.1f}s for a {BUDGET}s budget"
    assert "Leaderboard" in run.stdout and "Test set" in run.stdout

    summary = json.loads((out / "metrics.json").read_text())
    schema = json.loads((out / "schema.json").read_text())
    assert summary["leaderboard"], "no model compared"
    assert all(len(v[summary["metric"]]) == summary["cv_folds"] for v in summary["fold_scores"].values())

    task = schema["target"]["task"]
    check_report(out / "report.html", task)
    pred_file = tmp_path / "pred.csv"
    predict = _cli(
        "predict",
        str(out),
        str(SHARED / name / "test.csv"),
        "--out",
        str(pred_file),
        *([] if task == "regression" else ["--proba"]),
        env=env,
    )
    assert predict.returncode == 0, predict.stderr
    pred = pd.read_csv(pred_file)
    test = pd.read_csv(SHARED / name / "test.csv")
    assert len(pred) == len(test)
    y = test[meta["target"]]
    if task == "regression":
        rmse = np.sqrt(metrics.mean_squared_error(y, pred["prediction"]))
        assert rmse < y.std(), f"{name}: RMSE {rmse:.3f} no better than predicting the mean"
    else:
        labels = [str(v) for v in schema["target"]["labels"]]
        assert list(pred.columns) == labels
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-6)
        if task == "binary":
            positive = str(schema["target"]["positive_label"])
            auc = metrics.roc_auc_score(y.astype(str) == positive, pred[positive])
            assert auc > 0.7, f"{name}: test ROC AUC {auc:.3f}"
        else:
            accuracy = np.mean(np.asarray(labels)[pred.to_numpy().argmax(axis=1)] == y.astype(str))
            majority = y.value_counts(normalize=True).max()
            assert accuracy > majority, f"{name}: accuracy {accuracy:.3f} ≤ majority {majority:.3f}"


def check_report(path: Path, task: str) -> None:
    """The most useful figures are drawn; every other figure that applies to the task is drawn or
    listed as not drawn for the time budget; none that does not apply is drawn; none failed."""
    html = path.read_text()
    drawn = set(re.findall(r'data-figure="([a-z_]+)"', html))
    assert 'class="figure-error"' not in html, re.findall(r'figure-error">(.*?)</figcaption>', html)
    expected = CLASSIFICATION_FIGURES if task != "regression" else REGRESSION_FIGURES
    other = (REGRESSION_FIGURES | CLASSIFICATION_FIGURES) - expected
    first = FIRST | {FIRST_TEST[task]}
    assert first <= drawn, f"missing {first - drawn}"
    assert not drawn & other, f"drawn but not applicable to {task}: {drawn & other}"
    titles = {spec.id: spec.title for spec in DATA_FIGURES + MODEL_FIGURES + TEST_FIGURES}
    # each section (data, models, test) lists what it left out, and why
    listed = " ".join(re.findall(r"Not drawn: (.*?)\.</p>", html, re.S))
    for name in (expected | ALWAYS) - drawn:
        for_time = (f"{titles[name]} ({reason}" in listed for reason in (TIME_BUDGET, LATE))
        assert any(for_time), f"{name} neither drawn nor explained"
    for name in DEPENDS - drawn:
        assert titles[name] in listed, f"{name} neither drawn nor explained"
    assert len(html) < 5_000_000
