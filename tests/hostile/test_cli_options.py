"""Hostile command lines: every mistake ends with exit code 2 and one line, nothing left behind.

Each case runs the real ``modelworks`` executable in a fresh folder and checks the exit code, that
stderr holds exactly one line and no traceback, and that the folder holds afterwards only what it held
before (nothing half-written).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

EXE = Path(sys.executable).with_name("modelworks")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(list("xyz"), n)})
    df["y"] = df["a"] * 3 + rng.normal(scale=0.1, size=n)
    df.to_csv(root / "reg80.csv", index=False)
    cls = df.copy()
    cls["y"] = np.where(df["a"] > 0, "yes", "no")
    cls.to_csv(root / "cls80.csv", index=False)
    (root / "a_file").write_text("not a folder\n")
    return root


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int = 2, *words: str) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


RUN_MISTAKES = {
    "budget-zero": (["--time-budget", "0"], "--time-budget"),
    "budget-negative": (["--time-budget", "-5"], "--time-budget"),
    "budget-nan": (["--time-budget", "nan"], "--time-budget"),
    "budget-inf": (["--time-budget", "inf"], "--time-budget"),
    "seed-negative": (["--seed", "-1"], "--seed"),
    "seed-too-large": (["--seed", str(2**32)], "--seed"),
    "cv-one": (["--cv", "1"], "--cv"),
    "cv-more-than-rows": (["--cv", "100"], "--cv"),
    "cv-repeats-zero": (["--cv-repeats", "0"], "--cv-repeats"),
    "test-size-zero": (["--test-size", "0"], "--test-size"),
    "test-size-one": (["--test-size", "1"], "--test-size"),
    "test-size-nan": (["--test-size", "nan"], "--test-size"),
    "unknown-metric": (["--metric", "banana"], "banana"),
    "metric-of-other-task": (["--metric", "roc_auc"], "roc_auc"),
    "unknown-task": (["--task", "clustering"], "clustering"),
    "unknown-model": (["--models", "linear,banana"], "banana"),
    "unknown-prefer": (["--prefer", "cheapest"], "--prefer"),
    "bad-costs": (["--costs", "1"], "costs"),
    "bad-unseen-policy": (["--unseen-categories", "maybe"], "--unseen-categories"),
    "missing-target": (["--target", "nope"], "nope"),
    "out-under-a-file": (["--out", "a_file/bundle"], "a_file"),
    "out-is-a-file": (["--out", "a_file"], "a_file"),
}


@pytest.mark.parametrize("case", sorted(RUN_MISTAKES))
def test_run_option_mistakes(case, tables, tmp_path):
    extra, word = RUN_MISTAKES[case]
    work = tmp_path / "work"
    work.mkdir()
    (work / "a_file").write_text("precious\n")
    target = [] if "--target" in extra else ["--target", "y"]
    data = str(tables / ("cls80.csv" if case == "bad-costs" else "reg80.csv"))
    before = snapshot(work)
    proc = run_cli(["run", data, *target, "--time-budget", "20", *extra], work)
    assert_one_line_error(proc, 2, word)
    assert snapshot(work) == before
    assert (work / "a_file").read_text() == "precious\n"


PREDICT_MISTAKES = {
    "no-bundle": (["predict", "missing_bundle", "DATA"], "missing_bundle"),
    "out-is-a-folder": (["predict", "missing_bundle", "DATA", "--out", "."], "folder"),
    "out-under-a-file": (["predict", "missing_bundle", "DATA", "--out", "a_file/p.csv"], "a_file"),
    "chunk-rows-zero": (["predict", "missing_bundle", "DATA", "--chunk-rows", "0"], "--chunk-rows"),
    "profile-out-under-a-file": (["profile", "DATA", "--out", "a_file/prof"], "a_file"),
    "profile-missing-data": (["profile", "no_such.csv"], "no_such.csv"),
    "report-no-bundle": (["report", "missing_bundle"], "missing_bundle"),
    "compare-no-bundle": (["compare", "missing_bundle", "missing_too"], "missing_bundle"),
    "serve-no-bundle": (["serve", "missing_bundle"], "missing_bundle"),
}


@pytest.mark.parametrize("case", sorted(PREDICT_MISTAKES))
def test_other_command_mistakes(case, tables, tmp_path):
    args, word = PREDICT_MISTAKES[case]
    (tmp_path / "a_file").write_text("precious\n")
    args = [str(tables / "reg80.csv") if a == "DATA" else a for a in args]
    before = snapshot(tmp_path)
    proc = run_cli(args, tmp_path)
    assert_one_line_error(proc, 2, word)
    assert snapshot(tmp_path) == before


def test_small_regression_where_knn_wins_saves_a_bundle(tables, tmp_path):
    """80 rows, KNN only: no neighbour count above the rows, a learning curve on tiny shares."""
    proc = run_cli(
        ["run", str(tables / "reg80.csv"), "-t", "y", "--models", "knn", "--time-budget", "30", "--out", "b"],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "b" / "manifest.json").is_file()
    assert (tmp_path / "b" / "report.html").is_file()


def test_wide_table_runs_and_saves_a_bundle(tmp_path):
    """20 rows and 2,000 columns (columns far beyond rows) on a small budget: a model, a report and a
    bundle whose cleaner knows every column (the wall time is measured by benchmarks/budget_sizes.py)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(20, 2000)), columns=[f"x{i}" for i in range(2000)])
    df["y"] = np.where(df["x0"] > 0, "yes", "no")
    df.to_csv(tmp_path / "wide.csv", index=False)
    proc = run_cli(["run", "wide.csv", "-t", "y", "--time-budget", "10", "--out", "b"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "b" / "report.html").is_file()
    new = pd.DataFrame(rng.normal(size=(3, 2000)), columns=[f"x{i}" for i in range(2000)])
    new.to_csv(tmp_path / "new.csv", index=False)
    proc = run_cli(["predict", "b", "new.csv", "--out", "p.csv"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3


def test_a_feature_copying_the_target_is_dropped_as_leakage(tables, tmp_path):
    df = pd.read_csv(tables / "cls80.csv")
    df["copy"] = df["y"].map({"yes": "Y", "no": "N"})
    df.to_csv(tmp_path / "leak.csv", index=False)
    proc = run_cli(
        [
            "run",
            "leak.csv",
            "-t",
            "y",
            "--models",
            "linear",
            "--time-budget",
            "20",
            "--no-report",
            "--out",
            "b",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dropped column 'copy': copies the target" in proc.stdout


@pytest.mark.parametrize(
    "sig, after",
    [(signal.SIGINT, t) for t in (0.05, 0.2, 0.3, 0.5, 4.0, 8.0)]
    + [(signal.SIGTERM, t) for t in (0.2, 4.0, 8.0)],
)
def test_interrupted_run_ends_in_one_line_and_leaves_nothing(sig, after, tables, tmp_path):
    # after a few seconds the folds are fitting in worker processes, which hold the same stdout and
    # stderr: communicate() returns only once they are gone too
    proc = subprocess.Popen(
        [str(EXE), "run", str(tables / "reg80.csv"), "-t", "y", "--time-budget", "60", "--out", "b"],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if proc.returncode == 0:  # finished before the signal: then the bundle is whole
        assert (tmp_path / "b" / "manifest.json").is_file()
        return
    if proc.returncode == -sig:  # landed while Python itself was starting, before our handler
        # Python's own handler prints where the interrupt met the entry point's import (a few ms
        # after start-up); once modelworks's main() runs, it is one line
        assert not stdout
        if "Traceback" in stderr:
            assert stderr.rstrip().endswith("KeyboardInterrupt") and ", in main" not in stderr, stderr
        assert list(tmp_path.iterdir()) == []
        return
    assert_one_line_error(done, 130, "interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no bundle, no temporary folder


def test_unexpected_error_is_one_line_and_a_log_file(monkeypatch, tmp_path):
    from modelworks import cli
    from modelworks.cli import _run

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug\nwith a second line")

    monkeypatch.setattr(_run, "run_workflow", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    result = CliRunner().invoke(cli.app, ["run", "x.csv", "--target", "y"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "internal error (RuntimeError: simulated bug)" in lines[0]
    logs = list((tmp_path / "modelworks-logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0].replace("\n", "")
    text = logs[0].read_text()
    assert "Traceback" in text and "simulated bug" in text
