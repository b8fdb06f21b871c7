"""``--track`` end to end: a real ``modelworks run`` subprocess logs to a real sqlite MLflow store, read
back with ``MlflowClient``; the tracked bundle is loaded back (``runs:/ID/bundle``), tampered with and
looked for under a wrong id."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest

import modelworks as mw
from modelworks.errors import BundleError

mlflow = pytest.importorskip("mlflow")
# MLflow's own store, read back here, trips a SQLAlchemy deprecation
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")

BUDGET = 20.0
MODELS = "linear,decision_tree"
UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def tracked(cli, tmp_path_factory):
    """One ``modelworks run --track sqlite:///<tmp>/store/mlruns.db`` on the breast cancer table."""
    from sklearn.datasets import load_breast_cancer

    root = tmp_path_factory.mktemp("track")
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    csv = root / "cancer.csv"
    frame.to_csv(csv, index=False)
    store = f"sqlite:///{root / 'store' / 'mlruns.db'}"
    bundle = root / "out" / "cancer"
    result = cli(
        "run",
        csv,
        "--target",
        "target",
        "--models",
        MODELS,
        "--cv",
        3,
        "--time-budget",
        BUDGET,
        "--out",
        bundle,
        "--track",
        store,
        cwd=root,
        env={"MLFLOW_EXPERIMENT_NAME": "", "MLFLOW_TRACKING_URI": ""},
    )
    assert result.returncode == 0, result.stderr
    run_id = re.search(r"MLflow run: ([0-9a-f]{32})", result.stdout).group(1)
    return result, run_id, store, bundle, csv


@pytest.fixture(scope="module")
def client(tracked):
    return mlflow.tracking.MlflowClient(tracking_uri=tracked[2])


def artefacts(client, run_id: str, path: str | None = None) -> dict[str, int]:
    """Every artefact file of a run, path to size."""
    found = {}
    for item in client.list_artifacts(run_id, path):
        found.update(artefacts(client, run_id, item.path) if item.is_dir else {item.path: item.file_size})
    return found


def test_run_prints_where_it_went(tracked):
    result, run_id, store, _, _ = tracked
    assert "Traceback" not in result.stderr
    assert f"Tracking URI: {store}" in result.stdout
    assert f"mlflow ui --backend-store-uri {store}" in result.stdout
    assert f"runs:/{run_id}/bundle" in result.stdout


def test_params_and_metrics_equal_the_bundle(tracked, client):
    _, run_id, _, bundle, csv = tracked
    summary = json.loads((bundle / "metrics.json").read_text())
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "cancer"  # the data file's stem
    params = run.data.params
    assert params["time_budget"] == str(BUDGET)
    assert params["models"] == MODELS
    assert (params["cv"], params["seed"], params["prefer"]) == ("3", "0", "best")
    assert params["data"] == str(csv)
    assert params["target"] == "target"
    assert params["task"] == summary["task"] == "binary"
    assert params["metric"] == summary["metric"]
    assert params["chosen_model"] == summary["test"]["model"] == summary["chosen_model"]
    assert params["rows_train"] == str(summary["rows"]["train"])
    assert params["rows_test"] == str(summary["rows"]["test"])
    assert params["data_sha256"] == summary["data_sha256"]
    metrics = run.data.metrics
    row = next(r for r in summary["leaderboard"] if r["model"] == summary["chosen_model"])
    for m in summary["metrics"]:
        assert metrics[f"cv_{m}_mean"] == row[f"{m}_mean"]
        assert metrics[f"cv_{m}_std"] == row[f"{m}_std"]
        assert metrics[f"test_{m}"] == summary["test"]["metrics"][m]
        low, high = summary["test"]["intervals"][m]
        assert (metrics[f"test_{m}_ci_low"], metrics[f"test_{m}_ci_high"]) == (low, high)
    assert run.data.tags["mlflow.note.content"].startswith(summary["verdict"])


def test_artefacts_hold_report_tables_and_the_whole_bundle(tracked, client):
    _, run_id, _, bundle, _ = tracked
    files = artefacts(client, run_id)
    local = {p.name: p.stat().st_size for p in bundle.iterdir()}
    assert {"report.html", "leaderboard.csv", "verdict.json", "bundle/manifest.json"} <= set(files)
    assert {k.removeprefix("bundle/"): v for k, v in files.items() if k.startswith("bundle/")} == local
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    summary = json.loads((bundle / "metrics.json").read_text())
    folder = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, dst_path=str(bundle.parent.parent / "artefacts"), tracking_uri=client.tracking_uri
        )
    )
    board = pd.read_csv(StringIO((folder / "leaderboard.csv").read_text()))
    assert list(board["model"]) == [r["model"] for r in summary["leaderboard"]]
    verdict = json.loads((folder / "verdict.json").read_text())
    assert verdict["verdict"] == summary["verdict"]
    assert verdict["significance"]["alpha"] == summary["significance"]["alpha"]


