"""The methodology checks in a real ``modelworks run`` and ``modelworks profile``: each trap printed as one
line naming its column, a leaking column left out of the model (``schema.json`` ``dropped``) unless
``--keep-column`` keeps it, the findings in ``metrics.json``; ``--groups`` and ``--time-column`` from the
command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

FAST = ("--models", "linear", "--no-report", "--no-tune", "--no-bag", "--time-budget", "30", "--cv", "3")


def _customers(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A binary target with two honest signals, a near copy of the target (3% of values flipped),
    and a closing date recorded only for the customers who left."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    left = rng.random(n) < 1 / (1 + np.exp(-(a - b)))
    flipped = rng.random(n) < 0.03
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "status_code": np.where(left ^ flipped, "S1", "S0"),
            "left": np.where(left, "yes", "no"),
        }
    )


@pytest.fixture
def leaky_csv(tmp_path):
    path = tmp_path / "customers.csv"
    _customers().to_csv(path, index=False)
    return path


def test_a_near_copy_of_the_target_is_reported_and_left_out(cli, leaky_csv, tmp_path):
    done = cli(
        "run", leaky_csv, "--target", "left", *FAST, "--out", tmp_path / "b", cwd=tmp_path, timeout=240
    )
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("MW101")]
    assert len(lines) == 1 and "[status_code]" in lines[0] and "--keep-column" in lines[0]
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    codes = {(f["code"], tuple(f["columns"])) for f in metrics["checks"]}
    assert ("MW101", ("status_code",)) in codes
    assert set(metrics["checks"][0]) == {"code", "severity", "columns", "message", "evidence"}
    assert metrics["split"]["kind"] == "stratified"
    schema = json.loads((tmp_path / "b" / "schema.json").read_text())
    assert "status_code" not in [c["name"] for c in schema["columns"]]
    dropped = {d["name"]: d for d in schema["dropped"]}
    assert dropped["status_code"]["reason"].startswith("MW101")
    # the model learned from the honest columns only: a near-perfect score would mean the leak got in
    assert metrics["test"]["metrics"]["roc_auc"] < 0.95


def test_keep_column_keeps_a_flagged_column_and_still_reports_it(cli, leaky_csv, tmp_path):
    done = cli(
        "run",
        leaky_csv,
        "--target",
        "left",
        *FAST,
        "--keep-column",
        "status_code",
        "--out",
        tmp_path / "k",
        cwd=tmp_path,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert any(ln.startswith("MW101") for ln in done.stdout.splitlines())
    schema = json.loads((tmp_path / "k" / "schema.json").read_text())
    assert "status_code" in [c["name"] for c in schema["columns"]]


def test_profile_shows_the_same_checks(cli, leaky_csv, tmp_path):
    done = cli("profile", leaky_csv, "--target", "left", "--out", tmp_path / "p", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MW101" in done.stdout and "status_code" in done.stdout
    profile = json.loads((tmp_path / "p" / "profile.json").read_text())
    assert [f["code"] for f in profile["checks"]] == ["MW101"]


def test_groups_and_time_column_from_the_command_line(cli, tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    patient = np.repeat(np.arange(100), 4)
    effect = rng.normal(size=100)
    df = pd.DataFrame(
        {
            "patient": [f"p{i}" for i in patient],
            "day": pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "x": rng.normal(size=n),
        }
    )
    df["ill"] = np.where(effect[patient] + 0.1 * df["x"] > 0, "yes", "no")
    path = tmp_path / "visits.csv"
    df.to_csv(path, index=False)
    # a random split: the patient is a repeated entity, suggested as --groups
    plain = cli("run", path, "--target", "ill", *FAST, "--out", tmp_path / "r", cwd=tmp_path, timeout=240)
    assert plain.returncode == 0, plain.stderr
    assert any(
        ln.startswith("MW201") and "[patient]" in ln and "--groups" in ln for ln in plain.stdout.splitlines()
    )
    grouped = cli(
        "run",
        path,
        "--target",
        "ill",
        *FAST,
        "--groups",
        "patient",
        "--out",
        tmp_path / "g",
        cwd=tmp_path,
        timeout=240,
    )
    assert grouped.returncode == 0, grouped.stderr
    assert "split by group 'patient'" in grouped.stdout
    assert not any(ln.startswith("MW201") for ln in grouped.stdout.splitlines())
    split = json.loads((tmp_path / "g" / "metrics.json").read_text())["split"]
    assert split["kind"] == "group" and split["groups"] == 100
    timed = cli(
        "run",
        path,
        "--target",
        "ill",
        *FAST,
        "--time-column",
        "day",
        "--out",
        tmp_path / "t",
        cwd=tmp_path,
        timeout=240,
    )
    assert timed.returncode == 0, timed.stderr
    split = json.loads((tmp_path / "t" / "metrics.json").read_text())["split"]
    assert split["kind"] == "time" and split["train_until"] < split["test_from"]
    bad = cli("run", path, "--target", "ill", "--groups", "nobody", "--out", tmp_path / "x", cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "--groups nobody: no such column" in bad.stderr
    assert not (tmp_path / "x").exists()
