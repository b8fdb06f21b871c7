"""``modelworks cluster`` and ``modelworks anomalies`` as real processes: the bundle, ``predict`` on it,
and bad input as one line with exit code 2."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    X, y = make_blobs(n_samples=120, centers=3, n_features=3, cluster_std=0.7, random_state=2)
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(kind=np.array(["x", "y", "z"])[y], truth=y)
    work = tmp_path_factory.mktemp("cluster-cli")
    df.to_csv(work / "rows.csv", index=False)
    df.assign(a=np.where(df.index == 5, 500.0, df["a"])).to_csv(work / "outlier.csv", index=False)
    return work, df


def test_cluster_then_predict_gives_the_saved_assignments(cli, table):
    work, df = table
    run = cli(
        "cluster", "rows.csv", "--label", "truth", "--method", "all", "--time-budget", "60",
        "--out", "bundle", cwd=work, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Chosen:" in run.stdout and "ARI" in run.stdout and "cluster 0" in run.stdout
    bundle = work / "bundle"
    assert {"model.skops", "schema.json", "metrics.json", "assignments.csv", "report.html"} <= {
        p.name for p in bundle.iterdir()
    }
    metrics = json.loads((bundle / "metrics.json").read_text())
    assert metrics["external"]["ari"] > 0.9 and metrics["chosen"]["n_clusters"] == 3
    pred = cli("predict", "bundle", "rows.csv", cwd=work)
    assert pred.returncode == 0, pred.stderr
    got = pd.read_csv(io.StringIO(pred.stdout))
    saved = pd.read_csv(bundle / "assignments.csv")
    assert list(got.columns) == ["cluster"]
    np.testing.assert_array_equal(got["cluster"], saved["cluster"])
    proba = cli("predict", "bundle", "rows.csv", "--proba", cwd=work)
    assert proba.returncode == 2 and "--proba applies to classification" in proba.stderr


def test_anomalies_flag_the_far_row_and_predict_scores_it(cli, table):
    work, _ = table
    run = cli("anomalies", "outlier.csv", "--exclude", "truth", "--out", "anomalies", cwd=work, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Most unusual rows" in run.stdout and "a = 500" in run.stdout
    scores = pd.read_csv(work / "anomalies" / "scores.csv")
    assert bool(scores.loc[5, "is_anomaly"]) and scores["anomaly_score"].idxmax() == 5
    pred = cli("predict", "anomalies", "outlier.csv", "--out", "scored.csv", cwd=work)
    assert pred.returncode == 0, pred.stderr
    got = pd.read_csv(work / "scored.csv")
    assert list(got.columns) == ["anomaly_score", "is_anomaly"]
    np.testing.assert_allclose(got["anomaly_score"], scores["anomaly_score"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cluster", "one.csv"], "at least 3 rows"),
        (["cluster", "rows.csv", "--k", "500"], "needs more rows"),
        (["cluster", "rows.csv", "--method", "spectral"], "method must be"),
        (["cluster", "constant.csv"], "no column is usable"),
        (["cluster", "empty.csv"], "entirely missing"),
        (["cluster", "rows.csv", "--exclude", "nope"], "does not have"),
        (["anomalies", "rows.csv", "--contamination", "0.9"], "above 0 and at most 0.5"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, table, args, message):
    work, _ = table
    pd.DataFrame({"a": [1.0]}).to_csv(work / "one.csv", index=False)
    pd.DataFrame({"a": [1.0] * 6, "b": ["x"] * 6}).to_csv(work / "constant.csv", index=False)
    (work / "empty.csv").write_text("a,b\n,\n,\n,\n,\n")
    result = cli(*args, "--out", work / "never", cwd=work)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert not (work / "never").exists()