def test_tracking_cost_is_kept_inside_the_budget(tracked):
    result, _, _, bundle, _ = tracked
    opened, kept = map(
        float, re.search(r"opened in ([\d.]+)s; ([\d.]+)s of the budget", result.stdout).groups()
    )
    logged = float(re.search(r"MLflow run: \w+ .*, ([\d.]+)s\)", result.stdout).group(1))
    given = json.loads((bundle / "metrics.json").read_text())["time_budget"]
    assert kept >= 1.0
    assert given <= BUDGET - opened - kept + 0.1  # 0.1: the printed figures are rounded
    assert logged <= kept


def test_runs_uri_predicts_exactly_as_the_local_bundle(tracked, monkeypatch):
    _, run_id, store, bundle, csv = tracked
    rows = pd.read_csv(csv).drop(columns=["target"])
    local = mw.load_model(bundle)
    tracked_model = mw.load_model(f"runs:/{run_id}/bundle", tracking_uri=store)
    np.testing.assert_array_equal(tracked_model.predict_proba(rows), local.predict_proba(rows))
    np.testing.assert_array_equal(tracked_model.predict(rows), local.predict(rows))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # the store from the environment
    again = mw.load_model(f"runs:/{run_id}/bundle")
    np.testing.assert_array_equal(again.predict(rows), local.predict(rows))


def test_predict_command_reads_a_runs_uri(cli, tracked, tmp_path):
    _, run_id, store, bundle, csv = tracked
    out = tmp_path / "p.csv"
    env = {"MLFLOW_TRACKING_URI": store}
    result = cli("predict", f"runs:/{run_id}/bundle", csv, "--proba", "--out", out, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    expected = mw.load_model(bundle).predict_proba(pd.read_csv(csv).drop(columns=["target"]))
    np.testing.assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-6, atol=1e-9)


def test_tampered_artefact_is_refused(tracked, client):
    _, run_id, store, _, _ = tracked
    artefact_dir = Path(unquote(urlsplit(client.get_run(run_id).info.artifact_uri).path)) / "bundle"
    metrics = artefact_dir / "metrics.json"
    original = metrics.read_bytes()
    try:
        metrics.write_bytes(original.replace(b'"seed": 0', b'"seed": 1'))
        assert metrics.read_bytes() != original
        with pytest.raises(BundleError, match=r"metrics\.json .*modified after saving") as info:
            mw.load_model(f"runs:/{run_id}/bundle", tracking_uri=store)
        assert f"runs:/{run_id}/bundle" in str(info.value)  # named by its URI, not a temporary folder
    finally:
        metrics.write_bytes(original)
    extra = artefact_dir / "extra.py"
    try:
        extra.write_text("print('not in the manifest')\n")
        with pytest.raises(BundleError, match="not in its manifest"):
            mw.load_model(f"runs:/{run_id}/bundle", tracking_uri=store)
    finally:
        extra.unlink()
    assert mw.load_model(f"runs:/{run_id}/bundle", tracking_uri=store) is not None  # intact again


def test_unknown_run_or_store_is_a_clean_error(cli, tracked, tmp_path):
    _, _, store, _, csv = tracked
    with pytest.raises(BundleError, match=f"no run {UNKNOWN_RUN}"):
        mw.load_model(f"runs:/{UNKNOWN_RUN}/bundle", tracking_uri=store)
    missing = tmp_path / "none.db"
    with pytest.raises(BundleError, match="no tracking store"):
        mw.load_model(f"runs:/{UNKNOWN_RUN}/bundle", tracking_uri=f"sqlite:///{missing}")
    assert not missing.exists()  # looking did not create a store
    result = cli(
        "predict", f"runs:/{UNKNOWN_RUN}/bundle", csv, cwd=tmp_path, env={"MLFLOW_TRACKING_URI": store}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"no run {UNKNOWN_RUN}" in lines[0], result.stderr


def test_unreachable_store_fails_before_reading(cli, tmp_path):
    result = cli("run", tmp_path / "absent.csv", "-t", "y", "--track", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot open the MLflow tracking store http://127.0.0.1:9" in lines[0]
    assert "Reading" not in result.stdout
